#include "vm/cpu_kernels/decoded_kernel.h"

#include <algorithm>
#include <array>

#include "isa/formats.h"
#include "isa/kernel_access.h"

namespace polymer {
namespace {

enum class RegClass : std::uint8_t { None, Int, Float };

// Which register class the op's field holds, read from the format table.
RegClass field_class(const FormatInfo& f, Field field) {
    for (std::size_t k = 0; k < f.count; ++k) {
        const OperandSpec& o = f.operands[k];
        if (o.field == field && o.kind == OperandKind::IntReg) return RegClass::Int;
        if (o.field == field && o.kind == OperandKind::FloatReg) return RegClass::Float;
        if (o.index_field == field && o.kind == OperandKind::PMem) return RegClass::Int;
    }
    return RegClass::None;
}

std::uint8_t raw_field(Word w, Field f) {
    switch (f) {
    case Field::A: return word_a(w) & 31;
    case Field::B: return word_b(w) & 31;
    case Field::C: return word_c(w) & 31;
    case Field::Imm: return static_cast<std::uint8_t>(word_imm(w) & 31);
    case Field::None: break;
    }
    return 0;
}

// The field an op writes (operand 0 when the table says it is written and it
// is a register), or Field::None (stores write memory, not registers).
Field written_field(KOp op) {
    const FormatInfo& f = format_info(kop_info(op).format);
    if ((kop_info(op).writes & 1) == 0 || f.count == 0) return Field::None;
    const OperandSpec& o = f.operands[0];
    return (o.kind == OperandKind::IntReg || o.kind == OperandKind::FloatReg) ? o.field : Field::None;
}

class RegisterRenamer {
public:
    std::uint8_t map(RegClass c, std::uint8_t raw) {
        auto& dense = c == RegClass::Int ? int_ : float_;
        auto& count = c == RegClass::Int ? int_count_ : float_count_;
        if (dense[raw] < 0) dense[raw] = static_cast<std::int16_t>(count++);
        return static_cast<std::uint8_t>(dense[raw]);
    }
    unsigned int_count() const { return int_count_; }
    unsigned float_count() const { return float_count_; }

private:
    std::array<std::int16_t, 32> int_ = filled(), float_ = filled();
    unsigned int_count_ = 0, float_count_ = 0;
    static std::array<std::int16_t, 32> filled() { std::array<std::int16_t, 32> a{}; a.fill(-1); return a; }
};

struct OpenConstruct {
    bool is_loop;
    std::uint32_t pc;       // the `if` or `loop`
    std::uint32_t else_pc;  // an if's `else`, or UINT32_MAX
    std::vector<std::uint32_t> exits;  // a loop's break/continue, patched at its `end`
};

// The pure ops (isa/kernel_ops.def) whose body in block_interpreter.cpp
// computes every lane through set_int/set_float, which can write into the
// next store's buffer instead of the register (BlockInsn::store_fuses). The
// rest may skip the write: mov and addi can keep the result as a sequence
// not yet made, gid too, and li, lif and count fill a register that may
// already hold the value.
bool can_fuse_store(KOp op) {
    if (kop_effect(op) != KEffect::Pure) return false;
    switch (op) {
    case KOp::Add: case KOp::Sub: case KOp::Mul: case KOp::Div: case KOp::Rem: case KOp::And: case KOp::Or:
    case KOp::Xor: case KOp::Shl: case KOp::Shr: case KOp::Sar: case KOp::Min: case KOp::Max: case KOp::Muli:
    case KOp::Eq: case KOp::Ne: case KOp::Lt: case KOp::Le: case KOp::Feq: case KOp::Flt: case KOp::Fle:
    case KOp::Ftoi: case KOp::Fadd: case KOp::Fsub: case KOp::Fmul: case KOp::Fdiv: case KOp::Fmin: case KOp::Fmax:
    case KOp::Fpow: case KOp::Ffma: case KOp::Fneg: case KOp::Fabs: case KOp::Fsqrt: case KOp::Ffloor: case KOp::Fsin:
    case KOp::Fcos: case KOp::Fexp: case KOp::Flog: case KOp::Itof: case KOp::Fmov: case KOp::Divu: case KOp::Remu:
    case KOp::Neg: case KOp::Not: case KOp::Andi: case KOp::Ori: case KOp::Xori: case KOp::Shli: case KOp::Shri:
    case KOp::Sari: case KOp::Ltu: case KOp::Leu:
        return true;
    case KOp::Nop: case KOp::Gid: case KOp::Count: case KOp::Li: case KOp::Lif: case KOp::Mov: case KOp::Addi:
        return false;
    // Not pure (returned above).
    case KOp::Ld: case KOp::Ldf: case KOp::St: case KOp::Stf: case KOp::AtAdd: case KOp::Ldp: case KOp::Ldpf:
    case KOp::Blen: case KOp::If: case KOp::Else: case KOp::Loop: case KOp::Break: case KOp::Continue: case KOp::End:
    case KOp::Exit:
        return false;
    }
    return false;
}

bool writes_float(KOp op) {
    const OperandSpec& o = format_info(kop_info(op).format).operands[0];
    return o.kind == OperandKind::FloatReg;
}

// Whether any instruction from `from` on reads dense register r of the class.
bool read_later(const DecodedKernel& k, std::size_t from, bool is_float, std::uint8_t r) {
    for (std::size_t pc = from; pc < k.code.size(); ++pc) {
        const BlockInsn& in = k.code[pc];
        const FormatInfo& f = format_info(kop_info(in.op).format);
        const bool writes = (kop_info(in.op).writes & 1) != 0;
        for (std::size_t j = 0; j < f.count; ++j) {
            const OperandSpec& o = f.operands[j];
            if (j == 0 && writes && (o.kind == OperandKind::IntReg || o.kind == OperandKind::FloatReg)) continue;
            const bool reads_it =
                ((o.kind == OperandKind::FloatReg) == is_float && (o.kind == OperandKind::FloatReg || o.kind == OperandKind::IntReg) &&
                 (o.field == Field::A ? in.a : o.field == Field::B ? in.b : o.field == Field::C ? in.c
                                                                        : static_cast<std::uint8_t>(in.imm)) == r) ||
                (!is_float && o.kind == OperandKind::PMem && in.b == r);
            if (reads_it) return true;
        }
    }
    return false;
}

void mark_fused_stores(DecodedKernel& k) {
    if (k.has_loop) return;  // a later iteration could read the register
    for (std::size_t pc = 0; pc + 1 < k.code.size(); ++pc) {
        BlockInsn& op = k.code[pc];
        const BlockInsn& st = k.code[pc + 1];
        if (!can_fuse_store(op.op)) continue;
        const bool is_float = writes_float(op.op);
        if (st.op != (is_float ? KOp::Stf : KOp::St) || st.a != op.a) continue;
        if (!is_float && st.b == op.a) continue;  // the store's index is the result itself
        op.store_fuses = !read_later(k, pc + 2, is_float, op.a);
    }
}

}  // namespace

DecodedKernel decode_kernel(const Kernel& kernel) {
    const std::vector<Word>& code = kernel.code;
    const std::vector<bool> checks = kernel_access_checks(kernel);
    DecodedKernel k;
    k.source = kernel;
    k.wide = kernel.wide;
    for (const KernelParam& p : kernel.params) {
        k.param_types.push_back(p.type);
        k.buffer_of_8_bytes = k.buffer_of_8_bytes || (p.kind == ParamKind::Buffer && elem_size(p.type) == 8);
    }
    k.code.reserve(code.size() + 4);
    RegisterRenamer regs;
    std::vector<OpenConstruct> open;
    std::array<bool, 32> int_defined{}, float_defined{};
    std::vector<bool> zero_int, zero_float;

    auto innermost_loop = [&]() -> int {
        for (int i = static_cast<int>(open.size()) - 1; i >= 0; --i)
            if (open[static_cast<std::size_t>(i)].is_loop) return i;
        return -1;
    };
    auto close = [&](std::uint32_t end_pc) {
        OpenConstruct& o = open.back();
        BlockInsn& head = k.code[o.pc];
        BlockInsn& end = k.code[end_pc];
        end.op = KOp::End;
        end.frame = head.frame;
        end.loop_frame = head.loop_frame;
        head.after = end_pc + 1;
        if (o.is_loop) {
            end.is_loop_end = true;
            end.target = o.pc;
            for (std::uint32_t x : o.exits) k.code[x].target = end_pc;
        } else if (o.else_pc != UINT32_MAX) {
            k.code[o.else_pc].target = end_pc;
        } else {
            head.target = end_pc;
        }
        open.pop_back();
    };

    for (const Word w : code) {
        const auto pc = static_cast<std::uint32_t>(k.code.size());
        BlockInsn& insn = k.code.emplace_back();
        if (!is_valid_kop(word_op(w))) continue;  // a nop; the verifier rejects these
        const KOp op = static_cast<KOp>(word_op(w));
        const FormatInfo& f = format_info(kop_info(op).format);
        insn.op = op;
        const Field written = written_field(op);
        // Operands: registers renamed (reads checked for "used before set" first).
        for (Field field : {Field::B, Field::C, Field::Imm, Field::A}) {
            const RegClass rc = field_class(f, field);
            if (rc == RegClass::None) continue;
            const std::uint8_t raw = raw_field(w, field);
            const std::uint8_t dense = regs.map(rc, raw);
            auto& defined = rc == RegClass::Int ? int_defined : float_defined;
            auto& zero = rc == RegClass::Int ? zero_int : zero_float;
            if (field != written && !defined[raw]) {
                if (zero.size() <= dense) zero.resize(dense + 1u, false);
                zero[dense] = true;
            }
            switch (field) {
            case Field::A: insn.a = dense; break;
            case Field::B: insn.b = dense; break;
            case Field::C: insn.c = dense; break;
            case Field::Imm: insn.imm = dense; break;
            case Field::None: break;
            }
        }
        // A write at nesting depth 0 happens before everything after it in
        // every lane that is still running.
        if (written != Field::None && open.empty()) {
            const RegClass rc = field_class(f, written);
            (rc == RegClass::Int ? int_defined : float_defined)[raw_field(w, written)] = true;
        }
        // Parameter numbers and immediates stay as they are.
        for (std::size_t j = 0; j < f.count; ++j) {
            const OperandSpec& o = f.operands[j];
            if (o.kind == OperandKind::Param || o.kind == OperandKind::PMem) {
                if (o.field == Field::B) insn.b = word_b(w);
                if (o.field == Field::C) insn.c = word_c(w);
                const std::uint8_t p = o.field == Field::B ? insn.b : insn.c;
                if (p < kernel.params.size()) insn.elem = kernel.params[p].type;
            }
            if (o.kind == OperandKind::Imm || o.kind == OperandKind::F32Imm) insn.imm = word_imm(w);
        }
        if (reads_buffer(kop_effect(op)) || writes_buffer(kop_effect(op))) {
            insn.checked = checks[pc];
            insn.element = insn.c < kernel.params.size() && kernel.params[insn.c].indexing == Indexing::Element;
            insn.window = insn.c < kernel.params.size() && kernel.params[insn.c].indexing == Indexing::Window;
        }
        if (writes_buffer(kop_effect(op)) &&
            std::find(k.stored_params.begin(), k.stored_params.end(), insn.c) == k.stored_params.end())
            k.stored_params.push_back(insn.c);
        // Structured control flow.
        const int loop = innermost_loop();
        const auto loop_frame = loop < 0 ? kNoLoop : static_cast<std::uint16_t>(loop);
        switch (kop_effect(op)) {
        case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Load: case KEffect::Store:
        case KEffect::Atomic:
            break;
        case KEffect::If:
        case KEffect::Loop:
            insn.frame = static_cast<std::uint16_t>(open.size());
            insn.loop_frame = loop_frame;
            open.push_back({kop_effect(op) == KEffect::Loop, pc, UINT32_MAX, {}});
            k.frames = std::max<unsigned>(k.frames, static_cast<unsigned>(open.size()));
            k.has_control_flow = true;
            k.has_loop = k.has_loop || open.back().is_loop;
            break;
        case KEffect::Else:
            if (open.empty() || open.back().is_loop || open.back().else_pc != UINT32_MAX) {
                insn.op = KOp::Nop;
                break;
            }
            open.back().else_pc = pc;
            k.code[open.back().pc].target = pc;
            insn.frame = k.code[open.back().pc].frame;
            break;
        case KEffect::Break:
        case KEffect::Continue:
            if (loop < 0) { insn.op = KOp::Nop; break; }
            insn.frame = static_cast<std::uint16_t>(loop);
            open[static_cast<std::size_t>(loop)].exits.push_back(pc);
            break;
        case KEffect::End:
            if (open.empty()) { insn.op = KOp::Nop; break; }
            close(pc);
            break;
        case KEffect::Exit: k.has_control_flow = true; break;
        }
    }
    while (!open.empty()) {
        k.code.emplace_back();
        close(static_cast<std::uint32_t>(k.code.size() - 1));
    }
    mark_fused_stores(k);
    k.int_regs = regs.int_count();
    k.float_regs = regs.float_count();
    for (std::size_t i = 0; i < zero_int.size(); ++i)
        if (zero_int[i]) k.zero_int.push_back(static_cast<std::uint8_t>(i));
    for (std::size_t i = 0; i < zero_float.size(); ++i)
        if (zero_float[i]) k.zero_float.push_back(static_cast<std::uint8_t>(i));
    return k;
}

}  // namespace polymer
