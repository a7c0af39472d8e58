#include "assembler/loops/kernel_writer.h"

#include <bit>
#include <optional>

#include "assembler/kernel_glsl.h"
#include "assembler/loops/mask_bits.h"
#include "isa/encoding.h"
#include "isa/formats.h"
#include "isa/opcodes.h"

namespace polymer::loops {
namespace {

// Thrown inside the writer for a shape it cannot write; caught at its entry.
struct CannotWrite {
    std::string why;
};

class Writer {
public:
    Writer(const Module& m, const LoopPlan& plan) : m_(m), plan_(plan), free_(~plan.used) {}

    WrittenKernel write(std::string name) {
        out_.kernel.name = std::move(name);
        out_.kernel.wide = true;
        LoopKernel& e = out_.entry;
        e.induction = plan_.induction;
        e.bound = plan_.bound;
        e.compare = plan_.compare;
        e.tested_first = plan_.tested_first;
        e.step = plan_.step;
        e.chunk = 1;  // one lane per iteration; a reduction's partial per lane, combined in order by kloop
        e.reductions = plan_.reductions;
        e.accesses = plan_.accesses;
        e.divisors = plan_.divisors;
        for (const RegionUse& u : plan_.regions) {
            const Access access = u.reads && u.writes ? Access::InOut : u.writes ? Access::Out : Access::In;
            region_param_[u.operand] = add_param(region_param_name(u.operand), ParamKind::Buffer, access, u.type,
                                                 {LoopArg::Kind::Region, u.operand});
        }
        const std::uint32_t i0 = add_param("i0", ParamKind::Uniform, Access::In, ElemType::I64,
                                           {LoopArg::Kind::IntReg, plan_.induction});
        const SourceLoc at = loc(plan_.header);
        const RegSet inputs = value_reads() & ~plan_.defs;
        for (RegSet rest = inputs; rest; rest &= rest - 1) {
            const unsigned bit = static_cast<unsigned>(std::countr_zero(rest));
            const bool is_float = bit >= 32;
            const std::uint8_t r = static_cast<std::uint8_t>(bit % 32);
            const std::uint32_t p = add_param(reg_name(RegSet{1} << bit), ParamKind::Uniform, Access::In,
                                              is_float ? ElemType::F64 : ElemType::I64,
                                              {is_float ? LoopArg::Kind::FloatReg : LoopArg::Kind::IntReg, r});
            load_uniform(is_float, r, p, at);
        }
        std::vector<std::uint32_t> partials;
        for (std::size_t j = 0; j < plan_.reductions.size(); ++j) {
            const LoopReduction& red = plan_.reductions[j];
            const std::string reg = (red.is_float ? "f" : "r") + std::to_string(red.reg);
            const std::string name = red.op == ReduceOp::LastMask ? "last_mask"
                                     : red.op == ReduceOp::Last   ? "last_" + reg
                                                                  : "partial_" + reg;
            partials.push_back(add_param(name,
                                         ParamKind::Buffer, Access::Out, red.is_float ? ElemType::F64 : ElemType::I64,
                                         {LoopArg::Kind::Partials, static_cast<std::uint32_t>(j)}));
            out_.kernel.params.back().indexing = Indexing::Element;  // stored at the lane's own element
        }
        check_slots();

        const std::uint8_t lane = temp();
        emit(KOp::Gid, at, lane);
        const std::uint32_t body_lo = plan_.tested_first ? plan_.header + 1 : plan_.header;
        const std::uint32_t body_hi = plan_.latch;  // the latch (jmp back or the test) is not part of the body
        if (plan_.step != 1) {  // i = i0 + gid * step
            const std::uint8_t start = temp();
            emit(KOp::Muli, at, plan_.induction, lane, 0, step_imm());
            emit(KOp::Ldp, at, start, static_cast<std::uint8_t>(i0));
            emit(KOp::Add, at, plan_.induction, plan_.induction, start);
            cond_ = start;
        } else {  // i = i0 + gid
            emit(KOp::Ldp, at, plan_.induction, static_cast<std::uint8_t>(i0));
            emit(KOp::Add, at, plan_.induction, plan_.induction, lane);
            cond_ = lane;
        }
        // The lane's index stays for the partials' stores.
        if (!plan_.reductions.empty() && cond_ == lane) cond_ = temp();
        if (plan_.last_values) {
            mask_ = temp();
            emit(KOp::Li, at, *mask_);
        }
        for (const LoopReduction& red : plan_.reductions) identity(red, at);
        const std::size_t body_begin = out_.kernel.code.size();
        body(body_lo, body_hi, {});
        if (mask_) place_mask_bits(out_.kernel, body_begin, out_.kernel.code.size(), *mask_);
        for (std::size_t j = 0; j < plan_.reductions.size(); ++j) {
            const LoopReduction& red = plan_.reductions[j];
            const std::uint8_t value = red.op == ReduceOp::LastMask ? *mask_ : red.reg;
            emit(red.is_float ? KOp::Stf : KOp::St, at, value, lane, static_cast<std::uint8_t>(partials[j]));
        }
        return std::move(out_);
    }

private:
    struct Scope {
        std::optional<std::uint32_t> continue_to, break_to;  // the innermost kernel loop's header and exit
    };

