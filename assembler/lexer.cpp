#include "assembler/lexer.h"

#include <variant>

namespace polymer::asm_detail {

namespace {

bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_ident_char(char c) { return is_ident_start(c) || is_digit(c) || c == '.'; }
// ".." ends a name or a number: `i..i+1`, `-1..i` (a window's two ends).
bool at_dot_dot(std::string_view s, std::size_t pos) { return pos + 1 < s.size() && s[pos] == '.' && s[pos + 1] == '.'; }

class LineLexer {
public:
    explicit LineLexer(std::string_view line) : s_(line) {}

    LexedLine run() {
        LexedLine out;
        while (!out.error) {
            while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
            if (pos_ >= s_.size() || s_[pos_] == ';') break;
            if (auto t = next(out)) out.tokens.push_back(std::move(*t));
        }
        Token end;
        end.kind = TokenKind::End;
        end.col = static_cast<std::uint32_t>(std::min(pos_, s_.size()) + 1);
        out.tokens.push_back(std::move(end));
        return out;
    }

private:
    Token make(TokenKind kind, std::size_t start) const {
        Token t;
        t.kind = kind;
        t.text = s_.substr(start, pos_ - start);
        t.col = static_cast<std::uint32_t>(start + 1);
        return t;
    }

    std::optional<Token> fail(LexedLine& out, std::size_t col0, std::string message) {
        out.error = LexError{static_cast<std::uint32_t>(col0 + 1), std::move(message)};
        return std::nullopt;
    }

    std::optional<Token> next(LexedLine& out) {
        std::size_t start = pos_;
        char c = s_[pos_];
        if (is_ident_start(c)) {
            while (pos_ < s_.size() && is_ident_char(s_[pos_]) && !at_dot_dot(s_, pos_)) ++pos_;
            return make(TokenKind::Ident, start);
        }
        if (at_dot_dot(s_, pos_)) {
            pos_ += 2;
            return make(TokenKind::DotDot, start);
        }
        if (c == '.' && pos_ + 1 < s_.size() && is_ident_start(s_[pos_ + 1])) {
            ++pos_;
            while (pos_ < s_.size() && is_ident_char(s_[pos_])) ++pos_;
            return make(TokenKind::Directive, start);
        }
        if (is_digit(c) || ((c == '-' || c == '+') && pos_ + 1 < s_.size() && is_digit(s_[pos_ + 1])))
            return number(out);
        if (c == '"') return string(out);
        if (c == '\'') return character(out);
        ++pos_;
        switch (c) {
        case ',': return make(TokenKind::Comma, start);
        case ':': return make(TokenKind::Colon, start);
        case '[': return make(TokenKind::LBracket, start);
        case ']': return make(TokenKind::RBracket, start);
        case '(': return make(TokenKind::LParen, start);
        case ')': return make(TokenKind::RParen, start);
        case '=': return make(TokenKind::Equals, start);
        case '-': return make(TokenKind::Minus, start);
        case '+': return make(TokenKind::Plus, start);
        case '@': return make(TokenKind::At, start);
        case '>':
            if (pos_ < s_.size() && s_[pos_] == '=') {
                ++pos_;
                return make(TokenKind::GreaterEqual, start);
            }
            break;
        default: break;
        }
        unsigned char u = static_cast<unsigned char>(c);
        if (u >= 0x21 && u < 0x7f) return fail(out, start, "unexpected character '" + std::string(1, c) + "'");
        return fail(out, start, "unexpected byte " + std::to_string(u));
    }

    std::optional<Token> number(LexedLine& out) {
        std::size_t start = pos_;
        if (s_[pos_] == '-' || s_[pos_] == '+') ++pos_;
        bool prefixed = pos_ + 1 < s_.size() && s_[pos_] == '0' &&
                        (s_[pos_ + 1] == 'x' || s_[pos_ + 1] == 'X' || s_[pos_ + 1] == 'b' || s_[pos_ + 1] == 'B');
        while (pos_ < s_.size()) {
            char c = s_[pos_];
            bool exponent_sign = !prefixed && (c == '+' || c == '-') && (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E');
            if (!(is_ident_char(c) || is_digit(c) || exponent_sign) || at_dot_dot(s_, pos_)) break;
            ++pos_;
        }
        Token t = make(TokenKind::Int, start);
        auto value = parse_number(t.text);
        // Sizes: "4G" is 4 * 2^30, for `.requires mem >= 4G`.
        char last = t.text.back();
        if (std::holds_alternative<LiteralError>(value) && (last == 'K' || last == 'M' || last == 'G' || last == 'T')) {
            auto unsuffixed = parse_number(t.text.substr(0, t.text.size() - 1));
            if (std::holds_alternative<IntValue>(unsuffixed)) {
                t.int_value = std::get<IntValue>(unsuffixed);
                t.size_suffix = last;
                return t;
            }
        }
        if (auto* e = std::get_if<LiteralError>(&value)) return fail(out, start, e->message);
        if (auto* i = std::get_if<IntValue>(&value)) {
            t.int_value = *i;
        } else {
            t.kind = TokenKind::Float;
            t.float_value = std::get<double>(value);
        }
        return t;
    }

    std::optional<Token> string(LexedLine& out) {
        std::size_t start = pos_++;
        std::string bytes;
        while (true) {
            if (pos_ >= s_.size()) return fail(out, start, "unterminated string literal");
            char c = s_[pos_];
            if (c == '"') break;
            if (c == '\\') {
                std::size_t at = pos_;
                auto r = parse_escape(s_, pos_);
                if (auto* e = std::get_if<LiteralError>(&r)) return fail(out, at, e->message);
                bytes += std::get<char>(r);
            } else {
                bytes += c;
                ++pos_;
            }
        }
        ++pos_;
        Token t = make(TokenKind::String, start);
        t.string_value = std::move(bytes);
        return t;
    }

    std::optional<Token> character(LexedLine& out) {
        std::size_t start = pos_++;
        if (pos_ >= s_.size()) return fail(out, start, "unterminated character literal");
        char value = s_[pos_];
        if (value == '\\') {
            auto r = parse_escape(s_, pos_);
            if (auto* e = std::get_if<LiteralError>(&r)) return fail(out, start + 1, e->message);
            value = std::get<char>(r);
        } else if (value == '\'') {
            return fail(out, start, "empty character literal");
        } else {
            ++pos_;
        }
        if (pos_ >= s_.size() || s_[pos_] != '\'')
            return fail(out, start, "a character literal holds one character: missing closing '");
        ++pos_;
        Token t = make(TokenKind::Int, start);
        t.int_value = static_cast<unsigned char>(value);
        return t;
    }

    std::string_view s_;
    std::size_t pos_ = 0;
};

}  // namespace

LexedLine lex_line(std::string_view line) { return LineLexer(line).run(); }

std::string describe(const Token& t) {
    if (t.kind == TokenKind::End) return "end of line";
    return "'" + std::string(t.text) + "'";
}

}  // namespace polymer::asm_detail
