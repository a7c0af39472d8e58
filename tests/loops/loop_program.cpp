#include "loop_program.h"

#include <algorithm>
#include <map>
#include <random>
#include <sstream>

#include "isa/formats.h"
#include "isa/module.h"

namespace polymer::test {
namespace {

// Register plan. r1 is the induction register and r2 the bound; r3..r6 hold
// indices and r7..r14, f1..f8 per-iteration values; r15..r17 and f11..f13
// are reduction registers; r18 and f15 carry a value between iterations when
// a loop is meant to (and then must stay scalar); r19..r21, f9, f10 are
// loop invariants (r21 is the divisor that is zero when a loop is meant to
// trap); r22 is the iteration at which a rarely taken branch is taken; f14
// takes the exact values a `.reassociate` float reduction adds.
constexpr int kInduction = 1, kBound = 2, kFirstIndex = 3, kIndexRegs = 4, kFirstTemp = 7, kTemps = 8;
constexpr int kFirstReduction = 15, kReductions = 3, kCarried = 18, kDivisor = 21, kRare = 22;
constexpr int kFirstFloatTemp = 1, kFloatTemps = 8, kFirstFloatReduction = 11, kExactValue = 14, kCarriedFloat = 15;
constexpr int kInvariants[] = {19, 20};
constexpr int kFloatInvariants[] = {9, 10};

// The element types a wide kernel takes, one region of each; and `gexact`,
// f64 values whose sums are exact in any order, read (never written) by the
// float reductions of a `.reassociate` procedure.
constexpr ElemType kTypes[] = {ElemType::I32, ElemType::U32, ElemType::I64, ElemType::F32, ElemType::F64};
constexpr int kExactRegion = 5;

std::string region_name(int r) { return r == kExactRegion ? "gexact" : "g" + std::string(elem_type_name(kTypes[r])); }

// What a reduction register accumulates, as the opcode the loop writes.
Op reduction_opcode(ReduceOp r) {
    switch (r) {
    case ReduceOp::Add: return Op::Add;
    case ReduceOp::Min: return Op::Min;
    case ReduceOp::Max: return Op::Max;
    case ReduceOp::Fadd:
    case ReduceOp::FaddAnyOrder: return Op::Fadd;
    case ReduceOp::Fmin: return Op::Fmin;
    case ReduceOp::Fmax: return Op::Fmax;
    case ReduceOp::Last:
    case ReduceOp::LastMask: break;  // not accumulations: the generator never picks them
    }
    return Op::Add;
}

// An index affine in i: scale * i + offset.
struct Affine {
    int scale = 1;
    std::int64_t offset = 0;
};

// The ops the generator draws from, read from the table by class, format and effect.
struct OpPools {
    std::map<Format, std::vector<Op>> int_ops, float_ops;  // kernel ops of class Scalar / Float, by format
    std::vector<Op> no_kernel_form;  // Scalar and Float rows a loop kernel cannot contain
    std::vector<Op> branches;        // two-way branches (Control rows with a label and registers)
    std::vector<Op> outside;         // rows a loop kernel never contains: output, calls, waits, vector reductions
    std::vector<Op> pushes, pops;    // the value stack
    std::map<ElemType, Op> loads, stores;

