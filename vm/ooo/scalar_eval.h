// One scalar instruction evaluated on a register file, outside the dispatch
// loop: what the reorder-buffer engine does once an instruction's operands are
// ready. The values come from vm/scalar_semantics.h, as in the interpreter;
// this file only says which operands each opcode takes. `Regs` is any type
// with arrays `r` (int64) and `f` (double), e.g. a scratch file holding an
// entry's renamed operand values at their architectural indices.
#pragma once

#include <cmath>
#include <cstdint>

#include "vm/decoded_insn.h"
#include "vm/scalar_semantics.h"

namespace polymer::ooo {

// Can eval_scalar run `op` (integer, float, compare, conversion ops and len)?
constexpr bool is_scalar_op(Op op) {
    const OpClass c = op_info(op).cls;
    return c == OpClass::Scalar || c == OpClass::Float || op == Op::Len;
}

// Writes the destination of `d` into `regs`. Returns false (and writes
// nothing) for integer division by zero: the caller records the trap.
template <class Regs>
bool eval_scalar(const DecodedInsn& d, Regs& regs) {
    auto& r = regs.r;
    auto& f = regs.f;
    const std::int64_t imm = d.imm;
    using sem::u64;
    switch (d.op) {
    case Op::Nop: return true;
    case Op::Li: r[d.a] = imm; return true;
    case Op::Liw: r[d.a] = d.int_const; return true;
    case Op::Mov: r[d.a] = r[d.b]; return true;
    case Op::Add: r[d.a] = sem::add(r[d.b], r[d.c]); return true;
    case Op::Sub: r[d.a] = sem::sub(r[d.b], r[d.c]); return true;
    case Op::Mul: r[d.a] = sem::mul(r[d.b], r[d.c]); return true;
    case Op::Div: if (r[d.c] == 0) return false; r[d.a] = sem::div(r[d.b], r[d.c]); return true;
    case Op::Rem: if (r[d.c] == 0) return false; r[d.a] = sem::rem(r[d.b], r[d.c]); return true;
    case Op::Divu: if (r[d.c] == 0) return false; r[d.a] = sem::divu(r[d.b], r[d.c]); return true;
    case Op::Remu: if (r[d.c] == 0) return false; r[d.a] = sem::remu(r[d.b], r[d.c]); return true;
    case Op::And: r[d.a] = r[d.b] & r[d.c]; return true;
    case Op::Or: r[d.a] = r[d.b] | r[d.c]; return true;
    case Op::Xor: r[d.a] = r[d.b] ^ r[d.c]; return true;
    case Op::Shl: r[d.a] = sem::shl(r[d.b], r[d.c]); return true;
    case Op::Shr: r[d.a] = sem::shr(r[d.b], r[d.c]); return true;
    case Op::Sar: r[d.a] = sem::sar(r[d.b], r[d.c]); return true;
    case Op::Min: r[d.a] = sem::min(r[d.b], r[d.c]); return true;
    case Op::Max: r[d.a] = sem::max(r[d.b], r[d.c]); return true;
    case Op::Neg: r[d.a] = sem::neg(r[d.b]); return true;
    case Op::Not: r[d.a] = ~r[d.b]; return true;
    case Op::Addi: r[d.a] = sem::add(r[d.b], imm); return true;
    case Op::Muli: r[d.a] = sem::mul(r[d.b], imm); return true;
    case Op::Andi: r[d.a] = r[d.b] & imm; return true;
    case Op::Ori: r[d.a] = r[d.b] | imm; return true;
    case Op::Xori: r[d.a] = r[d.b] ^ imm; return true;
    case Op::Shli: r[d.a] = sem::shl(r[d.b], imm); return true;
    case Op::Shri: r[d.a] = sem::shr(r[d.b], imm); return true;
    case Op::Sari: r[d.a] = sem::sar(r[d.b], imm); return true;
    case Op::Eq: r[d.a] = r[d.b] == r[d.c]; return true;
    case Op::Ne: r[d.a] = r[d.b] != r[d.c]; return true;
    case Op::Lt: r[d.a] = r[d.b] < r[d.c]; return true;
    case Op::Le: r[d.a] = r[d.b] <= r[d.c]; return true;
    case Op::Ltu: r[d.a] = u64(r[d.b]) < u64(r[d.c]); return true;
    case Op::Leu: r[d.a] = u64(r[d.b]) <= u64(r[d.c]); return true;
    case Op::Lif: f[d.a] = d.float_const; return true;
    case Op::Fmov: f[d.a] = f[d.b]; return true;
    case Op::Fadd: f[d.a] = f[d.b] + f[d.c]; return true;
    case Op::Fsub: f[d.a] = f[d.b] - f[d.c]; return true;
    case Op::Fmul: f[d.a] = f[d.b] * f[d.c]; return true;
    case Op::Fdiv: f[d.a] = f[d.b] / f[d.c]; return true;
    case Op::Fmin: f[d.a] = sem::fmin(f[d.b], f[d.c]); return true;
    case Op::Fmax: f[d.a] = sem::fmax(f[d.b], f[d.c]); return true;
    case Op::Fpow: f[d.a] = std::pow(f[d.b], f[d.c]); return true;
    case Op::Fneg: f[d.a] = -f[d.b]; return true;
    case Op::Fabs: f[d.a] = std::fabs(f[d.b]); return true;
    case Op::Fsqrt: f[d.a] = std::sqrt(f[d.b]); return true;
    case Op::Ffloor: f[d.a] = std::floor(f[d.b]); return true;
    case Op::Fsin: f[d.a] = std::sin(f[d.b]); return true;
    case Op::Fcos: f[d.a] = std::cos(f[d.b]); return true;
    case Op::Fexp: f[d.a] = std::exp(f[d.b]); return true;
    case Op::Flog: f[d.a] = std::log(f[d.b]); return true;
    case Op::Feq: r[d.a] = f[d.b] == f[d.c]; return true;
    case Op::Flt: r[d.a] = f[d.b] < f[d.c]; return true;
    case Op::Fle: r[d.a] = f[d.b] <= f[d.c]; return true;
    case Op::Itof: f[d.a] = static_cast<double>(r[d.b]); return true;
    case Op::Ftoi: r[d.a] = sem::ftoi(f[d.b]); return true;
    case Op::Len: r[d.a] = static_cast<std::int64_t>(d.region->length); return true;
    default: return true;  // not a scalar op (is_scalar_op is false)
    }
}

// Whether conditional branch `d` is taken with these operand values (jmp: always).
template <class Regs>
bool branch_taken(const DecodedInsn& d, const Regs& regs) {
    const auto& r = regs.r;
    using sem::u64;
    switch (d.op) {
    case Op::Bz: return r[d.a] == 0;
    case Op::Bnz: return r[d.a] != 0;
    case Op::Beq: return r[d.a] == r[d.b];
    case Op::Bne: return r[d.a] != r[d.b];
    case Op::Blt: return r[d.a] < r[d.b];
    case Op::Bge: return r[d.a] >= r[d.b];
    case Op::Bltu: return u64(r[d.a]) < u64(r[d.b]);
    case Op::Bgeu: return u64(r[d.a]) >= u64(r[d.b]);
    default: return true;
    }
}

}  // namespace polymer::ooo