    const Module& m_;
    const LoopPlan& plan_;
    RegSet free_;
    WrittenKernel out_;
    std::uint8_t cond_ = 0;  // the register a branch's condition goes into
    std::optional<std::uint8_t> mask_;  // bit j: this lane wrote its j-th last-value register
    static constexpr int kMaxNesting = 64;  // the writer recurses once per level
    int depth_ = 0;
    std::array<std::uint32_t, 256> region_param_{};
    std::vector<std::pair<LoopArg, std::uint32_t>> constant_params_;

    SourceLoc loc(std::uint32_t pc) const { return pc < m_.lines.size() ? m_.lines[pc] : SourceLoc{}; }

    std::string region_param_name(std::uint8_t operand) const {
        if (operand < m_.regions.size()) return m_.regions[operand].name;
        return "at_r" + std::to_string(handle_register(operand));
    }

    std::uint32_t add_param(std::string name, ParamKind kind, Access access, ElemType type, LoopArg arg) {
        KernelParam p;
        p.name = std::move(name);
        p.kind = kind;
        p.access = access;
        p.type = type;
        p.indexing = kind == ParamKind::Buffer ? Indexing::Broadcast : Indexing::Element;
        out_.kernel.params.push_back(p);
        out_.entry.args.push_back(arg);
        return static_cast<std::uint32_t>(out_.kernel.params.size() - 1);
    }

    std::uint32_t constant_param(LoopArg arg, bool is_float) {
        for (auto& [a, p] : constant_params_)
            if (a == arg) return p;
        const std::string name = (is_float ? "fconst" : "iconst") + std::to_string(arg.index);
        const std::uint32_t p = add_param(name, ParamKind::Uniform, Access::In, is_float ? ElemType::F64 : ElemType::I64, arg);
        constant_params_.push_back({arg, p});
        return p;
    }

    // Push constants: a buffer's length takes one 4-byte slot, a 64-bit uniform two.
    void check_slots() const {
        const std::size_t slots = push_slot_count(out_.kernel);
        if (slots > kMaxKernelPushSlots)
            throw CannotWrite{"the loop needs " + std::to_string(slots) + " push-constant slots for its regions and values, more than a kernel's " +
                              std::to_string(kMaxKernelPushSlots)};
    }

    std::uint8_t temp() {
        const RegSet ints = free_ & 0xFFFFFFFFu;
        if (ints == 0) throw CannotWrite{"no free integer register for the kernel's lane counters"};
        const unsigned r = static_cast<unsigned>(std::countr_zero(ints));
        free_ &= ~int_reg(r);
        return static_cast<std::uint8_t>(r);
    }

    std::int32_t step_imm() const { return static_cast<std::int32_t>(plan_.step); }  // an addi immediate: fits

    void emit(KOp op, SourceLoc at, std::uint8_t a = 0, std::uint8_t b = 0, std::uint8_t c = 0, std::int32_t imm = 0) {
        out_.kernel.code.push_back(make_word(static_cast<std::uint8_t>(op), a, b, c, imm));
        out_.kernel.lines.push_back(at);
    }