    explicit OpPools(const KernelOpFilter& kernel_can_run) {
        for (Op op : kAllOps) {
            const OpInfo& info = op_info(op);
            const FormatInfo& f = format_info(info.format);
            const bool has_label = f.count > 0 && f.operands[f.count - 1].kind == OperandKind::Label;
            switch (info.cls) {
            case OpClass::Scalar:
            case OpClass::Float:
                if (info.effects & ~effect::Trap) break;
                if (!kernel_can_run(op)) no_kernel_form.push_back(op);
                else (info.cls == OpClass::Scalar ? int_ops : float_ops)[info.format].push_back(op);
                break;
            case OpClass::Control:
                if (has_label && f.count > 1) branches.push_back(op);
                else if (f.count == 1 && f.operands[0].kind == OperandKind::Proc) outside.push_back(op);
                break;
            case OpClass::IO:  // output only: no input, nothing that traps
                if (info.writes == 0 && (info.effects & effect::Trap) == 0) outside.push_back(op);
                break;
            case OpClass::Sync:
                if (f.count == 0) outside.push_back(op);
                break;
            case OpClass::Vector:  // a whole-region reduction into a register
                if (info.writes == 1 && f.count == 2 && f.operands[1].kind == OperandKind::Region &&
                    f.operands[0].kind != OperandKind::Region)
                    outside.push_back(op);
                break;
            case OpClass::Stack: (info.writes ? pops : pushes).push_back(op); break;
            case OpClass::Memory:
                if (info.elem && info.effects & effect::Load) loads[*info.elem] = op;
                if (info.elem && info.effects & effect::Store) stores[*info.elem] = op;
                break;
            case OpClass::Kernel:
            case OpClass::Procs: break;  // a loop that talks to procedures stays scalar
            }
        }
    }
};

class Generator {
public:
    Generator(std::uint64_t seed, const KernelOpFilter& kernel_can_run) : rng_(seed), ops_(kernel_can_run) {}

    LoopProgram program() {
        length_ = pick(2200, 2800);
        reassociate_ = pick(0, 3) == 0;
        line(".module loops");
        for (int r = 0; r <= kExactRegion; ++r) region(r);
        line(".proc helper");
        line("        addi    r23, r23, 1");
        line("        ret");
        line(".end");
        line(".proc main");
        if (reassociate_) line("        .reassociate");
        const int loops = pick(3, 5);
        const bool trap_last = pick(0, 2) == 0;
        for (int k = 0; k < loops; ++k) loop(trap_last && k == loops - 1);
        finish();
        return std::move(out_);
    }

private:
    int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
    bool chance(int percent) { return pick(0, 99) < percent; }
    template <class T>
    const T& one_of(const std::vector<T>& v) { return v[static_cast<std::size_t>(pick(0, static_cast<int>(v.size()) - 1))]; }

    void line(const std::string& s) {
        out_.source += s + "\n";
        ++lines_;
    }
    void emit(const std::string& s) { body_->push_back(s); }
    std::string label(const char* stem) { return stem + std::to_string(labels_++); }

    void region(int r) {
        const ElemType t = r == kExactRegion ? ElemType::F64 : kTypes[r];
        std::ostringstream s;
        s << ".region " << region_name(r) << " " << elem_type_name(t) << "[] = ";
        for (int i = 0; i < length_; ++i) {
            if (i) s << ", ";
            if (r == kExactRegion) s << pick(1, 400) * (chance(50) ? 1 : -1) << "." << (pick(0, 7) * 125);
            else if (t == ElemType::I32) s << (chance(3) ? (chance(50) ? -2147483647 - 1 : 2147483647) : pick(-1000, 1000));
            else if (t == ElemType::U32) s << (chance(3) ? 4294967295u : static_cast<unsigned>(pick(0, 5000)));
            else if (t == ElemType::I64) s << (chance(3) ? std::int64_t{1} << 62 : std::int64_t{pick(-1000000, 1000000)});
            else s << pick(-800, 800) / 8.0;
        }
        line(s.str());
        out_.regions.push_back(region_name(r));
    }

    // ---- operands ----------------------------------------------------------

    static std::uint32_t bit(int r) { return 1u << r; }
    int defined_int() { return pick_from(idef_); }
    int defined_float() { return pick_from(fdef_); }
    int pick_from(std::uint32_t set) {
        std::vector<int> regs;
        for (int r = 0; r < 32; ++r)
            if (set & bit(r)) regs.push_back(r);
        return one_of(regs);
    }
    int int_temp() { return kFirstTemp + pick(0, kTemps - 1); }
    int float_temp() { return kFirstFloatTemp + pick(0, kFloatTemps - 1); }
    void write_int(int r) { idef_ |= bit(r), iwritten_ |= bit(r); }
    void write_float(int r) { fdef_ |= bit(r), fwritten_ |= bit(r); }

