#include "vm/loop_kernel_plain.h"

#include <algorithm>

#include "isa/encoding.h"
#include "isa/formats.h"
#include "isa/opcodes.h"

namespace polymer {

namespace {

// Whether kernel word w names integer register r (as an operand or an index), by its format.
bool names_int_reg(Word w, int r) {
    const FormatInfo& f = format_info(kop_info(static_cast<KOp>(word_op(w))).format);
    for (std::size_t k = 0; k < f.count; ++k) {
        const OperandSpec& o = f.operands[k];
        if (o.kind == OperandKind::IntReg && static_cast<int>(word_field(w, o.field)) == r) return true;
        if (o.kind == OperandKind::PMem && static_cast<int>(word_field(w, o.index_field)) == r) return true;
    }
    return false;
}

}  // namespace

std::optional<Kernel> plain_loop_kernel(const Module& m, const LoopKernel& l) {
    if (l.kernel >= m.kernels.size() || l.args.size() != m.kernels[l.kernel].params.size()) return std::nullopt;
    const Kernel& k = m.kernels[l.kernel];
    if (std::none_of(l.reductions.begin(), l.reductions.end(), [](const LoopReduction& r) { return r.op == ReduceOp::Last; }))
        return std::nullopt;
    std::vector<bool> recorded(k.params.size(), false);  // the Last and LastMask partials
    int mask_param = -1;
    for (std::size_t p = 0; p < l.args.size(); ++p) {
        const LoopArg& a = l.args[p];
        if (a.kind == LoopArg::Kind::Region && k.params[p].access == Access::InOut) return std::nullopt;
        if (a.kind != LoopArg::Kind::Partials) continue;
        if (a.index >= l.reductions.size()) return std::nullopt;
        const ReduceOp op = l.reductions[a.index].op;
        if (op != ReduceOp::Last && op != ReduceOp::LastMask) return std::nullopt;
        recorded[p] = true;
        if (op == ReduceOp::LastMask) mask_param = static_cast<int>(p);
    }
    auto store = [](KOp op) { return op == KOp::St || op == KOp::Stf; };
    // The mask register: the one the mask partial stores.
    int mask_reg = -1;
    for (Word w : k.code)
        if (store(static_cast<KOp>(word_op(w))) && word_c(w) == mask_param) mask_reg = word_a(w);
    // Only the mask's own words may name its register (`li` of 0, `ori` of
    // it into it, its store): then dropping them changes nothing else.
    for (Word w : k.code) {
        const KOp op = static_cast<KOp>(word_op(w));
        const bool own = (op == KOp::Li && word_a(w) == mask_reg && word_imm(w) == 0) ||
                         (op == KOp::Ori && word_a(w) == mask_reg && word_b(w) == mask_reg) ||
                         (store(op) && word_c(w) == mask_param);
        if (!own && mask_reg >= 0 && names_int_reg(w, mask_reg)) return std::nullopt;
    }
    Kernel plain = k;
    plain.name += ".plain";
    plain.code.clear();
    plain.lines.clear();
    for (std::size_t pc = 0; pc < k.code.size(); ++pc) {
        const Word w = k.code[pc];
        const KOp op = static_cast<KOp>(word_op(w));
        if (store(op) && word_c(w) < recorded.size() && recorded[word_c(w)]) continue;
        if ((op == KOp::Li || op == KOp::Ori) && word_a(w) == mask_reg) continue;  // the mask's li and oris
        plain.code.push_back(w);
        if (!k.lines.empty()) plain.lines.push_back(k.lines[pc]);
    }
    return plain;
}

}  // namespace polymer
