// The source of one .pasm file, split into lines once so that every stage
// (lexer, diagnostics, listings) can name a line by its 1-based number.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace polymer::asm_detail {

class SourceText {
public:
    explicit SourceText(std::string_view text) {
        std::size_t start = 0;
        while (start <= text.size()) {
            std::size_t end = text.find('\n', start);
            if (end == std::string_view::npos) end = text.size();
            std::string_view line = text.substr(start, end - start);
            if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
            lines_.push_back(line);
            if (end == text.size()) break;
            start = end + 1;
        }
    }

    std::uint32_t line_count() const { return static_cast<std::uint32_t>(lines_.size()); }

    // Line `n` (1-based) without its newline, or empty when out of range.
    std::string_view line(std::uint32_t n) const {
        return n >= 1 && n <= lines_.size() ? lines_[n - 1] : std::string_view{};
    }

private:
    std::vector<std::string_view> lines_;
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