    // `op` with its operands made from their kinds: written registers are
    // temporaries, read ones hold a value of this iteration (or an
    // invariant); a trapping op's last integer operand is `divisor`.
    std::string instruction(Op op, int divisor = -1, int dst_int = -1, int dst_float = -1, const std::string& target = "") {
        const OpInfo& info = op_info(op);
        const FormatInfo& f = format_info(info.format);
        int last_int = -1;
        for (std::size_t k = 0; k < f.count; ++k)
            if (f.operands[k].kind == OperandKind::IntReg && !((info.writes >> k) & 1u)) last_int = static_cast<int>(k);
        std::string text = "        " + std::string(info.mnemonic);
        std::vector<int> int_writes, float_writes;
        for (std::size_t k = 0; k < f.count; ++k) {
            text += k == 0 ? " " : ", ";
            const bool written = (info.writes >> k) & 1u;
            switch (f.operands[k].kind) {
            case OperandKind::IntReg: {
                int r = written ? (dst_int >= 0 ? dst_int : int_temp()) : defined_int();
                if (!written && static_cast<int>(k) == last_int && divisor >= 0) r = divisor;
                if (written) int_writes.push_back(r);
                text += "r" + std::to_string(r);
                break;
            }
            case OperandKind::FloatReg: {
                const int r = written ? (dst_float >= 0 ? dst_float : float_temp()) : defined_float();
                if (written) float_writes.push_back(r);
                text += "f" + std::to_string(r);
                break;
            }
            case OperandKind::Imm: text += std::to_string(pick(0, 63)); break;  // 0..63 suits every op, shifts too
            case OperandKind::Digits: text += std::to_string(pick(0, 6)); break;
            case OperandKind::IntConst: text += std::to_string((std::int64_t{pick(1, 1 << 20)} << 33) - pick(0, 99)); break;
            case OperandKind::FloatConst: text += std::to_string(pick(-4000, 4000) / 16.0); break;
            case OperandKind::String: text += "\"<" + std::to_string(labels_) + ">\""; break;
            case OperandKind::Proc: text += "helper"; break;
            case OperandKind::Label: text += target; break;
            case OperandKind::Region: {  // a vector reduction's region: of the kind its rule asks
                const bool want_float = info.vector.kind == VectorKind::Float;
                int r = 0;
                do r = pick(0, 4);
                while (is_float(kTypes[r]) != want_float && info.vector.kind != VectorKind::Any);
                text += region_name(r);
                break;
            }
            default: text += "?"; break;  // no row drawn here has another kind
            }
        }
        // Written after its operands are read (`add r7, r7, r8` reads r7 first).
        for (int r : int_writes) write_int(r);
        for (int r : float_writes) write_float(r);
        return text;
    }

    // ---- indices, loads and stores ------------------------------------------

    // The index register for `a` (r1 itself for i + 0).
    std::string index(Affine a, const std::string& offset_text = "") {
        if (a.scale == 1 && a.offset == 0 && offset_text.empty()) return "r1";
        const int t = kFirstIndex + pick(0, kIndexRegs - 1);
        const std::string rt = "r" + std::to_string(t);
        if (a.scale == 2) {
            const int how = pick(0, 2);
            emit(how == 0 ? "        shli    " + rt + ", r1, 1"
                          : how == 1 ? "        muli    " + rt + ", r1, 2" : "        add     " + rt + ", r1, r1");
            if (!offset_text.empty() || a.offset != 0)
                emit("        addi    " + rt + ", " + rt + ", " + (offset_text.empty() ? std::to_string(a.offset) : offset_text));
        } else {
            emit("        addi    " + rt + ", r1, " + (offset_text.empty() ? std::to_string(a.offset) : offset_text));
        }
        write_int(t);
        if (offset_text.empty()) used_.push_back(a);
        return rt;
    }

    Affine some_affine() { return {pick(1, max_scale_), pick(-2, 6)}; }

    // The function a region is accessed with in this loop: its write
    // function if the loop writes it (so one iteration touches one element).
    Affine access_of(int r) {
        auto it = writes_.find(r);
        return it != writes_.end() ? it->second : some_affine();
    }

