#include "isa/opcodes.h"

#include <algorithm>
#include <vector>

namespace polymer {

std::optional<Op> find_op(std::string_view mnemonic) {
    for (Op op : kAllOps)
        if (op_info(op).mnemonic == mnemonic) return op;
    return std::nullopt;
}

std::optional<KOp> find_kop(std::string_view mnemonic) {
    for (KOp op : kAllKOps)
        if (kop_info(op).mnemonic == mnemonic) return op;
    return std::nullopt;
}

std::string kop_param_types_text(KOp op, bool wide) {
    std::vector<std::string_view> names;
    for (std::uint8_t t = 0; t < kElemTypeCount; ++t)
        if (kop_takes_param_type(op, static_cast<ElemType>(t), wide)) names.push_back(elem_type_name(static_cast<ElemType>(t)));
    std::string out;
    for (std::size_t i = 0; i < names.size(); ++i)
        out += std::string(i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
    return out;
}

std::string_view op_class_name(OpClass c) {
    switch (c) {
    case OpClass::Scalar: return "scalar";
    case OpClass::Float: return "float";
    case OpClass::Memory: return "memory";
    case OpClass::Control: return "control";
    case OpClass::Stack: return "stack";
    case OpClass::IO: return "io";
    case OpClass::Vector: return "vector";
    case OpClass::Kernel: return "kernel";
    case OpClass::Sync: return "sync";
    case OpClass::Procs: return "procs";
    }
    return "?";
}

std::string_view operand_kind_name(OperandKind k) {
    switch (k) {
    case OperandKind::IntReg: return "integer register";
    case OperandKind::FloatReg: return "float register";
    case OperandKind::Imm: return "integer literal";
    case OperandKind::Digits: return "digit count";
    case OperandKind::IntConst: return "integer literal";
    case OperandKind::FloatConst: return "float literal";
    case OperandKind::F32Imm: return "float literal";
    case OperandKind::Label: return "label";
    case OperandKind::Proc: return "procedure";
    case OperandKind::String: return "string literal";
    case OperandKind::Region: return "region";
    case OperandKind::Param: return "kernel parameter";
    case OperandKind::LaunchSite: return "kernel launch";
    case OperandKind::LoopSite: return "loop kernel";
    case OperandKind::Channel: return "channel";
    case OperandKind::Barrier: return "barrier";
    case OperandKind::Mem: return "region element";
    case OperandKind::PMem: return "buffer element";
    }
    return "?";
}

}  // namespace polymer
