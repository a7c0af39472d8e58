// When the reorder engine runs each opcode's body, read from the opcode
// table's class and effect columns (isa/opcodes.def), never from lists of
// opcodes: a new opcode gets the right timing from its row.
#pragma once

#include "isa/formats.h"
#include "isa/opcodes.h"

namespace polymer::ooo {

enum class Timing : std::uint8_t {
    Early,     // as soon as its operands are ready; result kept in the entry until commit
    Long,      // started on a backend when ready, left in flight (vector ops, launch)
    Branch,    // a conditional branch: resolved when ready, or predicted (spec)
    AtIssue,   // jmp, call, ret, halt: they only steer fetch and the call stack
    AtCommit,  // visible effects: stores, output, the value stack, alloc/free, wait/fence,
               // procedures (a recv that must wait stays at the ROB's head)
};

// Does `op` write one element of a region (st.T)? Its written operand is a `region[rB]`.
constexpr bool stores_element(Op op) {
    const FormatInfo& f = format_info(op_info(op).format);
    for (std::size_t k = 0; k < f.count; ++k)
        if ((op_info(op).writes >> k) & 1u)
            if (f.operands[k].kind == OperandKind::Mem) return true;
    return false;
}

constexpr bool reads_int_register(Op op) {
    const FormatInfo& f = format_info(op_info(op).format);
    for (std::size_t k = 0; k < f.count; ++k)
        if (f.operands[k].kind == OperandKind::IntReg && !((op_info(op).writes >> k) & 1u)) return true;
    return false;
}

constexpr Timing timing_of(Op op) {
    const std::uint16_t e = op_info(op).effects;
    if (e & effect::Long) return Timing::Long;
    if (e & effect::Ctrl) return reads_int_register(op) ? Timing::Branch : Timing::AtIssue;
    if (e & (effect::IO | effect::Stack | effect::Alloc | effect::Sync | effect::Proc)) return Timing::AtCommit;
    if (stores_element(op)) return Timing::AtCommit;
    return Timing::Early;
}

// An entry keeps one result per register file (EarlyContext); an opcode that
// writes two registers of one file (readi) must run its body at commit,
// where it writes the machine itself.
constexpr bool fits_one_result_per_file(Op op) {
    const FormatInfo& f = format_info(op_info(op).format);
    unsigned ints = 0, floats = 0;
    for (std::size_t k = 0; k < f.count; ++k) {
        if (!((op_info(op).writes >> k) & 1u)) continue;
        ints += f.operands[k].kind == OperandKind::IntReg;
        floats += f.operands[k].kind == OperandKind::FloatReg;
    }
    return (ints <= 1 && floats <= 1) || timing_of(op) == Timing::AtCommit;
}
static_assert([] {
    for (Op op : kAllOps)
        if (!fits_one_result_per_file(op)) return false;
    return true;
}(), "isa/opcodes.def: a row that writes two registers of one file needs an at-commit effect (E_IO, E_STACK)");

}  // namespace polymer::ooo