    void load(int r, int dst = -1) {
        const ElemType t = kTypes[r];
        const std::string idx = index(access_of(r));
        const int d = dst >= 0 ? dst : is_float(t) ? float_temp() : int_temp();
        emit("        " + std::string(op_info(ops_.loads.at(t)).mnemonic) + " " + (is_float(t) ? "f" : "r") +
             std::to_string(d) + ", " + region_name(r) + "[" + idx + "]");
        if (is_float(t)) write_float(d);
        else write_int(d);
    }

    void store(int r, int value = -1) {
        const ElemType t = kTypes[r];
        const std::string idx = index(writes_.at(r));
        const int v = value >= 0 ? value : is_float(t) ? defined_float() : defined_int();
        emit("        " + std::string(op_info(ops_.stores.at(t)).mnemonic) + " " + region_name(r) + "[" + idx + "], " +
             (is_float(t) ? "f" : "r") + std::to_string(v));
    }

    // ---- statements ---------------------------------------------------------

    void arithmetic(bool integer) {
        std::vector<Op> ops;
        for (const auto& [format, of_format] : integer ? ops_.int_ops : ops_.float_ops)
            ops.insert(ops.end(), of_format.begin(), of_format.end());
        const Op op = one_of(ops);
        int divisor = -1;
        if (has_effect(op, effect::Trap)) {  // integer division: by an invariant, known not to be zero
            divisor = kInvariants[pick(0, 1)];
            if (divide_by_zero_ && !divided_) divisor = kDivisor, divided_ = true, trap_site_depth_ = depth_;
            else if (chance(10)) {  // by a value of this iteration, made odd: never zero, but not invariant
                const int t = int_temp();
                emit("        ori     r" + std::to_string(t) + ", r" + std::to_string(defined_int()) + ", 1");
                write_int(t);
                divisor = t;
                note(LoopExpect::Scalar, "a divisor that is not loop-invariant");
            }
        }
        emit(instruction(op, divisor));
    }

    void statements(int count) {
        for (int k = 0; k < count; ++k) {
            const int roll = pick(0, 99);
            if (roll < 20) load(pick(0, 4));
            else if (roll < 45) arithmetic(true);
            else if (roll < 65) arithmetic(false);
            else if (roll < 80 && !writes_.empty()) {
                std::vector<int> written;
                for (const auto& [r, a] : writes_) written.push_back(r);
                store(one_of(written));
            } else if (roll < 90 && depth_ < 2) diamond();
            else arithmetic(true);
        }
    }

    // if/else on a branch drawn from the table. Registers one arm writes and
    // the other does not are first given a value before the branch (else the
    // loop's last iteration might leave an older value than the scalar loop),
    // unless the loop is one where either outcome is right.
    void diamond() {
        const Op branch = one_of(ops_.branches);
        const std::string otherwise = label("else"), join = label("join");
        const bool has_else = chance(70);
        const std::uint32_t idef0 = idef_, fdef0 = fdef_, iw0 = iwritten_, fw0 = fwritten_;
        std::vector<std::string>* outer = body_;
        std::vector<std::string> then_arm, else_arm;
        ++depth_;
        iwritten_ = fwritten_ = 0;
        body_ = &then_arm;
        statements(pick(1, 3));
        const std::uint32_t then_i = iwritten_, then_f = fwritten_;
        idef_ = idef0, fdef_ = fdef0, iwritten_ = fwritten_ = 0;
        body_ = &else_arm;
        if (has_else) statements(pick(1, 3));
        const std::uint32_t else_i = iwritten_, else_f = fwritten_;
        --depth_;
        body_ = outer;
        // Given a value before the branch: what only one arm writes.
        const std::uint32_t one_i = then_i ^ else_i, one_f = then_f ^ else_f;
        const bool fill = chance(85);
        if (fill) {
            for (int r = 0; r < 32; ++r) {
                if (one_i & bit(r)) emit("        li      r" + std::to_string(r) + ", " + std::to_string(pick(-9, 9)));
                if (one_f & bit(r)) emit("        lif     f" + std::to_string(r) + ", " + std::to_string(pick(-9, 9)) + ".5");
            }
        } else if (one_i | one_f) {
            note(LoopExpect::Any, "a register only one arm of an if writes");
        }
        // The branch reads values of this iteration (the arms' writes are not yet made).
        idef_ = idef0, fdef_ = fdef0;
        emit(instruction(branch, -1, -1, -1, otherwise));
        for (auto& s : then_arm) emit(s);
        if (has_else) emit("        jmp     " + join);
        emit(otherwise + ":");
        for (auto& s : else_arm) emit(s);
        if (has_else) emit(join + ":");
        idef_ = idef0 | (then_i & else_i) | (fill ? one_i : 0);
        fdef_ = fdef0 | (then_f & else_f) | (fill ? one_f : 0);
        iwritten_ = iw0 | then_i | else_i;
        fwritten_ = fw0 | then_f | else_f;
    }

