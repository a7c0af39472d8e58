// Pass 2: encodes every instruction by its operand format (isa/formats.def)
// against the declarations pass 1 collected, then warns about unused names.
#include "assembler/assembler.h"

#include <algorithm>
#include <bit>
#include <cctype>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <unordered_map>

#include "assembler/diagnostics.h"
#include "assembler/includes.h"
#include "assembler/kernel_glsl.h"
#include "assembler/kernel_parser.h"
#include "assembler/kernel_spirv.h"
#include "assembler/loops/loop_pass.h"
#include "assembler/parser.h"
#include "assembler/region_rules.h"
#include "isa/frame_analysis.h"
#include "isa/opcodes.h"
#include "isa/verifier.h"

namespace polymer {

namespace asm_detail {

namespace {

std::vector<std::string_view> mnemonics(bool kernel) {
    std::vector<std::string_view> out;
    if (kernel) {
        for (KOp k : kAllKOps) out.push_back(kop_info(k).mnemonic);
    } else {
        for (Op o : kAllOps) out.push_back(op_info(o).mnemonic);
    }
    return out;
}

bool is_shift_immediate(Op op) { return op == Op::Shli || op == Op::Shri || op == Op::Sari; }

// Operands on the rest of the line: top-level commas + 1 (none when empty).
std::size_t count_operands(const TokenCursor& c) {
    if (c.at(TokenKind::End)) return 0;
    std::size_t count = 1;
    int depth = 0;
    for (std::size_t i = 0; c.peek(i).kind != TokenKind::End; ++i) {
        TokenKind k = c.peek(i).kind;
        if (k == TokenKind::LBracket) ++depth;
        if (k == TokenKind::RBracket) --depth;
        if (k == TokenKind::Comma && depth <= 0) ++count;
    }
    return count;
}

// A kernel immediate is a lane's 32 bits: any literal that fits them, signed
// or unsigned, is its bit pattern (-1, 4294967295 and 0xFFFFFFFF are one
// value); a shift amount is 0..31 (isa/kernel_ops.def). A wide kernel's lane
// is 64 bits and its immediates are sign-extended, as a procedure's are: a
// signed 32-bit literal (4294967295 would silently be -1), shifts 0..63.
std::optional<std::uint32_t> kernel_immediate(TokenCursor& c, KOp op, bool wide) {
    if (is_kernel_shift_immediate(op)) {
        auto v = read_int(c, 0, kernel_shift_max(wide), "shift amount");
        return v ? std::optional(static_cast<std::uint32_t>(*v)) : std::nullopt;
    }
    constexpr IntValue kUint32Max = (IntValue{1} << 32) - 1;
    auto v = wide ? read_int(c, kInt32Min, kInt32Max, "32-bit immediate (sign-extended in a wide kernel)")
                  : read_int(c, kInt32Min, kUint32Max, "32-bit immediate");
    return v ? std::optional(static_cast<std::uint32_t>(static_cast<std::uint64_t>(*v))) : std::nullopt;
}

// A register operand `r7` / `f7`: its number, or nothing when the token is
// not written as a register of that file.
std::optional<unsigned> register_number(const Token& t, char prefix) {
    if (t.kind != TokenKind::Ident || t.text.size() < 2 || t.text[0] != prefix) return std::nullopt;
    std::string_view digits = t.text.substr(1);
    unsigned n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (end != digits.data() + digits.size()) return std::nullopt;
    if (ec != std::errc{}) return 1000;  // too many digits: out of range all the same
    return n;
}

// Instructions other assemblers have and Polymer has not, with what to
// write instead (checked before the spelling suggestions).
std::optional<std::string> other_assembler_habit(std::string_view m) {
    if (m == "syscall" || m == "int" || m == "ecall" || m == "svc")
        return std::string("Polymer has no system calls: output is print, printf, printc, prints, printr and println");
    if (m == "ldi" || m == "movi" || m == "lui")
        return std::string("a constant goes into a register with 'li' (any 64-bit value; 'lif' for floats)");
    if (m == "lw" || m == "ldr" || m == "load" || m == "lb" || m == "lbu")
        return std::string("loads name their element type and region: 'ld.i32 r1, xs[r2]'");
    if (m == "sw" || m == "str" || m == "store" || m == "sb")
        return std::string("stores name their element type and region: 'st.i32 xs[r2], r1'");
    return std::nullopt;
}

class Encoder {
public:
    Encoder(Program& p, DiagnosticSink& sink) : p_(p), m_(p.module), sink_(sink) {}