    void load_uniform(bool is_float, std::uint8_t r, std::uint32_t p, SourceLoc at) {
        emit(is_float ? KOp::Ldpf : KOp::Ldp, at, r, static_cast<std::uint8_t>(p));
    }

    void identity(const LoopReduction& red, SourceLoc at) {
        switch (red.op) {
        case ReduceOp::Last:
        case ReduceOp::LastMask: break;  // a last value is whatever the lane wrote; the mask starts at 0
        case ReduceOp::Add: emit(KOp::Li, at, red.reg); break;
        case ReduceOp::Min: emit(KOp::Li, at, red.reg, 0, 0, -1), emit(KOp::Shri, at, red.reg, red.reg, 0, 1); break;
        case ReduceOp::Max: emit(KOp::Li, at, red.reg, 0, 0, 1), emit(KOp::Shli, at, red.reg, red.reg, 0, 63); break;
        case ReduceOp::Fadd:
        case ReduceOp::FaddAnyOrder: emit(KOp::Lif, at, red.reg, 0, 0, std::bit_cast<std::int32_t>(-0.0f)); break;
        case ReduceOp::Fmin: emit(KOp::Lif, at, red.reg, 0, 0, std::bit_cast<std::int32_t>(__builtin_inff())); break;
        case ReduceOp::Fmax: emit(KOp::Lif, at, red.reg, 0, 0, std::bit_cast<std::int32_t>(-__builtin_inff())); break;
        }
    }

    // After a word that writes last-value registers: set their mask bits
    // (place_mask_bits then merges these and drops the redundant ones).
    void mark_last_values(std::uint32_t pc, SourceLoc at) {
        const RegSet written = word_facts(m_, pc).writes & plan_.last_values;
        if (!written) return;
        std::int32_t bits = 0;
        unsigned j = 0;
        for (RegSet rest = plan_.last_values; rest; rest &= rest - 1, ++j)
            if (written & (rest & -rest)) bits |= std::int32_t{1} << j;
        emit(KOp::Ori, at, *mask_, *mask_, 0, bits);
    }

    // Whether a word after the counter's addi reads the counter: if none
    // does, the lane has no use for the stepped value and the addi is dropped.
    bool counter_read_after_step() const {
        for (std::uint32_t pc = plan_.step_pc + 1; pc < plan_.latch; ++pc)
            if (pc != plan_.test && (word_facts(m_, pc).reads & int_reg(plan_.induction))) return true;
        return false;
    }

    // The registers whose values the body's words read (not a memory
    // operand's handle register: the region arrives as a buffer).
    RegSet value_reads() const {
        RegSet reads = 0;
        for (std::uint32_t pc = plan_.header; pc <= plan_.latch; ++pc) {
            if (pc == plan_.test) continue;
            const Word w = m_.code[pc];
            const OpInfo& info = op_info(static_cast<Op>(word_op(w)));
            const FormatInfo& f = format_info(info.format);
            for (std::size_t k = 0; k < f.count; ++k) {
                const OperandSpec& s = f.operands[k];
                const bool written = (info.writes >> k) & 1u;
                if (s.kind == OperandKind::Mem) reads |= int_reg(word_field(w, s.index_field));
                if (written) continue;
                if (s.kind == OperandKind::IntReg) reads |= int_reg(word_field(w, s.field));
                if (s.kind == OperandKind::FloatReg) reads |= float_reg(word_field(w, s.field));
            }
        }
        return reads & ~int_reg(plan_.induction);
    }

    // The body's words [lo, hi) as structured kernel code.
    void body(std::uint32_t lo, std::uint32_t hi, Scope scope, std::optional<std::uint32_t> loop_started_at = {}) {
        if (++depth_ > kMaxNesting)
            throw CannotWrite{"branches nested deeper than " + std::to_string(kMaxNesting)};
        struct Leave {
            int& depth;
            ~Leave() { --depth; }
        } leave{depth_};
        for (std::uint32_t pc = lo; pc < hi;) {
            if (pc != loop_started_at)
                if (std::optional<std::uint32_t> latch = inner_latch(pc, hi)) {
                    inner_loop(pc, *latch);
                    pc = *latch + 1;
                    continue;
                }
            pc = word(pc, hi, scope);
        }
    }