    void note(LoopExpect e, const std::string& what) {
        // Scalar wins over Any, Any over Kernel.
        if (e == LoopExpect::Scalar || (e == LoopExpect::Any && expect_ == LoopExpect::Kernel)) expect_ = e;
        what_ += (what_.empty() ? "" : "; ") + what;
    }

    void reduction() {
        static constexpr ReduceOp kInt[] = {ReduceOp::Add, ReduceOp::Min, ReduceOp::Max};
        static constexpr ReduceOp kFloat[] = {ReduceOp::Fadd, ReduceOp::Fmin, ReduceOp::Fmax};
        const int k = pick(0, kReductions - 1);
        if (chance(70)) {
            const int acc = kFirstReduction + k;
            const Op op = reduction_opcode(kInt[pick(0, 2)]);
            pre_.push_back("        li      r" + std::to_string(acc) + ", " + std::to_string(pick(-50, 50)));
            emit("        " + std::string(op_info(op).mnemonic) + "     r" + std::to_string(acc) + ", r" +
                 std::to_string(acc) + ", r" + std::to_string(defined_int()));
            note(LoopExpect::Kernel, std::string("reduction ") + std::string(op_info(op).mnemonic));
            return;
        }
        const int acc = kFirstFloatReduction + k;
        const Op op = reduction_opcode(kFloat[pick(0, 2)]);
        pre_.push_back("        lif     f" + std::to_string(acc) + ", " + std::to_string(pick(-50, 50)) + ".25");
        if (reassociate_) {  // exact values: any order of the adds gives the same sum
            const std::string idx = index(some_affine());
            emit("        ld.f64  f" + std::to_string(kExactValue) + ", gexact[" + idx + "]");
            emit("        " + std::string(op_info(op).mnemonic) + "    f" + std::to_string(acc) + ", f" +
                 std::to_string(acc) + ", f" + std::to_string(kExactValue));
            note(LoopExpect::Kernel, std::string("float reduction ") + std::string(op_info(op).mnemonic) + " (.reassociate)");
        } else {
            emit("        " + std::string(op_info(op).mnemonic) + "    f" + std::to_string(acc) + ", f" +
                 std::to_string(acc) + ", f" + std::to_string(defined_float()));
            // One fadd per iteration is exact as a kernel (kloop adds the lanes'
            // values in iteration order); fmin/fmax need .reassociate.
            if (op == Op::Fadd) note(LoopExpect::Any, "a float fadd reduction without .reassociate");
            else note(LoopExpect::Scalar, "a float fmin/fmax reduction without .reassociate");
        }
    }