    void run() {
        for (Body& b : p_.bodies) {
            if (b.is_kernel) {
                kernel_body(b);
            } else {
                for (const Statement& s : b.statements) {
                    Word w = 0;
                    instruction(b, s, w);
                    m_.code.push_back(w);
                    m_.lines.push_back(s.loc);
                }
            }
        }
        for (std::size_t i = 0; i < m_.labels.size(); ++i) {
            const LabelInfo& l = p_.label_info[i];
            if (!l.used) sink_.warning(l.pos.line, l.pos.col, "label '" + m_.labels[i].name + "' is never used");
        }
        for (std::size_t i = 0; i < m_.regions.size(); ++i) {
            if (!p_.region_used[i])
                sink_.warning(p_.region_pos[i].line, p_.region_pos[i].col,
                              "region '" + m_.regions[i].name + "' is never used");
        }
        for (std::size_t i = 0; i < m_.channels.size(); ++i)
            if (!p_.channels.used[i])
                sink_.warning(p_.channels.pos[i].line, p_.channels.pos[i].col,
                              "channel '" + m_.channels[i].name + "' is never used");
        for (std::size_t i = 0; i < m_.barriers.size(); ++i)
            if (!p_.barriers.used[i])
                sink_.warning(p_.barriers.pos[i].line, p_.barriers.pos[i].col,
                              "barrier '" + m_.barriers[i].name + "' is never used");
    }

private:
    void kernel_body(Body& b) {
        Kernel& k = m_.kernels[b.index];
        if (!k.wide) {  // `.wide` may come anywhere in the body, so the header could not tell
            const std::vector<Pos>& at = p_.kernel_param_type_pos[b.index];
            for (std::size_t i = 0; i < k.params.size() && i < at.size(); ++i) {
                const KernelParam& p = k.params[i];
                const bool ok = p.kind == ParamKind::Buffer ? is_kernel_buffer_type(p.type, false)
                                                            : is_kernel_uniform_type(p.type, false);
                if (!ok)
                    sink_.error(at[i].line, at[i].col,
                                "parameter '" + p.name + "' is " + std::string(elem_type_name(p.type)) +
                                    ", which only a wide kernel takes (64-bit lanes: put `.wide` in the body of '" +
                                    k.name + "')");
            }
        }
        KernelBlocks blocks(sink_);
        for (const Statement& s : b.statements) {
            Word w = 0;
            if (instruction(b, s, w))
                blocks.instruction(static_cast<KOp>(word_op(w)), s.line, p_.lines[s.line - 1].tokens[s.first].col);
            k.code.push_back(w);
            k.lines.push_back(s.loc);
        }
        blocks.finish(k.name);
    }

    // Per-instruction state while its operands are read.
    struct Current {
        const Body* body = nullptr;
        std::string_view mnemonic;
        std::optional<Op> op;    // procedures
        std::optional<KOp> kop;  // kernels
        std::vector<RegionUse> regions;
        std::vector<std::uint32_t> region_cols;
        std::size_t operand = 0;
    };

