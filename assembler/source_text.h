// The source of one .pasm file, split into lines once so that every stage
// (lexer, diagnostics, listings) can name a line by its 1-based number.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace polymer::asm_detail {

// A program's lines in reading order: the main file's, with each included
// file's lines in place of its `.include` (after that line). Every stage names
// a line by its 1-based number in this sequence; origin() maps it back to a
// file and that file's own line number, for diagnostics and the line table.
class SourceText {
public:
    struct Origin {
        std::uint32_t file = 0;  // index into files(): 0 = the main file
        std::uint32_t line = 0;  // 1-based, in that file
    };

    SourceText() = default;
    // A single file (file 0), as read.
    SourceText(std::string_view text, std::string name = "<input>") {
        add_file(std::move(name));
        append(0, text);
    }

    // Registers a file and keeps its text alive for the whole assembly.
    std::uint32_t add_file(std::string name) {
        names_.push_back(std::move(name));
        return static_cast<std::uint32_t>(names_.size() - 1);
    }
    std::string_view keep(std::string text) { return texts_.emplace_back(std::move(text)); }

    // Appends one line of `file` (its line number `n` in that file).
    void append_line(std::uint32_t file, std::uint32_t n, std::string_view line) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        lines_.push_back(line);
        origins_.push_back({file, n});
    }

    // Appends every line of `text` as lines of `file`.
    void append(std::uint32_t file, std::string_view text) {
        std::uint32_t n = 1;
        for_each_line(text, [&](std::string_view line) { append_line(file, n++, line); });
    }

    // Calls f(line) for each line of `text` (without its newline).
    template <class F>
    static void for_each_line(std::string_view text, F&& f) {
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t end = text.find('\n', start);
            if (end == std::string_view::npos) end = text.size();
            f(text.substr(start, end - start));
            if (end == text.size()) break;
            start = end + 1;
        }
    }

    std::uint32_t line_count() const { return static_cast<std::uint32_t>(lines_.size()); }

    // Line `n` (1-based) without its newline, or empty when out of range.
    std::string_view line(std::uint32_t n) const {
        return n >= 1 && n <= lines_.size() ? lines_[n - 1] : std::string_view{};
    }
    Origin origin(std::uint32_t n) const { return n >= 1 && n <= origins_.size() ? origins_[n - 1] : Origin{}; }

    const std::vector<std::string>& files() const { return names_; }

private:
    std::vector<std::string_view> lines_;
    std::vector<Origin> origins_;
    std::vector<std::string> names_;
    std::deque<std::string> texts_;  // included files' text; a deque keeps views valid
};

// Where a file stops looking like text: the first NUL or control byte other
// than tab, newline, carriage return, form feed and vertical tab. A binary
// file (a .pbc, random bytes) fails within its first few bytes, so the
// assembler says "not a text file" once instead of echoing it as errors.
struct BinaryByte {
    std::uint32_t line = 0, col = 0;  // 1-based
    unsigned char byte = 0;
};
inline std::optional<BinaryByte> first_binary_byte(std::string_view text) {
    std::uint32_t line = 1, col = 1;
    for (char ch : text) {
        const auto c = static_cast<unsigned char>(ch);
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v') || c == 0x7f)
            return BinaryByte{line, col, c};
        if (c == '\n') {
            ++line;
            col = 1;
        } else {
            ++col;
        }
    }
    return std::nullopt;
}

}  // namespace polymer::asm_detail
