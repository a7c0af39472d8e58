// One line of assembly -> tokens. Lines are independent (no token spans a
// newline), which is what lets the assembler recover at the next line.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "assembler/literals.h"

namespace polymer::asm_detail {

enum class TokenKind : std::uint8_t {
    Ident,      // add, r1, xs, inf, ld.i32
    Directive,  // .proc (text includes the dot)
    Int,        // 42, -0x2a, 'A'   (value in `int_value`)
    Float,      // 1.5, -2e3        (value in `float_value`)
    String,     // "text"           (decoded bytes in `string_value`)
    Comma, Colon, LBracket, RBracket, LParen, RParen, Equals, GreaterEqual, Minus,
    Plus,       // + not followed by a digit (`i+W`; `+1` is an Int)
    DotDot,     // .. (a window: `x: f32[i-1..i+1]`)
    At,         // @ (a handle operand: @r1)
    End,        // end of line (or a comment); col is one past the last character
};

struct Token {
    TokenKind kind = TokenKind::End;
    std::string_view text;  // as written
    std::uint32_t col = 1;  // 1-based column of the first character
    IntValue int_value = 0;
    double float_value = 0;
    std::string string_value;
    char size_suffix = 0;   // Int only: 'K', 'M', 'G' or 'T' after the digits (sizes)
};

struct LexError {
    std::uint32_t col = 1;
    std::string message;
};

struct LexedLine {
    std::vector<Token> tokens;  // always ends with an End token
    std::optional<LexError> error;
};

LexedLine lex_line(std::string_view line);

// "a register", "','", "end of line": how an error message names a token.
std::string describe(const Token& t);

}  // namespace polymer::asm_detail