    bool instruction(const Body& b, const Statement& s, Word& w) {
        const std::vector<Token>& tokens = p_.lines[s.line - 1].tokens;
        TokenCursor c(std::span<const Token>(tokens).subspan(s.first), s.line, sink_);
        const Token& mnemonic = c.next();
        Current cur;
        cur.body = &b;
        cur.mnemonic = mnemonic.text;
        Format format;
        std::uint8_t opcode;
        if (b.is_kernel) {
            cur.kop = find_kop(mnemonic.text);
            if (!cur.kop) return unknown(c, mnemonic, true);
            if (m_.kernels[b.index].wide && !available_in_wide_kernels(*cur.kop)) {
                c.fail(mnemonic, "'" + std::string(mnemonic.text) + "' is not available in a wide kernel (" +
                                     std::string(kop_info(*cur.kop).wide.note) + ")");
                return false;
            }
            format = kop_info(*cur.kop).format;
            opcode = static_cast<std::uint8_t>(*cur.kop);
        } else {
            cur.op = find_op(mnemonic.text);
            if (!cur.op) return unknown(c, mnemonic, false);
            // `li` with a value beyond 32 bits becomes `liw` (constant pool).
            if (*cur.op == Op::Li && c.peek(1).kind == TokenKind::Comma && c.peek(2).kind == TokenKind::Int &&
                (c.peek(2).int_value < kInt32Min || c.peek(2).int_value > kInt32Max))
                cur.op = Op::Liw;
            format = op_info(*cur.op).format;
            opcode = static_cast<std::uint8_t>(*cur.op);
        }
        const FormatInfo& f = format_info(format);
        std::size_t count = count_operands(c);
        if (format == Format::Launch ? count < 2 : count != f.count) {
            std::string name(mnemonic.text);
            std::string expected = format == Format::Launch ? "at least 2 operands"
                                   : f.count == 1          ? "1 operand"
                                                           : std::to_string(f.count) + " operands";
            c.fail(mnemonic, f.count == 0 ? "'" + name + "' takes no operands, got " + std::to_string(count)
                                          : "'" + name + "' takes " + expected + " (" + name + " " +
                                                std::string(f.syntax) + "), got " + std::to_string(count));
            return false;
        }
        w = make_word(opcode);
        for (std::size_t i = 0; i < f.count; ++i) {
            cur.operand = i;
            if (i > 0 && !c.expect(TokenKind::Comma, "','")) return false;
            if (!operand(c, cur, f.operands[i], w)) return false;
        }
        if (!c.expect_end()) return false;
        if (cur.op) {
            if (auto e = check_region_types(*cur.op, cur.regions)) {
                std::uint32_t col = mnemonic.col;
                for (std::size_t i = 0; i < cur.regions.size(); ++i)
                    if (cur.regions[i].operand == e->operand) col = cur.region_cols[i];
                sink_.error(s.line, col, e->message);
                return false;
            }
        }
        return true;
    }

    bool unknown(TokenCursor& c, const Token& mnemonic, bool in_kernel) {
        std::string text(mnemonic.text);
        if (in_kernel && find_op(text)) {
            c.fail(mnemonic, "'" + text + "' cannot be used in a kernel (kernels use the kernel instruction subset)");
            return false;
        }
        if (!in_kernel && find_kop(text)) {
            c.fail(mnemonic, "'" + text + "' is a kernel instruction; it can only be used inside a .kernel");
            return false;
        }
        std::string message = "unknown instruction '" + text + "'";
        if (auto habit = other_assembler_habit(text)) {
            c.fail(mnemonic, message + "; " + *habit);
            return false;
        }
        std::string lower = text;
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        auto candidates = mnemonics(in_kernel);
        if (lower != text && (in_kernel ? find_kop(lower).has_value() : find_op(lower).has_value())) {
            message += "; did you mean '" + lower + "'? (mnemonics are lower case)";
        } else if (auto best = closest_name(text, candidates); !best.empty()) {
            message += "; did you mean '" + std::string(best) + "'?";
        }
        c.fail(mnemonic, message);
        return false;
    }

    // For a literal written where a register goes: how this language says
    // it (habits of other assemblers: `mov r1, 5`, `add r1, r1, 1`).
    std::string literal_hint(const Current* cur, bool is_float) const {
        const std::string_view m = cur ? cur->mnemonic : std::string_view{};
        if (m == "mov" || m == "fmov" || !cur)
            return is_float ? " (a constant goes into a float register with 'lif', e.g. 'lif f1, 0.5')"
                            : " (a constant goes into a register with 'li', e.g. 'li r1, 5')";
        const std::string immediate = std::string(m) + "i";
        if (cur->op ? find_op(immediate).has_value() : find_kop(immediate).has_value())
            return " (the form with a constant operand is '" + immediate + "')";
        return is_float ? " (load the constant into a register first with 'lif')"
                        : " (load the constant into a register first with 'li')";
    }

    // "undefined region 'xs'", unless an included file that might have
    // declared it could not be read (that error is enough).
    void undefined(TokenCursor& c, const Token& name, std::string_view what) {
        if (!p_.incomplete) c.fail(name, "undefined " + std::string(what) + " '" + std::string(name.text) + "'");
    }

