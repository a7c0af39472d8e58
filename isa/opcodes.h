// The procedure opcodes and the kernel opcodes, expanded from isa/opcodes.def
// and isa/kernel_ops.def. Look-ups by mnemonic live in opcodes.cpp.
//
// An opcode's number is its Number column, not its row's position: rows stay
// grouped by class while a new row takes the next free number. So kOps and
// kKernelOps are indexed by number (256 entries; a number without a row has an
// empty mnemonic), and kAllOps / kAllKOps list the opcodes in row order.
#pragma once

#include <array>
#include <cstddef>
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
#define OP(name, number, ...) name = number,
#include "isa/opcodes.def"
#undef OP
};

enum class KOp : std::uint8_t {
#define KOP(name, number, ...) name = number,
#include "isa/kernel_ops.def"
#undef KOP
};

struct OpInfo {
    std::string_view mnemonic;  // empty: no opcode has this number
    Format format;
    OpClass cls;
    std::uint8_t writes;   // bit i set: operand i (syntax order) is written
    std::uint8_t effects;  // effect:: flags
    std::string_view semantics;
    std::string_view example;
};

struct KOpInfo {
    std::string_view mnemonic;  // empty: no kernel opcode has this number
    Format format;
    std::uint8_t writes;
    std::string_view semantics;
    std::string_view example;
};

namespace detail {

// One row of a table as written; the tables below lay the rows out by number.
template <class Code, class Info>
struct Row {
    Code code;
    Info info;
};

inline constexpr Row<Op, OpInfo> kOpRows[] = {
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
#define OP(name, number, mn, fmt, cls, writes, eff, sem, ex) \
    {Op::name, {mn, Format::fmt, OpClass::cls, writes, static_cast<std::uint8_t>(eff), sem, ex}},
#include "isa/opcodes.def"
#undef OP
};

inline constexpr Row<KOp, KOpInfo> kKernelOpRows[] = {
#define KOP(name, number, mn, fmt, writes, sem, ex) {KOp::name, {mn, Format::fmt, writes, sem, ex}},
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

template <class Code, class Info, std::size_t N>
constexpr std::array<Info, 256> by_number(const Row<Code, Info> (&rows)[N]) {
    std::array<Info, 256> table{};
    for (const Row<Code, Info>& row : rows) table[static_cast<std::size_t>(row.code)] = row.info;
    return table;
}

template <class Code, class Info, std::size_t N>
constexpr std::array<Code, N> codes_in_row_order(const Row<Code, Info> (&rows)[N]) {
    std::array<Code, N> codes{};
    for (std::size_t i = 0; i < N; ++i) codes[i] = rows[i].code;
    return codes;
}

// The row index of the first row that repeats an earlier row's number (or
// mnemonic), or N when every one is unique. The static_asserts below compare
// this with N, so a failure shows the offending row's index.
template <class Code, class Info, std::size_t N>
constexpr std::size_t first_repeated_number(const Row<Code, Info> (&rows)[N]) {
    for (std::size_t i = 0; i < N; ++i)
        for (std::size_t j = 0; j < i; ++j)
            if (rows[j].code == rows[i].code) return i;
    return N;
}

template <class Code, class Info, std::size_t N>
constexpr std::size_t first_repeated_or_empty_mnemonic(const Row<Code, Info> (&rows)[N]) {
    for (std::size_t i = 0; i < N; ++i) {
        if (rows[i].info.mnemonic.empty()) return i;  // an empty one would read as "no such opcode"
        for (std::size_t j = 0; j < i; ++j)
            if (rows[j].info.mnemonic == rows[i].info.mnemonic) return i;
    }
    return N;
}

}  // namespace detail

inline constexpr std::size_t kOpCount = std::size(detail::kOpRows);  // rows, not the highest number
inline constexpr std::size_t kKernelOpCount = std::size(detail::kKernelOpRows);

static_assert(detail::first_repeated_number(detail::kOpRows) == kOpCount,
              "two rows of isa/opcodes.def have the same Number (the second's row index is shown)");
static_assert(detail::first_repeated_or_empty_mnemonic(detail::kOpRows) == kOpCount,
              "a row of isa/opcodes.def repeats a mnemonic or has none");
static_assert(detail::first_repeated_number(detail::kKernelOpRows) == kKernelOpCount,
              "two rows of isa/kernel_ops.def have the same Number (the second's row index is shown)");
static_assert(detail::first_repeated_or_empty_mnemonic(detail::kKernelOpRows) == kKernelOpCount,
              "a row of isa/kernel_ops.def repeats a mnemonic or has none");

// Indexed by opcode number.
inline constexpr std::array<OpInfo, 256> kOps = detail::by_number(detail::kOpRows);
inline constexpr std::array<KOpInfo, 256> kKernelOps = detail::by_number(detail::kKernelOpRows);

// Every opcode, in row order (grouped by class, as the .def files list them).
inline constexpr std::array<Op, kOpCount> kAllOps = detail::codes_in_row_order(detail::kOpRows);
inline constexpr std::array<KOp, kKernelOpCount> kAllKOps = detail::codes_in_row_order(detail::kKernelOpRows);

constexpr const OpInfo& op_info(Op op) { return kOps[static_cast<std::size_t>(op)]; }
constexpr const KOpInfo& kop_info(KOp op) { return kKernelOps[static_cast<std::size_t>(op)]; }
constexpr bool is_valid_op(std::uint8_t byte) { return !kOps[byte].mnemonic.empty(); }
constexpr bool is_valid_kop(std::uint8_t byte) { return !kKernelOps[byte].mnemonic.empty(); }
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