    // A value carried from one iteration to the next (a running sum that is
    // also stored): the loop must stay scalar.
    void carried() {
        std::vector<int> ints, floats;
        for (const auto& [r, a] : writes_) (is_float(kTypes[r]) ? floats : ints).push_back(r);
        if (!floats.empty() && (ints.empty() || chance(40))) {
            pre_.push_back("        lif     f" + std::to_string(kCarriedFloat) + ", 0.5");
            fdef_ |= bit(kCarriedFloat);
            const Op op = one_of(ops_.float_ops.at(Format::FFF));
            emit("        " + std::string(op_info(op).mnemonic) + " f15, f15, f" + std::to_string(defined_float()));
            store(one_of(floats), kCarriedFloat);
            note(LoopExpect::Scalar, "f15 carries a value between iterations");
        } else if (!ints.empty()) {
            pre_.push_back("        li      r" + std::to_string(kCarried) + ", 3");
            idef_ |= bit(kCarried);
            std::vector<Op> ops;
            for (Op op : ops_.int_ops.at(Format::RRR))
                if (!has_effect(op, effect::Trap)) ops.push_back(op);
            emit("        " + std::string(op_info(one_of(ops)).mnemonic) + " r18, r18, r" + std::to_string(defined_int()));
            store(one_of(ints), kCarried);
            note(LoopExpect::Scalar, "r18 carries a value between iterations");
        }
    }

    // A region element one iteration writes and another reads: a[i] from
    // a[i - step] (or a[i + step]).
    void cross_iteration() {
        std::vector<int> written;
        for (const auto& [r, a] : writes_) written.push_back(r);
        if (written.empty()) return;
        const int r = one_of(written);
        const Affine w = writes_.at(r);
        const Affine other{w.scale, w.offset + static_cast<std::int64_t>(w.scale) * step_ * (chance(50) ? 1 : -1)};
        const ElemType t = kTypes[r];
        const std::string idx = index(other);
        const int v = is_float(t) ? float_temp() : int_temp();
        emit("        " + std::string(op_info(ops_.loads.at(t)).mnemonic) + " " + (is_float(t) ? "f" : "r") +
             std::to_string(v) + ", " + region_name(r) + "[" + idx + "]");
        if (is_float(t)) write_float(v);
        else write_int(v);
        store(r, v);
        note(LoopExpect::Scalar, region_name(r) + " elements pass between iterations");
    }

    // Something a loop kernel cannot contain, from the table.
    void outside_op() {
        const int what = pick(0, 2);
        if (what == 0 && !ops_.no_kernel_form.empty()) {  // an op with no form in a wide kernel
            const Op op = one_of(ops_.no_kernel_form);
            emit(instruction(op));
            note(LoopExpect::Scalar, std::string("`") + std::string(op_info(op).mnemonic) + "`");
            return;
        }
        // Output, a call, a wait, a vector op or the value stack, in a branch
        // taken at one iteration (r22).
        const std::string skip = label("rare");
        emit("        bne     r1, r22, " + skip);
        std::string name;
        if (what == 1 && !ops_.pushes.empty()) {
            const Op push = one_of(ops_.pushes);
            const Format f = op_info(push).format;
            for (Op pop : ops_.pops)
                if (op_info(pop).format == f) {
                    emit(instruction(push));
                    emit(instruction(pop));
                    name = std::string(op_info(push).mnemonic) + "/" + std::string(op_info(pop).mnemonic);
                    break;
                }
        }
        if (name.empty()) {
            const Op op = one_of(ops_.outside);
            emit(instruction(op));
            name = op_info(op).mnemonic;
        }
        emit(skip + ":");
        note(LoopExpect::Scalar, "`" + name + "` in a branch");
    }

    // ---- a loop -------------------------------------------------------------