    std::optional<unsigned> reg(TokenCursor& c, bool is_float, const Current* cur = nullptr) {
        const Token& t = c.peek();
        char prefix = is_float ? 'f' : 'r';
        auto n = register_number(t, prefix);
        if (!n) {
            const bool literal = t.kind == TokenKind::Int || t.kind == TokenKind::Float;
            c.fail(t, std::string("expected ") + (is_float ? "a float" : "an integer") + " register, got " + describe(t) +
                          (literal ? literal_hint(cur, is_float) : std::string()));
            return std::nullopt;
        }
        if (*n >= (is_float ? kFloatRegisters : kIntRegisters)) {
            c.fail(t, "unknown register '" + std::string(t.text) + "' (" + (is_float ? "float" : "integer") +
                          " registers are " + prefix + "0.." + prefix + "31)");
            return std::nullopt;
        }
        c.next();
        return *n;
    }

    // A region operand: a region's name, or a handle operand `@rN` (the
    // region whose handle rN holds when it runs; isa/encoding.h).
    std::optional<std::uint32_t> region(TokenCursor& c, Current& cur) {
        if (c.at(TokenKind::At)) {
            c.next();
            if (!register_number(c.peek(), 'r')) {
                c.fail(c.peek(), "expected an integer register after '@' (a handle operand is written @r0..@r31), got " +
                                     describe(c.peek()));
                return std::nullopt;
            }
            auto n = reg(c, false);
            if (!n) return std::nullopt;
            return handle_operand(*n);
        }
        if (register_number(c.peek(), 'r') && !p_.regions.contains(std::string(c.peek().text))) {
            c.fail(c.peek(), "expected a region, got register '" + std::string(c.peek().text) +
                                 "'; a region whose handle is in a register is written @" +
                                 std::string(c.peek().text));
            return std::nullopt;
        }
        const Token* name = c.expect_ident("a region name");
        if (!name) return std::nullopt;
        auto it = p_.regions.find(std::string(name->text));
        if (it == p_.regions.end()) {
            undefined(c, *name, "region");
            return std::nullopt;
        }
        p_.region_used[it->second] = true;
        cur.regions.push_back({cur.operand, &m_.regions[it->second]});
        cur.region_cols.push_back(name->col);
        return it->second;
    }

    // A channel or barrier operand: a name `.channel` or `.barrier` declared.
    std::optional<std::uint32_t> sync_object(TokenCursor& c, bool channel) {
        NameTable& table = channel ? p_.channels : p_.barriers;
        NameTable& other = channel ? p_.barriers : p_.channels;
        const std::string what = channel ? "channel" : "barrier";
        const std::string other_what = channel ? "barrier" : "channel";
        const Token& t = c.peek();
        const std::string text(t.text);
        if ((register_number(t, 'r') || register_number(t, 'f')) && !table.index.contains(text)) {
            c.fail(t, "expected a " + what + ", got register '" + text + "'");
            return std::nullopt;
        }
        if (!c.expect_ident("a " + what + " name")) return std::nullopt;
        if (auto it = table.index.find(text); it != table.index.end()) {
            table.used[it->second] = true;
            return it->second;
        }
        if (auto it = other.index.find(text); it != other.index.end()) {
            other.used[it->second] = true;  // the mistake is here, not in an unused declaration
            const std::string declared =
                channel ? "'.barrier " + text + " " + std::to_string(m_.barriers[it->second].parties) + "'"
                        : "'.channel " + text + " " + std::to_string(m_.channels[it->second].capacity) + "'";
            c.fail(t, "'" + text + "' is a " + other_what + " (" + declared + "), not a " + what);
            return std::nullopt;
        }
        if (p_.regions.contains(text)) {
            c.fail(t, "'" + text + "' is a region, not a " + what);
            return std::nullopt;
        }
        if (p_.incomplete) return std::nullopt;  // an included file that could not be read may declare it
        std::vector<std::string_view> names;
        for (const auto& [name, index] : table.index) names.push_back(name);
        std::sort(names.begin(), names.end());
        std::string message = "undefined " + what + " '" + text + "'";
        if (auto best = closest_name(text, names); !best.empty()) {
            message += "; did you mean '" + std::string(best) + "'?";
        } else if (names.empty()) {
            message += " (no " + what + " is declared: '." + what + " NAME " +
                       (channel ? "CAPACITY" : "PARTIES") + "')";
        } else {
            constexpr std::size_t kListed = 6;
            message += " (declared: ";
            for (std::size_t i = 0; i < names.size() && i < kListed; ++i)
                message += (i ? ", '" : "'") + std::string(names[i]) + "'";
            if (names.size() > kListed) message += ", ... " + std::to_string(names.size()) + " in all";
            message += ")";
        }
        c.fail(t, message);
        return std::nullopt;
    }

