// Pass 1: directives, declarations, block structure and labels.
#pragma once

#include <span>

#include "assembler/assembler.h"
#include "assembler/diagnostics.h"
#include "assembler/program.h"
#include "assembler/source_text.h"

namespace polymer::asm_detail {

Program parse_program(const SourceText& source, const AssembleOptions& options, DiagnosticSink& sink);

// Reads tokens left to right for the declaration parsers. Every `expect_*`
// reports an error and returns false/nullopt on a mismatch; the caller then
// abandons the line.
class TokenCursor {
public:
    TokenCursor(std::span<const Token> tokens, std::uint32_t line, DiagnosticSink& sink)
        : tokens_(tokens), line_(line), sink_(sink) {}

    const Token& peek(std::size_t ahead = 0) const {
        std::size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
        return tokens_[i];
    }
    const Token& next() {
        const Token& t = peek();
        if (pos_ + 1 < tokens_.size()) ++pos_;
        return t;
    }
    bool at(TokenKind k) const { return peek().kind == k; }
    bool accept(TokenKind k) {
        if (!at(k)) return false;
        next();
        return true;
    }
    bool expect(TokenKind k, std::string_view what) {
        if (accept(k)) return true;
        fail(peek(), "expected " + std::string(what) + ", got " + describe(peek()));
        return false;
    }
    bool expect_end() {
        if (at(TokenKind::End)) return true;
        fail(peek(), "unexpected " + describe(peek()) + " at the end of the line");
        return false;
    }
    const Token* expect_ident(std::string_view what) {
        if (!at(TokenKind::Ident)) {
            fail(peek(), "expected " + std::string(what) + ", got " + describe(peek()));
            return nullptr;
        }
        return &next();
    }
    void fail(const Token& at, std::string message) { sink_.error(line_, at.col, std::move(message)); }
    void warn(const Token& at, std::string message) { sink_.warning(line_, at.col, std::move(message)); }
    std::uint32_t line() const { return line_; }
    DiagnosticSink& sink() { return sink_; }

private:
    std::span<const Token> tokens_;
    std::size_t pos_ = 0;
    std::uint32_t line_;
    DiagnosticSink& sink_;
};

// A numeric literal read as a value of a given domain (for region
// initialisers and instruction operands). Sets nothing and reports an error
// when the token is not such a literal or does not fit.
std::optional<IntValue> read_int(TokenCursor& c, IntValue min, IntValue max, std::string_view what);
std::optional<double> read_float(TokenCursor& c);  // float, integer, inf, -inf, nan

// `.region NAME TYPE[LEN] INIT [distributed]` (the cursor is after `.region`). On an error,
// `partial` keeps what was read (the name, and the type if it was valid).
std::optional<RegionDecl> parse_region(TokenCursor& c, RegionDecl& partial);
// `.kernel NAME (PARAMS)` (the cursor is after `.kernel`): fills `k` with the
// name and parameters as far as it reads; false after an error (reported),
// `k` then holding what came before it (an empty name if there was none).
// `type_pos` gets the position of each parameter's type.
bool parse_kernel_header(TokenCursor& c, Pos& name_pos, Kernel& k, std::vector<Pos>& type_pos);

}  // namespace polymer::asm_detail