    // The last word in (pc, hi) that jumps back to pc: pc heads an inner loop.
    std::optional<std::uint32_t> inner_latch(std::uint32_t pc, std::uint32_t hi) const {
        std::optional<std::uint32_t> latch;
        for (std::uint32_t q = pc; q < hi; ++q)
            if (target(q) == pc) latch = q;
        return latch;
    }

    std::optional<std::uint32_t> target(std::uint32_t pc) const {
        const Word w = m_.code[pc];
        const FormatInfo& f = format_info(op_info(static_cast<Op>(word_op(w))).format);
        for (std::size_t k = 0; k < f.count; ++k)
            if (f.operands[k].kind == OperandKind::Label) return word_field(w, f.operands[k].field);
        return std::nullopt;
    }

    void inner_loop(std::uint32_t header, std::uint32_t latch) {
        const SourceLoc at = loc(latch);
        emit(KOp::Loop, loc(header));
        body(header, latch, {header, latch + 1}, header);
        const Word w = m_.code[latch];
        if (is_conditional(w)) when(w, false, at, [&] { emit(KOp::Break, at); });  // round again when taken
        emit(KOp::End, at);
    }

    static bool is_conditional(Word w) {
        const FormatInfo& f = format_info(op_info(static_cast<Op>(word_op(w))).format);
        return f.count > 0 && f.operands[0].kind == OperandKind::IntReg;
    }

    // The register an `if` tests for "the branch is taken" (or, with
    // !taken, "not taken"), and whether it holds the opposite instead (the
    // caller puts its block under an else). A comparison is written as the
    // one asked for (bge is taken when b <= a, not taken when a < b); bz and
    // bnz test their register as it is, with no op at all.
    struct Condition {
        std::uint8_t reg;
        bool opposite;
    };
    Condition condition(Word w, bool taken, SourceLoc at) {
        const std::uint8_t a = word_a(w), b = word_b(w);
        const auto compare = [&](KOp op, std::uint8_t x, std::uint8_t y) {
            emit(op, at, cond_, x, y);
            return Condition{cond_, false};
        };
        switch (static_cast<Op>(word_op(w))) {
        case Op::Bz: return {a, taken};  // a != 0: not taken
        case Op::Bnz: return {a, !taken};
        case Op::Beq: return compare(taken ? KOp::Eq : KOp::Ne, a, b);
        case Op::Bne: return compare(taken ? KOp::Ne : KOp::Eq, a, b);
        case Op::Blt: return taken ? compare(KOp::Lt, a, b) : compare(KOp::Le, b, a);
        case Op::Bge: return taken ? compare(KOp::Le, b, a) : compare(KOp::Lt, a, b);
        case Op::Bltu: return taken ? compare(KOp::Ltu, a, b) : compare(KOp::Leu, b, a);
        case Op::Bgeu: return taken ? compare(KOp::Leu, b, a) : compare(KOp::Ltu, a, b);
        default: throw CannotWrite{"a branch the kernel writer does not know"};
        }
    }

    // Emits `what` under an `if` that runs it when the branch is taken (or
    // not taken, with !taken); unconditionally for a jmp.
    template <class F>
    void when(Word w, bool taken, SourceLoc at, F what) {
        if (!is_conditional(w)) return what();
        const Condition c = condition(w, taken, at);
        emit(KOp::If, at, c.reg);
        if (c.opposite) emit(KOp::Else, at);
        what();
        emit(KOp::End, at);
    }