    std::optional<std::uint32_t> param(TokenCursor& c, const Current& cur) {
        const Token* name = c.expect_ident("a kernel parameter");
        if (!name) return std::nullopt;
        const Kernel& k = m_.kernels[cur.body->index];
        for (std::uint32_t i = 0; i < k.params.size(); ++i) {
            if (k.params[i].name != name->text) continue;
            if (auto why = param_misuse(*cur.kop, k.params[i], k.wide)) {
                c.fail(*name, *why);
                return std::nullopt;
            }
            return i;
        }
        // A header with an error may have lost the parameter: that error says so.
        if (p_.kernel_header_ok[cur.body->index])
            c.fail(*name, "kernel '" + k.name + "' has no parameter '" + std::string(name->text) + "'");
        return std::nullopt;
    }

    // `name[rN]`: the name (region or parameter) is read by `read_name`.
    template <class ReadName>
    bool element(TokenCursor& c, const OperandSpec& o, Word& w, ReadName read_name) {
        auto v = read_name();
        if (!v) return false;
        if (!c.expect(TokenKind::LBracket, "'[' and an index register")) return false;
        auto index = reg(c, false);
        if (!index || !c.expect(TokenKind::RBracket, "']'")) return false;
        w = with_field(with_field(w, o.field, *v), o.index_field, *index);
        return true;
    }

    bool operand(TokenCursor& c, Current& cur, const OperandSpec& o, Word& w) {
        auto put = [&](std::uint32_t v) {
            w = with_field(w, o.field, v);
            return true;
        };
        switch (o.kind) {
        case OperandKind::IntReg:
        case OperandKind::FloatReg: {
            auto n = reg(c, o.kind == OperandKind::FloatReg, &cur);
            return n && put(*n);
        }
        case OperandKind::Imm: {
            if (cur.kop) {
                auto v = kernel_immediate(c, *cur.kop, m_.kernels[cur.body->index].wide);
                return v && put(*v);
            }
            bool shift = is_shift_immediate(*cur.op);
            auto v = shift ? read_int(c, 0, 63, "shift amount") : read_int(c, kInt32Min, kInt32Max, "immediate");
            return v && put(static_cast<std::uint32_t>(static_cast<std::int32_t>(*v)));
        }
        case OperandKind::Digits: {
            auto v = read_int(c, 0, kMaxDigits, "digit count");
            return v && put(static_cast<std::uint32_t>(*v));
        }
        case OperandKind::IntConst: {
            auto v = read_int(c, kInt64Min, kUint64Max, "integer");
            return v && put(int_constant(wrap_int64(*v)));
        }
        case OperandKind::FloatConst: {
            auto v = read_float(c);
            return v && put(float_constant(*v));
        }
        case OperandKind::F32Imm: {
            const Token& at = c.peek();
            auto v = read_float(c);
            if (!v) return false;
            if (overflows_binary32(*v)) {
                c.fail(at, "value " + std::string(at.text) + " is out of range for f32");
                return false;
            }
            return put(std::bit_cast<std::uint32_t>(static_cast<float>(*v)));
        }
        case OperandKind::Label: return label(c, cur, o, w);
        case OperandKind::Proc: {
            const Token* name = c.expect_ident("a procedure name");
            if (!name) return false;
            auto it = p_.procs.find(std::string(name->text));
            if (it == p_.procs.end()) {
                undefined(c, *name, "procedure");
                return false;
            }
            return put(it->second);
        }
        case OperandKind::String: {
            if (!c.at(TokenKind::String)) {
                c.fail(c.peek(), "expected a string literal, got " + describe(c.peek()));
                return false;
            }
            return put(string_constant(c.next().string_value));
        }
        case OperandKind::Region: {
            auto r = region(c, cur);
            return r && put(*r);
        }
        case OperandKind::Param: {
            auto p = param(c, cur);
            return p && put(*p);
        }
        case OperandKind::Mem: return element(c, o, w, [&] { return region(c, cur); });
        case OperandKind::PMem: return element(c, o, w, [&] { return param(c, cur); });
        case OperandKind::LaunchSite: return launch(c, cur, o, w);
        case OperandKind::Channel: {
            auto v = sync_object(c, true);
            return v && put(*v);
        }
        case OperandKind::Barrier: {
            auto v = sync_object(c, false);
            return v && put(*v);
        }
        case OperandKind::LoopSite:
            c.fail(c.peek(), "'kloop' is written by the assembler in front of a loop it turns into a kernel "
                             "(docs/loop-kernels.md); write the loop itself");
            return false;
        }
        return false;
    }

