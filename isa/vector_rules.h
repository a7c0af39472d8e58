// The operand rules of the vector ops. They are written once, in the Regions
// column of isa/opcodes.def (V(types, kind, lengths)); the verifier, the
// assembler and the backends read them from here, and each words a broken
// rule in its own terms (region names, source positions, dst/a/b/c).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "isa/opcodes.h"

namespace polymer {

constexpr const VectorRule& vector_rule(Op op) { return op_info(op).vector; }

// The slots of `op` that hold regions (from its format).
constexpr std::uint8_t vector_region_slots(Op op) {
    const FormatInfo& f = format_info(op_info(op).format);
    std::uint8_t slots = 0;
    for (std::size_t k = 0; k < f.count; ++k)
        if (f.operands[k].kind == OperandKind::Region) slots |= slot_bit(k);
    return slots;
}

// Where a vector op's result goes: the region G[A], or (reductions) R[A] or F[A].
enum class VectorResult : std::uint8_t { Region, Int, Float };

constexpr VectorResult vector_result(Op op) {
    const OperandKind first = format_info(op_info(op).format).operands[0].kind;
    return first == OperandKind::IntReg     ? VectorResult::Int
           : first == OperandKind::FloatReg ? VectorResult::Float
                                            : VectorResult::Region;
}

// The vector ops alone, with their opcode numbers: a switch over VectorOp
// names every vector op, so -Wswitch points at each one a new op must join,
// while scalar opcodes stay out of it. The rows are picked by their Class.
#define POLYMER_VECTOR_ROW_Scalar(name, number)
#define POLYMER_VECTOR_ROW_Float(name, number)
#define POLYMER_VECTOR_ROW_Memory(name, number)
#define POLYMER_VECTOR_ROW_Control(name, number)
#define POLYMER_VECTOR_ROW_Stack(name, number)
#define POLYMER_VECTOR_ROW_IO(name, number)
#define POLYMER_VECTOR_ROW_Vector(name, number) name = number,
#define POLYMER_VECTOR_ROW_Kernel(name, number)
#define POLYMER_VECTOR_ROW_Sync(name, number)
#define POLYMER_VECTOR_ROW_Procs(name, number)
enum class VectorOp : std::uint8_t {
#define OP(name, number, mnemonic, format, cls, ...) POLYMER_VECTOR_ROW_##cls(name, number)
#include "isa/opcodes.def"
#undef OP
};
#undef POLYMER_VECTOR_ROW_Scalar
#undef POLYMER_VECTOR_ROW_Float
#undef POLYMER_VECTOR_ROW_Memory
#undef POLYMER_VECTOR_ROW_Control
#undef POLYMER_VECTOR_ROW_Stack
#undef POLYMER_VECTOR_ROW_IO
#undef POLYMER_VECTOR_ROW_Vector
#undef POLYMER_VECTOR_ROW_Kernel
#undef POLYMER_VECTOR_ROW_Sync
#undef POLYMER_VECTOR_ROW_Procs

constexpr std::optional<VectorOp> as_vector_op(Op op) {
    if (op_info(op).cls != OpClass::Vector) return std::nullopt;
    return static_cast<VectorOp>(op);  // the same number
}

// What breaks a vector op's type rule, in slots; the caller names them.
struct VectorTypeProblem {
    enum class What : std::uint8_t { None, NotInteger, NotFloat, Differs };
    What what = What::None;
    std::size_t slot = 0;       // the operand at fault
    std::size_t reference = 0;  // Differs: the group's first operand, whose type it does not have
};

// Checks the element types of a vector op's region operands against its
// rule: the first typed slot must be of the rule's kind, and every other
// typed slot must have its type. types[slot] is nullopt where the type is
// not known (that slot is skipped).
constexpr VectorTypeProblem find_vector_type_problem(const VectorRule& rule,
                                                     const std::array<std::optional<ElemType>, kVectorSlots>& types) {
    using What = VectorTypeProblem::What;
    std::optional<std::size_t> first;
    for (std::size_t slot = 0; slot < kVectorSlots; ++slot) {
        if (!(rule.same_type & slot_bit(slot)) || !types[slot]) continue;
        const ElemType t = *types[slot];
        if (!first) {
            first = slot;
            if (rule.kind == VectorKind::Int && is_float(t)) return {What::NotInteger, slot, slot};
            if (rule.kind == VectorKind::Float && !is_float(t)) return {What::NotFloat, slot, slot};
        } else if (t != *types[*first]) {
            return {What::Differs, slot, *first};
        }
    }
    return {};
}

}  // namespace polymer