    // One word (a branch takes the words it governs with it); returns the next pc.
    std::uint32_t word(std::uint32_t pc, std::uint32_t hi, const Scope& scope) {
        const Word w = m_.code[pc];
        const SourceLoc at = loc(pc);
        if (pc == plan_.test) return pc + 1;
        const std::optional<std::uint32_t> to = target(pc);
        if (!to) {
            if (pc != plan_.step_pc || counter_read_after_step()) translate(pc);
            mark_last_values(pc, at);
            return pc + 1;
        }
        if (to == scope.break_to) return when(w, true, at, [&] { emit(KOp::Break, at); }), pc + 1;
        if (to == scope.continue_to) return when(w, true, at, [&] { emit(KOp::Continue, at); }), pc + 1;
        if (*to <= pc || *to > hi || !is_conditional(w))
            throw CannotWrite{"control flow the kernel writer cannot follow (line " + std::to_string(at.line) + ")"};
        // if/else: the branch skips [pc + 1, to); a jump at to - 1 over [to, join) makes that the else part.
        std::uint32_t then_end = *to, join = *to;
        if (*to - 1 > pc) {
            const std::uint32_t j = *to - 1;
            const std::optional<std::uint32_t> over = target(j);
            if (over && !is_conditional(m_.code[j]) && *over > *to && *over <= hi && over != scope.break_to &&
                over != scope.continue_to)
                then_end = j, join = *over;
        }
        // The then part runs when the branch is NOT taken, the else part when it is.
        const Condition c = condition(w, false, at);
        const bool has_else = join != *to;
        emit(KOp::If, at, c.reg);
        if (!c.opposite) {  // c: not taken
            body(pc + 1, then_end, scope);
            if (has_else) emit(KOp::Else, at), body(*to, join, scope);
        } else {  // c: taken
            if (has_else) body(*to, join, scope);
            emit(KOp::Else, at);
            body(pc + 1, then_end, scope);
        }
        emit(KOp::End, at);
        return join;
    }

    // A word with no label: the kernel op of the same mnemonic (wide kernels
    // mean what procedure opcodes mean), or a memory op on its buffer.
    void translate(std::uint32_t pc) {
        const Word w = m_.code[pc];
        const Op op = static_cast<Op>(word_op(w));
        const OpInfo& info = op_info(op);
        const SourceLoc at = loc(pc);
        if (op == Op::Nop) return;
        if (op == Op::Liw) {
            const std::uint32_t p = constant_param({LoopArg::Kind::IntConst, word_field(w, Field::Imm)}, false);
            check_slots();
            return emit(KOp::Ldp, at, word_a(w), static_cast<std::uint8_t>(p));
        }
        if (op == Op::Lif) {
            const std::uint32_t k = word_field(w, Field::Imm);
            const double v = m_.float_consts.at(k);
            const float narrow = static_cast<float>(v);
            if (std::bit_cast<std::uint64_t>(static_cast<double>(narrow)) == std::bit_cast<std::uint64_t>(v))
                return emit(KOp::Lif, at, word_a(w), 0, 0, std::bit_cast<std::int32_t>(narrow));
            const std::uint32_t p = constant_param({LoopArg::Kind::FloatConst, k}, true);
            check_slots();
            return emit(KOp::Ldpf, at, word_a(w), static_cast<std::uint8_t>(p));
        }
        if (info.elem) {  // ld.T rA, g[rB] / st.T g[rB], rA: the same fields, the parameter in C
            const bool is_float = *info.elem == ElemType::F32 || *info.elem == ElemType::F64;
            const bool store = (info.effects & effect::Store) != 0;
            const KOp kop = store ? (is_float ? KOp::Stf : KOp::St) : (is_float ? KOp::Ldf : KOp::Ld);
            return emit(kop, at, word_a(w), word_b(w), static_cast<std::uint8_t>(region_param_[word_c(w)]));
        }
        if (op == Op::Len) return emit(KOp::Blen, at, word_a(w), static_cast<std::uint8_t>(region_param_[word_b(w)]));
        const std::optional<KOp> kop = find_kop(info.mnemonic);
        if (!kop || kop_info(*kop).format != info.format)
            throw CannotWrite{std::string(info.mnemonic) + " has no kernel form"};
        out_.kernel.code.push_back(with_op(w, static_cast<std::uint8_t>(*kop)));
        out_.kernel.lines.push_back(at);
    }
};

}  // namespace

std::variant<WrittenKernel, std::string> write_loop_kernel(const Module& m, const LoopPlan& plan, std::string name) {
    try {
        return Writer(m, plan).write(std::move(name));
    } catch (const CannotWrite& e) {
        return e.why;
    }
}

}  // namespace polymer::loops
