// The random program generators take their mnemonics from the opcode tables:
// every row of a class and operand format, so a new opcode joins the random
// programs (procedures and kernels) the day its row is added.
#pragma once

#include <string>
#include <vector>

#include "isa/opcodes.h"

namespace polymer::test {

// Mnemonics of the procedure opcodes of class `cls` and operand format `format`,
// in table order; those with effect flag `without` (e.g. effect::Trap) left out.
inline std::vector<std::string> mnemonics(OpClass cls, Format format, std::uint8_t without = 0) {
    std::vector<std::string> out;
    for (Op op : kAllOps) {
        const OpInfo& info = op_info(op);
        if (info.cls == cls && info.format == format && (info.effects & without) == 0) out.emplace_back(info.mnemonic);
    }
    return out;
}

// Mnemonics of the pure kernel ops (isa/kernel_ops.def) of operand format
// `format`, in table order. The format says which are integer ops: RRR, RR,
// RRI and RI read and write integer registers only.
inline std::vector<std::string> kernel_mnemonics(Format format) {
    std::vector<std::string> out;
    for (KOp op : kAllKOps)
        if (kop_effect(op) == KEffect::Pure && kop_info(op).format == format) out.emplace_back(kop_info(op).mnemonic);
    return out;
}

}  // namespace polymer::test
