// `.kernel NAME (PARAMS)` headers and the kernel body rules.
#include "assembler/kernel_parser.h"

#include "assembler/parser.h"

namespace polymer::asm_detail {

namespace {

std::string param_title(const KernelParam& p) {
    if (p.kind == ParamKind::Uniform) return "uniform '" + p.name + "' (" + std::string(elem_type_name(p.type)) + ")";
    return "'" + std::string(access_text(p.access)) + "' buffer '" + p.name + "' (" + std::string(elem_type_name(p.type)) + ")";
}

// One end of a window, after its `i`: nothing (offset 0), `+N`, `-N`, `+ N`,
// `- N` (N an integer literal or a `.equ` constant, which the parser has
// already put in its place).
std::optional<std::int64_t> parse_window_offset(TokenCursor& c) {
    IntValue sign = 1;
    if (c.at(TokenKind::Plus) || c.at(TokenKind::Minus)) {
        const Token& op = c.next();
        sign = op.kind == TokenKind::Minus ? -1 : 1;
        if (!c.at(TokenKind::Int) && !c.at(TokenKind::Float)) {
            c.fail(c.peek(), "expected a number after '" + std::string(op.text) + "', got " + describe(c.peek()) +
                                 " (a window is TYPE[i-A..i+B])");
            return std::nullopt;
        }
    } else if (!(c.at(TokenKind::Int) || c.at(TokenKind::Float)) ||
               !(c.peek().text.starts_with('+') || c.peek().text.starts_with('-'))) {
        return std::int64_t{0};  // `i` alone
    }
    const Token& n = c.next();
    if (n.kind == TokenKind::Float) {
        c.fail(n, "a window offset is a whole number of elements, not " + describe(n));
        return std::nullopt;
    }
    if (n.size_suffix) {
        c.fail(n, "a size suffix is only allowed in '.requires mem'");
        return std::nullopt;
    }
    const IntValue offset = sign * n.int_value;
    if (offset < -kMaxWindowOffset || offset > kMaxWindowOffset) {
        c.fail(n, "window offset " + std::string(sign < 0 ? "-" : "") + std::string(n.text) + " is too far: a window reaches at most " +
                      std::to_string(kMaxWindowOffset) + " elements either way");
        return std::nullopt;
    }
    return static_cast<std::int64_t>(offset);
}

// After `[`: `]` (the whole buffer), `i]` (the lane's element) or a window
// `i-A..i+B]`. The parameter's access is known, so a window of a buffer
// lanes write is refused here.
bool parse_indexing(TokenCursor& c, const Token& open, KernelParam& p) {
    p.indexing = Indexing::Broadcast;
    if (!(c.at(TokenKind::Ident) && c.peek().text == "i")) return c.expect(TokenKind::RBracket, "']' (a buffer is TYPE[i], TYPE[] or TYPE[i-A..i+B])");
    c.next();
    p.indexing = Indexing::Element;
    if (c.accept(TokenKind::RBracket)) return true;
    auto lo = parse_window_offset(c);
    if (!lo) return false;
    if (!c.expect(TokenKind::DotDot, "'..' and the window's end (a window is TYPE[i-A..i+B])")) return false;
    if (!(c.at(TokenKind::Ident) && c.peek().text == "i")) {
        c.fail(c.peek(), "expected 'i' after '..', got " + describe(c.peek()) + " (a window is TYPE[i-A..i+B])");
        return false;
    }
    c.next();
    auto hi = parse_window_offset(c);
    if (!hi) return false;
    if (!c.expect(TokenKind::RBracket, "']' after the window")) return false;
    p.indexing = Indexing::Window;
    p.window_lo = *lo;
    p.window_hi = *hi;
    if (p.window_lo > p.window_hi) {
        c.fail(open, "window " + indexing_text(p) + " is empty: its start is after its end");
        return false;
    }
    return true;
}

// Reads one parameter; `type_at` gets its type's token (a wide-only type is
// checked once the body has said whether the kernel is `.wide`).
std::optional<KernelParam> parse_param(TokenCursor& c, Pos& type_at) {
    KernelParam p;
    const Token* first = c.expect_ident("a parameter");
    if (!first) return std::nullopt;
    const Token* name = first;
    // `in x: ...`; a uniform may itself be called `in` (then ':' follows).
    bool access = (first->text == "in" || first->text == "out" || first->text == "inout") && c.at(TokenKind::Ident);
    if (access) {
        p.access = first->text == "in" ? Access::In : first->text == "out" ? Access::Out : Access::InOut;
        name = &c.next();
    }
    p.name = std::string(name->text);
    if (!c.expect(TokenKind::Colon, "':' after the parameter name")) return std::nullopt;
    const Token* type = c.expect_ident("a parameter type (i32, u32, f32; i64, f64 in a wide kernel)");
    if (!type) return std::nullopt;
    type_at = {c.line(), type->col};
    auto t = parse_elem_type(type->text);
    if (!t) {
        c.fail(*type, "unknown element type '" + std::string(type->text) + "'");
        return std::nullopt;
    }
    p.type = *t;
    if (c.at(TokenKind::LBracket)) {
        const Token& open = c.next();
        p.kind = ParamKind::Buffer;
        if (!parse_indexing(c, open, p)) return std::nullopt;
        if (!access) {
            c.fail(*name, "buffer parameter '" + p.name + "' needs 'in', 'out' or 'inout'");
            return std::nullopt;
        }
        if (p.indexing == Indexing::Window && p.access != Access::In) {
            c.fail(*first, "a window buffer is read-only: lanes would write each other's elements (declare '" + p.name +
                               "' as 'in', or as a whole buffer TYPE[])");
            return std::nullopt;
        }
        if (!is_kernel_buffer_type(p.type, true)) {
            c.fail(*type, "a kernel buffer is i32, u32 or f32 (i64, f64 in a wide kernel), not " +
                              std::string(type->text));
            return std::nullopt;
        }
    } else {
        if (access) {
            c.fail(*first, "uniform parameter '" + p.name + "' cannot be '" + std::string(first->text) +
                               "' (a buffer is written TYPE[i] or TYPE[])");
            return std::nullopt;
        }
        if (!is_kernel_uniform_type(p.type, true)) {
            c.fail(*type, "a uniform parameter is i32 or f32 (i64, f64 in a wide kernel), not " +
                              std::string(type->text));
            return std::nullopt;
        }
        p.kind = ParamKind::Uniform;
        p.access = Access::In;
    }
    return p;
}

}  // namespace

bool parse_kernel_header(TokenCursor& c, Pos& name_pos, Kernel& k, std::vector<Pos>& type_pos) {
    const Token* name = c.expect_ident("a kernel name");
    if (!name) return false;
    name_pos = {c.line(), name->col};
    k.name = std::string(name->text);
    if (!c.expect(TokenKind::LParen, "'(' and the kernel's parameters")) return false;
    if (!c.accept(TokenKind::RParen)) {
        do {
            const Token& at = c.peek();
            Pos type_at;
            auto p = parse_param(c, type_at);
            if (!p) return false;
            for (const KernelParam& q : k.params) {
                if (q.name == p->name) {
                    c.fail(at, "duplicate parameter '" + p->name + "'");
                    return false;
                }
            }
            if (k.params.size() >= 256) {
                c.fail(at, "too many kernel parameters (at most 256)");
                return false;
            }
            k.params.push_back(std::move(*p));
            type_pos.push_back(type_at);
        } while (c.accept(TokenKind::Comma));
        if (!c.expect(TokenKind::RParen, "',' or ')'")) return false;
    }
    return c.expect_end();
}

std::optional<std::string> param_misuse(KOp op, const KernelParam& p, bool wide) {
    const bool buffer = p.kind == ParamKind::Buffer;
    const std::string mnemonic(kop_info(op).mnemonic);
    // The register operand's kind and the kernel's width give the types
    // (isa/opcodes.h, kop_takes_param_type).
    const std::string types = kop_param_types_text(op, wide);
    const KEffect effect = kop_effect(op);
    switch (effect) {
    case KEffect::Load:
    case KEffect::Store:
    case KEffect::Atomic: {
        if (!buffer || !kop_takes_param_type(op, p.type, wide))
            return mnemonic + " needs an " + types + " buffer" + (wide ? " (in a wide kernel)" : "") + ", but " +
                   param_title(p) + " is not one" +
                   (wide && effect == KEffect::Atomic ? " (" + std::string(kop_info(op).wide.note) + ")" : "");
        const bool reads = reads_buffer(effect), writes = writes_buffer(effect);
        if (writes && p.access == Access::In)
            return mnemonic + " writes " + param_title(p) + "; declare it 'out' or 'inout'";
        if (reads && writes && p.access == Access::Out)  // an atomic add reads the old value too
            return mnemonic + " reads and writes " + param_title(p) + "; declare it 'inout'";
        if (reads && p.access == Access::Out)
            return mnemonic + " reads " + param_title(p) + "; declare it 'inout' to read it";
        return std::nullopt;
    }
    case KEffect::Uniform: {
        if (buffer || !kop_takes_param_type(op, p.type, wide))
            return mnemonic + " needs an " + types + " uniform" + (wide ? " (in a wide kernel)" : "") + ", but " +
                   param_title(p) + " is not one";
        return std::nullopt;
    }
    case KEffect::Length:
        if (!buffer) return mnemonic + " needs a buffer, but " + param_title(p) + " is a uniform";
        return std::nullopt;
    case KEffect::Pure: case KEffect::If: case KEffect::Else: case KEffect::Loop: case KEffect::End:
    case KEffect::Break: case KEffect::Continue: case KEffect::Exit:
        return std::nullopt;  // no parameter operand
    }
    return std::nullopt;
}

void KernelBlocks::instruction(KOp op, std::uint32_t line, std::uint32_t col) {
    switch (kop_effect(op)) {
    case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Load: case KEffect::Store:
    case KEffect::Atomic: case KEffect::Exit:
        break;
    case KEffect::If: open(Block::If, line, col); break;
    case KEffect::Loop: open(Block::Loop, line, col); break;
    case KEffect::Else:
        if (open_.empty() || open_.back().block != Block::If) {
            sink_.error(line, col, open_.empty() || open_.back().block == Block::Loop ? "'else' without 'if'"
                                                                                         : "second 'else' for one 'if'");
            return;
        }
        open_.back() = {Block::Else, line, col};
        break;
    case KEffect::End:
        if (open_.empty()) {
            sink_.error(line, col, "'end' without 'if' or 'loop'");
            return;
        }
        open_.pop_back();
        break;
    case KEffect::Break:
    case KEffect::Continue: {
        bool in_loop = false;
        for (const Open& o : open_) in_loop = in_loop || o.block == Block::Loop;
        if (!in_loop) sink_.error(line, col, "'" + std::string(kop_info(op).mnemonic) + "' outside a loop");
        break;
    }
    }
}

void KernelBlocks::open(Block block, std::uint32_t line, std::uint32_t col) {
    if (open_.size() == kMaxKernelNesting && !too_deep_) {
        too_deep_ = true;
        sink_.error(line, col, "blocks nested more than " + std::to_string(kMaxKernelNesting) +
                                   " deep in one kernel (this one opens level " + std::to_string(open_.size() + 1) +
                                   "); split the kernel or flatten its control flow");
    }
    open_.push_back({block, line, col});
}

void KernelBlocks::finish(const std::string& kernel_name) {
    for (const Open& o : open_) {
        std::string_view what = o.block == Block::Loop ? "loop" : o.block == Block::If ? "if" : "else";
        sink_.error(o.line, o.col, "'" + std::string(what) + "' in kernel '" + kernel_name + "' is never closed with 'end'");
    }
    open_.clear();
    too_deep_ = false;
}

}  // namespace polymer::asm_detail
