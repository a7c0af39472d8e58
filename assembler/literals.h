// Literal text -> values: integers (decimal, 0x, 0b, '_' separators), floats
// (decimal, exponent, inf/nan by name elsewhere), and string/char escapes.
// Shared by the lexer and by anything else that reads a literal back.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace polymer::asm_detail {

// An integer literal's exact value: magnitude up to 2^64 - 1 with a sign, so
// both -9223372036854775808 and 0xffffffffffffffff are representable.
__extension__ using IntValue = __int128;

inline constexpr IntValue kInt32Min = -(IntValue{1} << 31);
inline constexpr IntValue kInt32Max = (IntValue{1} << 31) - 1;
inline constexpr IntValue kInt64Min = -(IntValue{1} << 63);
inline constexpr IntValue kUint64Max = (IntValue{1} << 64) - 1;

// Reads a 64-bit pattern: values in [INT64_MIN, UINT64_MAX] wrap to int64.
inline std::int64_t wrap_int64(IntValue v) { return static_cast<std::int64_t>(static_cast<std::uint64_t>(v)); }

std::string int_text(IntValue v);

// True when a finite literal has no binary32 value: it rounds to infinity.
// (3.4028235e38, FLT_MAX's shortest spelling, reads as a binary64 a little
// above FLT_MAX but rounds down to it, so it is accepted.)
inline bool overflows_binary32(double v) {
    return std::isfinite(v) && std::isinf(static_cast<float>(v));
}

struct LiteralError {
    std::string message;
};

// A numeric literal as the lexer found it ("-0x2a", "1_000", "2.5e-3", "2.").
// Result: IntValue, double, or an error message.
std::variant<IntValue, double, LiteralError> parse_number(std::string_view text);

// Reads one escape sequence starting at text[pos] == '\\'; advances pos past
// it. Escapes: \n \t \r \0 \\ \" \' \xHH.
std::variant<char, LiteralError> parse_escape(std::string_view text, std::size_t& pos);

}  // namespace polymer::asm_detail
