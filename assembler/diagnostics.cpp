#include "assembler/diagnostics.h"

#include <algorithm>
#include <iterator>

namespace polymer::asm_detail {

namespace {

// The length of the UTF-8 sequence at the start of `s` (a printable character),
// or 0 when it is not one.
std::size_t utf8_length(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const std::size_t n = b(0) >= 0xf5 ? 0 : b(0) >= 0xf0 ? 4 : b(0) >= 0xe0 ? 3 : b(0) >= 0xc2 ? 2 : 0;
    if (n == 0 || s.size() < n) return 0;
    if (n == 2 && b(0) == 0xc2 && b(1) < 0xa0) return 0;  // U+0080..U+009F: C1 controls a terminal may obey
    for (std::size_t i = 1; i < n; ++i)
        if ((b(i) & 0xc0) != 0x80) return 0;
    return n;
}

// The line as echoed under a diagnostic: control bytes and bytes that are
// not UTF-8 as '?' (one column each, so the caret still lines up, and binary
// never reaches the terminal), cut 120 bytes past the caret.
std::string printable_line(std::string_view line, std::uint32_t col) {
    constexpr std::size_t kPastCaret = 120;
    const std::string_view shown = line.substr(0, std::size_t{col} + kPastCaret);
    std::string out;
    for (std::size_t i = 0; i < shown.size();) {
        const auto c = static_cast<unsigned char>(shown[i]);
        if (c < 0x80) {
            out += (c < 0x20 && c != '\t') || c == 0x7f ? '?' : static_cast<char>(c);
            ++i;
        } else if (const std::size_t n = utf8_length(shown.substr(i))) {
            out += shown.substr(i, n);
            i += n;
        } else {
            out += '?';
            ++i;
        }
    }
    if (shown.size() < line.size()) out += " ...";
    return out;
}

// Edits (insert, delete, replace, swap two neighbours) that turn a into b:
// "gdi" is one swap from "gid".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
    for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        for (std::size_t j = 1; j <= b.size(); ++j) {
            std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.size()][b.size()];
}

}  // namespace

void DiagnosticSink::add(Diagnostic::Severity s, std::uint32_t line, std::uint32_t col, std::string message) {
    if (s == Diagnostic::Severity::Error) ++errors_;
    // Up to kMaxShown of each kind here, so warnings never crowd out an
    // error; take_sorted trims the warnings.
    std::size_t& kept = s == Diagnostic::Severity::Error ? kept_errors_ : kept_warnings_;
    if (kept == kMaxShown) {
        ++not_shown_;
        not_shown_errors_ += s == Diagnostic::Severity::Error;
        return;
    }
    ++kept;
    Diagnostic d;
    d.severity = s;
    d.file = file_;
    d.line = line;
    d.col = col;
    d.message = std::move(message);
    d.source_line = printable_line(source_.line(line), col);
    list_.push_back(std::move(d));
}

std::vector<Diagnostic> DiagnosticSink::take_sorted() {
    std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return a.line != b.line ? a.line < b.line : a.col < b.col;
    });
    while (list_.size() > kMaxShown) {  // the last warnings go first
        auto warning = std::find_if(list_.rbegin(), list_.rend(),
                                    [](const Diagnostic& d) { return d.severity == Diagnostic::Severity::Warning; });
        if (warning == list_.rend()) break;
        list_.erase(std::next(warning).base());
        ++not_shown_;
    }
    // Lines were counted through the included files; name each by its own file.
    for (Diagnostic& d : list_) {
        if (d.line == 0) continue;
        const SourceText::Origin o = source_.origin(d.line);
        if (o.file < source_.files().size()) d.file = source_.files()[o.file];
        d.line = o.line;
    }
    if (not_shown_ > 0) {
        Diagnostic d;
        d.severity = not_shown_errors_ > 0 ? Diagnostic::Severity::Error : Diagnostic::Severity::Warning;
        d.file = file_;
        d.message = std::to_string(not_shown_) + " more diagnostics not shown (only the first " +
                    std::to_string(kMaxShown) + " are)";
        list_.push_back(std::move(d));
    }
    return std::move(list_);
}

std::string_view closest_name(std::string_view word, std::span<const std::string_view> candidates) {
    // Long words are not typos of a mnemonic; skip the quadratic work on them.
    if (word.empty() || word.size() > 32) return {};
    std::string_view best;
    std::size_t best_distance = std::max<std::size_t>(1, std::min<std::size_t>(2, word.size() / 2));
    for (std::string_view c : candidates) {
        std::size_t d = edit_distance(word, c);
        if (d <= best_distance && (best.empty() || d < best_distance)) {
            best = c;
            best_distance = d;
        }
    }
    return best;
}

}  // namespace polymer::asm_detail

namespace polymer {

std::string format_diagnostic(const Diagnostic& d) {
    const std::string where = d.line == 0 ? d.file : d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.col);
    std::string out = where + ": " +
                      (d.severity == Diagnostic::Severity::Error ? "error: " : "warning: ") + d.message + "\n";
    if (d.line == 0) return out;
    out += d.source_line + "\n";
    // Keep tabs under the caret so it lines up however the terminal shows them.
    std::size_t width = d.col > 0 ? d.col - 1 : 0;
    for (std::size_t i = 0; i < width; ++i) out += i < d.source_line.size() && d.source_line[i] == '\t' ? '\t' : ' ';
    return out + "^\n";
}

}  // namespace polymer