    bool label(TokenCursor& c, const Current& cur, const OperandSpec& o, Word& w) {
        const Token* name = c.expect_ident("a label");
        if (!name) return false;
        std::string text(name->text);
        auto it = cur.body->labels.find(text);
        if (it == cur.body->labels.end()) {
            c.fail(*name, "undefined label '" + text + "'");
            return false;
        }
        p_.label_info[it->second].used = true;
        const Procedure& proc = m_.procs[cur.body->index];
        std::uint32_t pc = m_.labels[it->second].pc;
        if (pc >= proc.start + proc.length) {
            c.fail(*name, "label '" + text + "' is at the end of procedure '" + proc.name +
                              "': there is no instruction to jump to");
            return false;
        }
        w = with_field(w, o.field, pc);
        return true;
    }

    bool launch(TokenCursor& c, Current& cur, const OperandSpec& o, Word& w) {
        const Token* name = c.expect_ident("a kernel name");
        if (!name) return false;
        auto it = p_.kernels.find(std::string(name->text));
        if (it == p_.kernels.end()) {
            undefined(c, *name, "kernel");
            return false;
        }
        if (!p_.kernel_header_ok[it->second]) {
            // Its header's error says what to fix; the regions named here are
            // still used (no "never used" warning on top).
            for (std::size_t i = 0; c.peek(i).kind != TokenKind::End; ++i)
                if (auto r = p_.regions.find(std::string(c.peek(i).text)); r != p_.regions.end())
                    p_.region_used[r->second] = true;
            return false;
        }
        const Kernel& k = m_.kernels[it->second];
        if (!c.expect(TokenKind::Comma, "','")) return false;
        auto count = reg(c, false);
        if (!count) return false;
        LaunchSite site;
        site.kernel = it->second;
        std::size_t given = count_operands(c);  // ", a, b" counts as 1 + args
        std::size_t args = given == 0 ? 0 : given - 1;
        if (args != k.params.size()) {
            c.fail(*name, "kernel '" + k.name + "' takes " + std::to_string(k.params.size()) +
                              " argument" + (k.params.size() == 1 ? "" : "s") + " (one per parameter), got " +
                              std::to_string(args));
            return false;
        }
        for (const KernelParam& p : k.params) {
            if (!c.expect(TokenKind::Comma, "','")) return false;
            const Token& at = c.peek();
            cur.operand = 2 + site.args.size();
            LaunchArg arg;
            if (p.kind == ParamKind::Buffer) {
                auto r = region(c, cur);
                if (!r) return false;
                if (is_handle_operand(*r)) {  // its type is checked when it runs
                    site.args.push_back({LaunchArg::Kind::Region, static_cast<std::uint8_t>(*r)});
                    continue;
                }
                const RegionDecl& decl = m_.regions[*r];
                if (decl.type != p.type) {
                    c.fail(at, "buffer '" + p.name + "' of kernel '" + k.name + "' needs " +
                                   (p.type == ElemType::U32 ? "a " : "an ") + std::string(elem_type_name(p.type)) +
                                   " region, but '" + decl.name + "' is " +
                                   std::string(elem_type_name(decl.type)));
                    return false;
                }
                arg = {LaunchArg::Kind::Region, static_cast<std::uint8_t>(*r)};
            } else {
                const bool is_float = polymer::is_float(p.type);
                if (!register_number(at, is_float ? 'f' : 'r')) {
                    c.fail(at, "uniform '" + p.name + "' of kernel '" + k.name + "' needs " +
                                   (is_float ? "a float" : "an integer") + " register, got " + describe(at));
                    return false;
                }
                auto n = reg(c, is_float);
                if (!n) return false;
                arg = {is_float ? LaunchArg::Kind::FloatReg : LaunchArg::Kind::IntReg, static_cast<std::uint8_t>(*n)};
            }
            site.args.push_back(arg);
        }
        w = with_a(w, static_cast<std::uint8_t>(*count));
        w = with_field(w, o.field, static_cast<std::uint32_t>(m_.launches.size()));
        m_.launches.push_back(std::move(site));
        return true;
    }

