#include "assembler/literals.h"

#include <charconv>
#include <cmath>

namespace polymer::asm_detail {

namespace {

bool is_hex_digit(char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

LiteralError bad_number(std::string_view text) {
    return {"invalid numeric literal '" + std::string(text) + "'"};
}

}  // namespace

std::string int_text(IntValue v) {
    bool negative = v < 0;
    unsigned __int128 m = negative ? static_cast<unsigned __int128>(-(v + 1)) + 1 : static_cast<unsigned __int128>(v);
    std::string digits;
    do {
        digits.insert(digits.begin(), static_cast<char>('0' + static_cast<int>(m % 10)));
        m /= 10;
    } while (m != 0);
    return negative ? "-" + digits : digits;
}

std::variant<IntValue, double, LiteralError> parse_number(std::string_view text) {
    std::string_view body = text;
    bool negative = false;
    if (!body.empty() && (body.front() == '-' || body.front() == '+')) {
        negative = body.front() == '-';
        body.remove_prefix(1);
    }
    int base = 10;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'x' || body[1] == 'X')) base = 16;
    if (body.size() > 2 && body[0] == '0' && (body[1] == 'b' || body[1] == 'B')) base = 2;
    if (base != 10) body.remove_prefix(2);

    // Separators sit between digits only: "1_000" but not "_1", "1_" or "1__0".
    std::string digits;
    for (std::size_t i = 0; i < body.size(); ++i) {
        if (body[i] != '_') {
            digits += body[i];
            continue;
        }
        bool between = i > 0 && i + 1 < body.size() && is_hex_digit(body[i - 1]) && is_hex_digit(body[i + 1]);
        if (!between) return bad_number(text);
    }
    if (digits.empty()) return bad_number(text);

    bool is_float = base == 10 && digits.find_first_of(".eE") != std::string::npos;
    const char* first = digits.data();
    const char* last = digits.data() + digits.size();
    if (is_float) {
        double value = 0;
        auto [end, ec] = std::from_chars(first, last, value, std::chars_format::general);
        if (ec == std::errc::result_out_of_range)
            return LiteralError{"float literal '" + std::string(text) + "' is out of range"};
        if (ec != std::errc{} || end != last || !std::isfinite(value)) return bad_number(text);
        return negative ? -value : value;
    }
    std::uint64_t magnitude = 0;
    auto [end, ec] = std::from_chars(first, last, magnitude, base);
    if (ec == std::errc::result_out_of_range)
        return LiteralError{"integer literal '" + std::string(text) + "' does not fit 64 bits"};
    if (ec != std::errc{} || end != last) return bad_number(text);
    IntValue v = magnitude;
    return negative ? -v : v;
}

std::variant<char, LiteralError> parse_escape(std::string_view text, std::size_t& pos) {
    // text[pos] is the backslash.
    if (pos + 1 >= text.size()) return LiteralError{"unfinished escape sequence"};
    char c = text[pos + 1];
    pos += 2;
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case '0': return '\0';
    case '\\': return '\\';
    case '"': return '"';
    case '\'': return '\'';
    case 'x': {
        if (pos + 2 > text.size() || !is_hex_digit(text[pos]) || !is_hex_digit(text[pos + 1]))
            return LiteralError{"'\\x' needs two hex digits"};
        unsigned value = 0;
        std::from_chars(text.data() + pos, text.data() + pos + 2, value, 16);
        pos += 2;
        return static_cast<char>(value);
    }
    default:
        return LiteralError{"unknown escape sequence '\\" + std::string(1, c) + "'"};
    }
}

}  // namespace polymer::asm_detail