    void loop(bool trapping) {
        // The plan: step, index scale, what it writes, what it holds.
        step_ = chance(80) ? 1 : chance(50) ? -1 : chance(70) ? 2 : 3;
        max_scale_ = std::abs(step_) == 1 && chance(30) ? 2 : 1;
        writes_.clear();
        used_.clear();
        pre_.clear();
        expect_ = LoopExpect::Kernel;
        what_.clear();
        idef_ = bit(kInduction) | bit(kBound) | bit(kInvariants[0]) | bit(kInvariants[1]);
        fdef_ = bit(kFloatInvariants[0]) | bit(kFloatInvariants[1]);
        iwritten_ = fwritten_ = 0;
        divide_by_zero_ = false;
        divided_ = false;
        trap_site_depth_ = -1;
        for (int r = 0; r < 5; ++r)
            if (chance(35)) writes_[r] = some_affine();
        if (writes_.empty()) writes_[pick(0, 4)] = some_affine();

        enum class Trap { None, High, Zero } trap = Trap::None;
        if (trapping) trap = chance(60) ? Trap::High : Trap::Zero;
        divide_by_zero_ = trap == Trap::Zero;

        std::vector<std::string> body;
        body_ = &body;
        const int extra = pick(0, 13);
        statements(pick(2, 5));
        if (extra < 4) reduction();
        statements(pick(0, 3));
        for (const auto& [r, a] : writes_) store(r);  // each written region at least once, unconditionally
        if (extra == 4) carried();
        if (extra == 5) cross_iteration();
        if (extra == 6) outside_op();
        if (trap == Trap::Zero && !divided_) {
            emit(instruction(one_of(trapping_ops()), kDivisor));
            divided_ = true, trap_site_depth_ = 0;
        }
        std::string trap_region;
        int trap_scale = 1;
        if (trap == Trap::High) {  // an access whose index leaves the region at one iteration
            const int r = pick(0, 4);
            trap_scale = pick(1, max_scale_);
            trap_region = region_name(r);
            const std::string idx = index({trap_scale, 0}, "@TRAP@");
            const ElemType t = kTypes[r];
            emit("        " + std::string(op_info(ops_.loads.at(t)).mnemonic) + " " + (is_float(t) ? "f" : "r") +
                 std::to_string(is_float(t) ? float_temp() : int_temp()) + ", " + trap_region + "[" + idx + "]");
        }
        if (trapping) {
            note(LoopExpect::Any, trap == Trap::High ? "an index out of range" : "a division by a zero invariant");
            out_.trap = trap == Trap::High ? "out-of-bounds" : "division-by-zero";
            out_.trap_may_not_fire = trap == Trap::Zero && trap_site_depth_ > 0;
        }

        // The iteration range: every index in [0, length).
        std::int64_t lo = 0, hi = length_ - 1;
        for (const Affine& a : used_) {
            lo = std::max(lo, (-a.offset + a.scale - 1) / a.scale);
            hi = std::min(hi, (length_ - 1 - a.offset) / a.scale);
        }
        lo += pick(0, 3);
        hi -= pick(0, 3);
        if (chance(10)) hi = std::min(hi, lo + pick(0, 300));  // too few iterations to be worth a launch
        const std::int64_t span = std::abs(step_);
        const std::int64_t n = (hi - lo) / span + 1;
        const std::int64_t first = step_ > 0 ? lo : hi, last = first + (n - 1) * step_;
        if (trap == Trap::High) {  // out of range first at iteration k
            const std::int64_t k = n < 2 || chance(30) ? 0 : chance(30) ? n - 1 : pick(1, static_cast<int>(n) - 1);
            const std::int64_t at = first + k * step_;
            const std::int64_t offset = step_ > 0 ? length_ - trap_scale * at : -1 - trap_scale * at;
            for (std::string& s : body)
                if (auto p = s.find("@TRAP@"); p != std::string::npos) s.replace(p, 6, std::to_string(offset));
        }

        // Before the loop: invariants, reductions' first values, r22.
        line("        ; loop " + std::to_string(out_.loops.size() + 1) + ": i = " + std::to_string(first) + ", " +
             std::to_string(first + step_) + ", ... " + std::to_string(last) + " (" + std::to_string(n) + " iterations)");
        for (int r : kInvariants) line("        li      r" + std::to_string(r) + ", " + std::to_string(pick(1, 9) * (chance(50) ? 1 : -1)));
        line("        li      r" + std::to_string(kDivisor) + ", " + (divide_by_zero_ ? "0" : std::to_string(pick(1, 9))));
        for (int r : kFloatInvariants) line("        lif     f" + std::to_string(r) + ", " + std::to_string(pick(-9, 9)) + ".75");
        line("        li      r" + std::to_string(kRare) + ", " + std::to_string(first + (n / 2) * step_));
        for (const std::string& s : pre_) line(s);
        shape(first, last, n, body);
        out_.loops.back().expect = expect_;
        out_.loops.back().what = what_.empty() ? "plain" : what_;
    }

