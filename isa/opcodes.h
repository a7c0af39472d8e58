// The procedure opcodes and the kernel opcodes, expanded from isa/opcodes.def
// and isa/kernel_ops.def. Look-ups by mnemonic live in opcodes.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "isa/elem_type.h"
#include "isa/formats.h"

namespace polymer {

enum class OpClass : std::uint8_t { Scalar, Float, Memory, Control, Stack, IO, Vector, Kernel, Sync };

// Effect flags of an opcode (see the header of isa/opcodes.def).
namespace effect {
inline constexpr std::uint8_t None = 0;
inline constexpr std::uint8_t Trap = 1u << 0;   // may trap
inline constexpr std::uint8_t IO = 1u << 1;     // user-visible output, kept in program order
inline constexpr std::uint8_t Stack = 1u << 2;  // reads and writes the value stack
inline constexpr std::uint8_t Ctrl = 1u << 3;   // may change the pc
inline constexpr std::uint8_t Long = 1u << 4;   // a long operation run by a backend
inline constexpr std::uint8_t Sync = 1u << 5;   // waits for or orders long operations
inline constexpr std::uint8_t Alloc = 1u << 6;  // replaces a region's storage
}  // namespace effect

enum class Op : std::uint8_t {
#define OP(name, ...) name,
#include "isa/opcodes.def"
#undef OP
};

enum class KOp : std::uint8_t {
#define KOP(name, ...) name,
#include "isa/kernel_ops.def"
#undef KOP
};

struct OpInfo {
    std::string_view mnemonic;
    Format format;
    OpClass cls;
    std::uint8_t writes;   // bit i set: operand i (syntax order) is written
    std::uint8_t effects;  // effect:: flags
    std::string_view semantics;
    std::string_view example;
};

struct KOpInfo {
    std::string_view mnemonic;
    Format format;
    std::uint8_t writes;
    std::string_view semantics;
    std::string_view example;
};

inline constexpr OpInfo kOps[] = {
#define W_ 0
#define W0 1
#define E_ effect::None
#define E_TRAP effect::Trap
#define E_IO effect::IO
#define E_STACK effect::Stack
#define E_CTRL effect::Ctrl
#define E_LONG effect::Long
#define E_SYNC effect::Sync
#define E_ALLOC effect::Alloc
#define OP(name, mn, fmt, cls, writes, eff, sem, ex) \
    {mn, Format::fmt, OpClass::cls, writes, static_cast<std::uint8_t>(eff), sem, ex},
#include "isa/opcodes.def"
#undef OP
};

inline constexpr KOpInfo kKernelOps[] = {
#define KOP(name, mn, fmt, writes, sem, ex) {mn, Format::fmt, writes, sem, ex},
#include "isa/kernel_ops.def"
#undef KOP
#undef W_
#undef W0
#undef E_
#undef E_TRAP
#undef E_IO
#undef E_STACK
#undef E_CTRL
#undef E_LONG
#undef E_SYNC
#undef E_ALLOC
};

inline constexpr std::size_t kOpCount = std::size(kOps);
inline constexpr std::size_t kKernelOpCount = std::size(kKernelOps);
static_assert(kOpCount <= 256 && kKernelOpCount <= 256, "an opcode is one byte");

constexpr const OpInfo& op_info(Op op) { return kOps[static_cast<std::size_t>(op)]; }
constexpr const KOpInfo& kop_info(KOp op) { return kKernelOps[static_cast<std::size_t>(op)]; }
constexpr bool is_valid_op(std::uint8_t byte) { return byte < kOpCount; }
constexpr bool is_valid_kop(std::uint8_t byte) { return byte < kKernelOpCount; }
constexpr bool has_effect(Op op, std::uint8_t flag) { return (op_info(op).effects & flag) != 0; }

// ld.T / st.T (the opcodes with a `region[rB]` operand): the element type
// the mnemonic's suffix names. nullopt for every other opcode.
constexpr std::optional<ElemType> element_access_type(Op op) {
    const FormatInfo& f = format_info(op_info(op).format);
    for (std::size_t k = 0; k < f.count; ++k) {
        if (f.operands[k].kind != OperandKind::Mem) continue;
        std::string_view mnemonic = op_info(op).mnemonic;
        std::size_t dot = mnemonic.find('.');
        if (dot == std::string_view::npos) return std::nullopt;
        return parse_elem_type(mnemonic.substr(dot + 1));
    }
    return std::nullopt;
}

std::optional<Op> find_op(std::string_view mnemonic);
std::optional<KOp> find_kop(std::string_view mnemonic);
std::string_view op_class_name(OpClass c);

}  // namespace polymer