    std::uint32_t int_constant(std::int64_t v) {
        auto [it, added] = int_pool_.try_emplace(v, static_cast<std::uint32_t>(m_.int_consts.size()));
        if (added) m_.int_consts.push_back(v);
        return it->second;
    }

    // Keyed by bits: 0.0 and -0.0 stay apart, and NaNs do not defeat the look-up.
    std::uint32_t float_constant(double v) {
        auto [it, added] = float_pool_.try_emplace(std::bit_cast<std::uint64_t>(v),
                                                   static_cast<std::uint32_t>(m_.float_consts.size()));
        if (added) m_.float_consts.push_back(v);
        return it->second;
    }

    std::uint32_t string_constant(const std::string& s) {
        auto [it, added] = string_pool_.try_emplace(s, static_cast<std::uint32_t>(m_.strings.size()));
        if (added) m_.strings.push_back(s);
        return it->second;
    }

    Program& p_;
    Module& m_;
    DiagnosticSink& sink_;
    std::unordered_map<std::int64_t, std::uint32_t> int_pool_;
    std::unordered_map<std::uint64_t, std::uint32_t> float_pool_;
    std::unordered_map<std::string, std::uint32_t> string_pool_;
};

// Lowers every kernel to GLSL and SPIR-V (docs/kernels.md), so that a kernel
// Vulkan could not run is an error now, at its `.kernel` line. The module
// keeps only the IR; the SPIR-V stays in this process's cache
// (kernel_spirv.h), where a run of the module just assembled finds it.
void lower_kernels(Program& p, DiagnosticSink& sink, const std::filesystem::path& cache_dir) {
    for (std::size_t i = 0; i < p.module.kernels.size(); ++i) {
        Kernel& k = p.module.kernels[i];
        const Pos at = p.kernel_pos[i];
        if (std::string too_many = push_slot_problem(k); !too_many.empty()) {
            sink.error(at.line, at.col, too_many);
            continue;
        }
        if (sink.has_errors()) continue;  // only well-formed kernels are lowered
        if (auto spirv = kernel_spirv(k, cache_dir); !spirv)
            sink.error(at.line, at.col, spirv.error());
    }
}

}  // namespace

}  // namespace asm_detail

AssembleResult assemble(std::string_view source, const AssembleOptions& options) {
    using namespace asm_detail;
    SourceText text;
    text.add_file(options.filename);
    DiagnosticSink sink(options.filename, text);
    if (auto bad = first_binary_byte(source)) {
        text.append(0, source);
        static constexpr char kHex[] = "0123456789abcdef";
        sink.error(bad->line, bad->col,
                   std::string("not a text file (byte 0x") + kHex[bad->byte >> 4] + kHex[bad->byte & 15] +
                       "); a .pasm file is text; a .pbc module is read by polymer-dis or polymer-run");
        AssembleResult result;
        result.errors = sink.error_count();
        result.diagnostics = sink.take_sorted();
        return result;
    }
    const bool complete = read_with_includes(text, source, options, sink);
    Program program = parse_program(text, options, sink);
    program.incomplete = !complete;
    Encoder(program, sink).run();
    // What only the finished code shows: a handle operand of the wrong type
    // where a `rgn` in the same block makes its region known.
    if (!sink.has_errors())
        if (std::optional<WordProblem> p = check_proc_words(program.module)) {
            const SourceLoc at = p->pc < program.module.lines.size() ? program.module.lines[p->pc] : SourceLoc{};
            sink.error(at.line, at.col, p->message);
        }
    lower_kernels(program, sink, options.spirv_cache_dir);
    AssembleResult result;
    if (!sink.has_errors() && options.loop_kernels) {
        std::vector<bool> reassociate(program.module.procs.size(), false);
        for (const Body& b : program.bodies)
            if (!b.is_kernel && b.index < reassociate.size()) reassociate[b.index] = b.reassociate;
        for (const loops::LoopReport& r : loops::make_loop_kernels(program.module, reassociate))
            result.loop_report.push_back(loops::format_loop_report(program.module, r));
    }
    if (!sink.has_errors()) {
        result.module = std::move(program.module);
        result.module->frames = compute_frames(*result.module);  // the frame table (docs/frames.md)
    }
    result.errors = sink.error_count();
    result.diagnostics = sink.take_sorted();
    return result;
}

}  // namespace polymer
