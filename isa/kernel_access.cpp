#include "isa/kernel_access.h"

#include <bitset>

#include "isa/encoding.h"
#include "isa/formats.h"
#include "isa/opcodes.h"

namespace polymer {
namespace {

// The int register an op writes (operand 0 when the table says it writes
// one), or -1.
int written_int_register(KOp op, Word w) {
    const FormatInfo& f = format_info(kop_info(op).format);
    if ((kop_info(op).writes & 1) == 0 || f.count == 0 || f.operands[0].kind != OperandKind::IntReg) return -1;
    return static_cast<int>(word_field(w, f.operands[0].field) % 32);
}

// Whether every lane may touch its own element x[gid] of buffer p without a
// check: an element-wise buffer, or a window that holds offset 0 (a launch
// gives both at least `count` elements, so gid is inside the buffer too).
bool own_element_allowed(const KernelParam& p) {
    return p.indexing == Indexing::Element ||
           (p.indexing == Indexing::Window && p.window_lo <= 0 && p.window_hi >= 0);
}

}  // namespace

// A forward pass over the structured code keeping the set of int registers
// that hold `gid` in every lane still running. `gid rA` adds rA, `mov rA, rB`
// copies rB's membership, any other write to rA removes it. Conservative at
// joins: an `if` ends with what both arms keep; a loop starts (and ends)
// without every register written anywhere in its body.
std::vector<bool> kernel_access_checks(const Kernel& k) {
    using Set = std::bitset<32>;
    const std::vector<Word>& code = k.code;
    std::vector<bool> checks(code.size(), false);
    struct Open {
        bool is_loop;
        Set at_entry;   // an if: the set before it (the else arm starts from it)
        Set then_arm;   // an if with an else: the set at the end of the then arm
        bool has_else = false;
    };
    std::vector<Open> open;
    Set gid;
    // Registers written anywhere in the loop opened at each `loop` word.
    auto written_in_loop = [&](std::size_t from) {
        Set w;
        int depth = 0;
        for (std::size_t pc = from; pc < code.size(); ++pc) {
            if (!is_valid_kop(word_op(code[pc]))) continue;
            const KOp op = static_cast<KOp>(word_op(code[pc]));
            const KEffect e = kop_effect(op);
            if (e == KEffect::If || e == KEffect::Loop) ++depth;
            if (e == KEffect::End && --depth == 0) break;
            if (const int r = written_int_register(op, code[pc]); r >= 0) w.set(static_cast<std::size_t>(r));
        }
        return w;
    };
    for (std::size_t pc = 0; pc < code.size(); ++pc) {
        const Word w = code[pc];
        if (!is_valid_kop(word_op(w))) continue;
        const KOp op = static_cast<KOp>(word_op(w));
        const KEffect e = kop_effect(op);
        switch (e) {
        case KEffect::Load: case KEffect::Store: case KEffect::Atomic: {
            const FormatInfo& f = format_info(kop_info(op).format);
            for (std::size_t i = 0; i < f.count; ++i) {
                const OperandSpec& o = f.operands[i];
                if (o.kind != OperandKind::PMem) continue;
                const std::uint32_t p = word_field(w, o.field);
                const std::uint32_t index = word_field(w, o.index_field) % 32;
                checks[pc] = !(p < k.params.size() && own_element_allowed(k.params[p]) && gid.test(index));
            }
            break;
        }
        case KEffect::If: open.push_back({false, gid, {}, false}); break;
        case KEffect::Else:
            if (!open.empty() && !open.back().is_loop) {
                open.back().then_arm = gid;
                open.back().has_else = true;
                gid = open.back().at_entry;
            }
            break;
        case KEffect::Loop:
            gid &= ~written_in_loop(pc);
            open.push_back({true, gid, {}, false});
            break;
        case KEffect::End:
            if (open.empty()) break;
            if (open.back().is_loop) gid = open.back().at_entry;
            else gid &= open.back().has_else ? open.back().then_arm : open.back().at_entry;
            open.pop_back();
            break;
        case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Break: case KEffect::Continue:
        case KEffect::Exit:
            break;
        }
        const int r = written_int_register(op, w);
        if (r < 0) continue;
        const auto dst = static_cast<std::size_t>(r);
        if (op == KOp::Gid) gid.set(dst);
        else if (op == KOp::Mov) gid.set(dst, gid.test(word_field(w, Field::B) % 32));
        else gid.reset(dst);
    }
    return checks;
}

}  // namespace polymer
