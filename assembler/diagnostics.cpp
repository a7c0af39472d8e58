#include "assembler/diagnostics.h"

#include <algorithm>

namespace polymer::asm_detail {

void DiagnosticSink::add(Diagnostic::Severity s, std::uint32_t line, std::uint32_t col, std::string message) {
    if (s == Diagnostic::Severity::Error) ++errors_;
    Diagnostic d;
    d.severity = s;
    d.file = file_;
    d.line = line;
    d.col = col;
    d.message = std::move(message);
    d.source_line = std::string(source_.line(line));
    list_.push_back(std::move(d));
}

std::vector<Diagnostic> DiagnosticSink::take_sorted() {
    std::stable_sort(list_.begin(), list_.end(), [](const Diagnostic& a, const Diagnostic& b) {
        return a.line != b.line ? a.line < b.line : a.col < b.col;
    });
    return std::move(list_);
}

namespace {

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
    std::string out = d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.col) + ": " +
                      (d.severity == Diagnostic::Severity::Error ? "error: " : "warning: ") + d.message + "\n";
    if (d.line == 0) return out;
    out += d.source_line + "\n";
    // Keep tabs under the caret so it lines up however the terminal shows them.
    std::size_t width = d.col > 0 ? d.col - 1 : 0;
    for (std::size_t i = 0; i < width; ++i) out += i < d.source_line.size() && d.source_line[i] == '\t' ? '\t' : ' ';
    return out + "^\n";
}

}  // namespace polymer