    std::vector<Op> trapping_ops() {
        std::vector<Op> ops;
        for (Op op : ops_.int_ops.at(Format::RRR))
            if (has_effect(op, effect::Trap)) ops.push_back(op);
        return ops;
    }

    // The loop's header, body, step and back edge, in one of the shapes a
    // user writes: tested first or last, the bound set by li or from len.
    void shape(std::int64_t first, std::int64_t last, std::int64_t n, const std::vector<std::string>& body) {
        const std::string top = label("loop"), done = label("done");
        const int span = std::abs(step_);
        const int form = pick(0, 9);
        std::int64_t bound = 0;
        std::string test;
        const bool bottom = form >= 6;
        if (step_ < 0) {
            bound = last - pick(0, span - 1);
            test = bottom ? "        bge     r1, r2, " + top : "        blt     r1, r2, " + done;
        } else if (form == 0 || form == 6) {  // exact bound, tested for equality
            bound = first + n * step_;
            test = bottom ? "        bne     r1, r2, " + top : "        beq     r1, r2, " + done;
        } else if (form == 1) {  // while i <= bound
            bound = last + pick(0, span - 1);
            test = "        blt     r2, r1, " + done;
        } else {
            bound = last + 1 + pick(0, span - 1);
            const bool unsigned_test = form == 2 || form == 7;
            test = bottom ? std::string(unsigned_test ? "        bltu    " : "        blt     ") + "r1, r2, " + top
                          : std::string(unsigned_test ? "        bgeu    " : "        bge     ") + "r1, r2, " + done;
        }
        line("        li      r1, " + std::to_string(first));
        if (chance(30)) {
            line("        len     r2, " + region_name(pick(0, 4)));
            line("        addi    r2, r2, " + std::to_string(bound - length_));
        } else {
            line("        li      r2, " + std::to_string(bound));
        }
        PlannedLoop planned;
        planned.first_line = lines_ + 1;
        if (!bottom) {
            line(top + ":");
            line(test);
        } else {
            line(top + ":");
        }
        for (const std::string& s : body) line(s);
        line("        addi    r1, r1, " + std::to_string(step_));
        line(bottom ? test : "        jmp     " + top);
        planned.last_line = lines_;
        if (!bottom) line(done + ":");
        out_.loops.push_back(planned);
    }

    // Print what the loops left: the reductions and every region.
    void finish() {
        line("        prints  \"reductions:\"");
        for (int k = 0; k < kReductions; ++k) {
            line("        prints  \" \"");
            line("        print   r" + std::to_string(kFirstReduction + k));
        }
        for (int k = 0; k < kReductions; ++k) {
            line("        prints  \" \"");
            line("        printf  f" + std::to_string(kFirstFloatReduction + k));
        }
        line("        println");
        line("        len     r4, gexact");
        line("        print   r4");
        line("        println");
        line("        li      r3, 0");
        for (int r = 0; r < 5; ++r) {
            line("        len     r4, " + region_name(r));
            line("        printr  " + region_name(r) + ", r3, r4");
            line("        println");
        }
        line("        halt");
        line(".end");
    }

    std::mt19937_64 rng_;
    OpPools ops_;
    LoopProgram out_;
    int lines_ = 0, labels_ = 0, length_ = 0, depth_ = 0, step_ = 1, max_scale_ = 1;
    bool reassociate_ = false, divide_by_zero_ = false, divided_ = false;
    int trap_site_depth_ = -1;
    std::uint32_t idef_ = 0, fdef_ = 0, iwritten_ = 0, fwritten_ = 0;
    std::map<int, Affine> writes_;
    std::vector<Affine> used_;
    std::vector<std::string> pre_;
    std::vector<std::string>* body_ = nullptr;
    LoopExpect expect_ = LoopExpect::Kernel;
    std::string what_;
};

}  // namespace

LoopProgram random_loop_program(std::uint64_t seed, const KernelOpFilter& kernel_can_run) {
    return Generator(seed, kernel_can_run).program();
}

}  // namespace polymer::test
