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
#include <string>
#include <string_view>

#include "isa/elem_type.h"
#include "isa/formats.h"

namespace polymer {

enum class OpClass : std::uint8_t { Scalar, Float, Memory, Control, Stack, IO, Vector, Kernel, Sync, Procs };

// Effect flags of an opcode (see the header of isa/opcodes.def).
namespace effect {
inline constexpr std::uint16_t None = 0;
inline constexpr std::uint16_t Trap = 1u << 0;   // may trap
inline constexpr std::uint16_t IO = 1u << 1;     // user-visible input or output, kept in program order
inline constexpr std::uint16_t Stack = 1u << 2;  // reads and writes the value stack
inline constexpr std::uint16_t Ctrl = 1u << 3;   // may change the pc
inline constexpr std::uint16_t Long = 1u << 4;   // a long operation run by a backend
inline constexpr std::uint16_t Sync = 1u << 5;   // waits for or orders long operations
inline constexpr std::uint16_t Alloc = 1u << 6;  // replaces a region's storage
inline constexpr std::uint16_t Load = 1u << 7;   // reads one element of a region (ld.T)
inline constexpr std::uint16_t Store = 1u << 8;  // writes one element of a region (st.T)
inline constexpr std::uint16_t Proc = 1u << 9;   // talks to other procedures, may wait for them (spawn, join, send, recv, barrier)
}  // namespace effect

// A vector op's operands are named by slot: slot i is the operand in field A,
// B, C or imm (i = 0..3). For every vector format that is also the operand's
// position in the syntax and its VectorOpArgs member (dst, a, b, c); the
// static_asserts below check it.
inline constexpr std::size_t kVectorSlots = 4;
constexpr std::uint8_t slot_bit(std::size_t slot) { return static_cast<std::uint8_t>(1u << slot); }
constexpr Field slot_field(std::size_t slot) {
    constexpr Field kFields[kVectorSlots] = {Field::A, Field::B, Field::C, Field::Imm};
    return kFields[slot];
}

// A vector op's rule from the Regions column: V(types, kind, lengths).
enum class VectorKind : std::uint8_t { Any, Int, Float };
struct VectorRule {
    std::uint8_t same_type = 0;    // slot bits: these regions share one element type...
    VectorKind kind = VectorKind::Any;  // ...of this kind
    std::uint8_t same_length = 0;  // slot bits: these regions share one length
};

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
    std::optional<ElemType> elem;  // ld.T / st.T: T, the type of the `region[rB]` operand
    VectorRule vector;             // vector ops: their operand rule (same_type is 0 for the rest)
    bool text = false;             // args, readln: the whole-region operand is a u8 region
    std::uint8_t writes;    // bit i set: operand i (syntax order) is written
    std::uint16_t effects;  // effect:: flags
    std::string_view semantics;
    std::string_view example;
};

// The Effect column of isa/kernel_ops.def: what a kernel op does beyond
// reading and writing its registers. Code that decides by effect switches
// over this enum, so a new effect is flagged (-Wswitch) wherever it matters.
enum class KEffect : std::uint8_t {
    Pure,     // nothing else
    Uniform,  // reads the uniform P[B]
    Length,   // reads the length of buffer P[B]
    Load,     // reads buffer element P[C][R[B]]
    Store,    // writes buffer element P[C][R[B]]
    Atomic,   // reads and writes P[C][R[B]] in one atomic step
    // Structured control flow.
    If, Else, Loop, End, Break, Continue, Exit,
};

// The Wide column of isa/kernel_ops.def: the op in a wide kernel.
struct WideUse {
    bool available = true;
    std::string_view note;  // available: how it differs on 64-bit lanes ("" = not at all); else why not
};

struct KOpInfo {
    std::string_view mnemonic;  // empty: no kernel opcode has this number
    Format format;
    std::uint8_t writes;
    KEffect effect;
    std::string_view semantics;
    std::string_view example;
    WideUse wide;
};

namespace detail {

// One cell of the Regions column. The cells are spelled as names in this
// namespace (`_`, `u8`, ..., V(...)), which OP() prefixes with it.
struct RegionsCell {
    std::optional<ElemType> elem;
    VectorRule vector;
    bool text = false;
};

// "ABC" -> the bits of slots 0, 1, 2; "_" -> none. Any other letter stops
// the compilation (a throw is not a constant expression).
constexpr std::uint8_t slot_bits(std::string_view fields) {
    std::uint8_t bits = 0;
    for (char c : fields) {
        if (c == '_') continue;
        const std::string_view kLetters = "ABCI";
        const std::size_t slot = kLetters.find(c);
        if (slot == std::string_view::npos) throw "a V(...) field must be A, B, C or I";
        bits |= slot_bit(slot);
    }
    return bits;
}

// The cells of the Wide column, spelled as names in this namespace.
namespace wide_column {
inline constexpr WideUse Same{true, ""};
constexpr WideUse As(std::string_view note) { return {true, note}; }
constexpr WideUse No(std::string_view why) { return {false, why}; }
}  // namespace wide_column

namespace regions_column {
inline constexpr RegionsCell _{};
inline constexpr RegionsCell u8{ElemType::U8, {}};
inline constexpr RegionsCell i32{ElemType::I32, {}};
inline constexpr RegionsCell u32{ElemType::U32, {}};
inline constexpr RegionsCell i64{ElemType::I64, {}};
inline constexpr RegionsCell f32{ElemType::F32, {}};
inline constexpr RegionsCell f64{ElemType::F64, {}};
inline constexpr RegionsCell text{std::nullopt, {}, true};
constexpr RegionsCell vector(std::string_view types, VectorKind kind, std::string_view lengths) {
    return {std::nullopt, VectorRule{slot_bits(types), kind, slot_bits(lengths)}};
}
}  // namespace regions_column

constexpr OpInfo make_op_info(std::string_view mnemonic, Format format, OpClass cls, RegionsCell regions,
                              std::uint8_t writes, std::uint16_t effects, std::string_view semantics,
                              std::string_view example) {
    return {mnemonic, format, cls, regions.elem, regions.vector, regions.text, writes, effects, semantics, example};
}

// One row of a table as written; the tables below lay the rows out by number.
template <class Code, class Info>
struct Row {
    Code code;
    Info info;
};

inline constexpr Row<Op, OpInfo> kOpRows[] = {
#define W_ 0
#define W0 1
#define W1 2
#define E_ effect::None
#define E_TRAP effect::Trap
#define E_IO effect::IO
#define E_STACK effect::Stack
#define E_CTRL effect::Ctrl
#define E_LONG effect::Long
#define E_SYNC effect::Sync
#define E_ALLOC effect::Alloc
#define E_LOAD effect::Load
#define E_STORE effect::Store
#define E_PROC effect::Proc
#define V(types, kind, lengths) vector(#types, VectorKind::kind, #lengths)
#define OP(name, number, mn, fmt, cls, regions, writes, eff, sem, ex)                                         \
    {Op::name, make_op_info(mn, Format::fmt, OpClass::cls, regions_column::regions, writes,                \
                            static_cast<std::uint16_t>(eff), sem, ex)},
#include "isa/opcodes.def"
#undef OP
#undef V
};

inline constexpr Row<KOp, KOpInfo> kKernelOpRows[] = {
#define KOP(name, number, mn, fmt, writes, eff, sem, ex, wide) \
    {KOp::name, {mn, Format::fmt, writes, KEffect::eff, sem, ex, wide_column::wide}},
#include "isa/kernel_ops.def"
#undef KOP
#undef W_
#undef W0
#undef W1
#undef E_
#undef E_TRAP
#undef E_IO
#undef E_STACK
#undef E_CTRL
#undef E_LONG
#undef E_SYNC
#undef E_ALLOC
#undef E_LOAD
#undef E_STORE
#undef E_PROC
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
constexpr bool has_effect(Op op, std::uint16_t flags) { return (op_info(op).effects & flags) != 0; }
// Whether one of the opcode's operands is of this kind. An opcode with a
// LoopSite operand (kloop) is written by the assembler in front of a loop it
// turns into a kernel, never by hand (docs/loop-kernels.md).
constexpr bool has_operand_kind(Op op, OperandKind kind) {
    const FormatInfo& f = format_info(op_info(op).format);
    for (std::size_t k = 0; k < f.count; ++k)
        if (f.operands[k].kind == kind) return true;
    return false;
}
constexpr KEffect kop_effect(KOp op) { return kop_info(op).effect; }
// A kernel shift by an immediate: the assembler and the verifier keep imm in
// 0..31 (a lane is 32 bits; a wide lane 64: 0..63), as the rows of
// isa/kernel_ops.def say.
constexpr bool is_kernel_shift_immediate(KOp op) { return op == KOp::Shli || op == KOp::Shri || op == KOp::Sari; }
inline constexpr std::int32_t kKernelShiftMax = 31;
inline constexpr std::int32_t kWideKernelShiftMax = 63;
constexpr std::int32_t kernel_shift_max(bool wide) { return wide ? kWideKernelShiftMax : kKernelShiftMax; }

// Whether a wide kernel may use `op` (the Wide column); when not, the
// column's note says why.
constexpr bool available_in_wide_kernels(KOp op) { return kop_info(op).wide.available; }

// Whether the register operand of a load, store, atomic or uniform read is a
// float register (ldf, stf, ldpf), from the format.
constexpr bool kop_moves_float(KOp op) {
    const FormatInfo& f = format_info(kop_info(op).format);
    for (std::size_t k = 0; k < f.count; ++k)
        if (f.operands[k].kind == OperandKind::FloatReg) return true;
    return false;
}

// The parameter types a load, store, atomic (`param[rB]`) or uniform read
// (`param`) may name, in a narrow or a wide kernel: an integer register goes
// with i32/u32 buffers and i32 uniforms, a float one with f32; a wide kernel
// adds i64 and f64 (docs/kernels.md, "Wide kernels"), except for atadd,
// which stays on i32/u32 (the Wide column: no 64-bit atomics on every device).
constexpr bool kop_takes_param_type(KOp op, ElemType t, bool wide) {
    const bool is_wide_type = t == ElemType::I64 || t == ElemType::F64;
    if (is_wide_type && (!wide || kop_effect(op) == KEffect::Atomic)) return false;
    if (kop_moves_float(op)) return t == ElemType::F32 || t == ElemType::F64;
    if (kop_effect(op) == KEffect::Uniform) return t == ElemType::I32 || t == ElemType::I64;
    return t == ElemType::I32 || t == ElemType::U32 || t == ElemType::I64;
}

// Facts of a kernel op's effect, each written as a switch that names every
// effect, so that a new one must be placed in all of them.
constexpr bool reads_buffer(KEffect e) {
    switch (e) {
    case KEffect::Load: case KEffect::Atomic: return true;
    case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Store: case KEffect::If:
    case KEffect::Else: case KEffect::Loop: case KEffect::End: case KEffect::Break: case KEffect::Continue:
    case KEffect::Exit: return false;
    }
    return false;
}

constexpr bool writes_buffer(KEffect e) {
    switch (e) {
    case KEffect::Store: case KEffect::Atomic: return true;
    case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Load: case KEffect::If:
    case KEffect::Else: case KEffect::Loop: case KEffect::End: case KEffect::Break: case KEffect::Continue:
    case KEffect::Exit: return false;
    }
    return false;
}

// The code after it is one level deeper (if, else, loop) ...
constexpr bool opens_block(KEffect e) {
    switch (e) {
    case KEffect::If: case KEffect::Else: case KEffect::Loop: return true;
    case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Load: case KEffect::Store:
    case KEffect::Atomic: case KEffect::End: case KEffect::Break: case KEffect::Continue: case KEffect::Exit:
        return false;
    }
    return false;
}

// ... or it ends the innermost block (else, end): else does both.
constexpr bool closes_block(KEffect e) {
    switch (e) {
    case KEffect::Else: case KEffect::End: return true;
    case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Load: case KEffect::Store:
    case KEffect::Atomic: case KEffect::If: case KEffect::Loop: case KEffect::Break: case KEffect::Continue:
    case KEffect::Exit: return false;
    }
    return false;
}

// ld.T / st.T (the opcodes with a `region[rB]` operand): T, from the Regions
// column. nullopt for every other opcode.
constexpr std::optional<ElemType> element_access_type(Op op) {
    return op_info(op).text ? std::optional<ElemType>(ElemType::U8) : op_info(op).elem;
}

// The field of the first region operand (`region` or `region[rB]`) of `op`'s
// format: the only one of ld.T, st.T, len, rgn, alloc, free and printr.
constexpr Field first_region_field(Op op) {
    const FormatInfo& f = format_info(op_info(op).format);
    for (std::size_t k = 0; k < f.count; ++k)
        if (f.operands[k].kind == OperandKind::Region || f.operands[k].kind == OperandKind::Mem)
            return f.operands[k].field;
    return Field::None;
}

namespace detail {

// The Regions column and the load/store flags agree with the formats. Each
// returns the row index of the first row that breaks its rule, or the row
// count; the static_asserts below name the rule.
constexpr std::size_t first_bad_element_row() {
    for (std::size_t i = 0; i < kOpCount; ++i) {
        const OpInfo& op = kOpRows[i].info;
        const FormatInfo& f = format_info(op.format);
        bool has_mem = false, mem_written = false;
        for (std::size_t k = 0; k < f.count; ++k)
            if (f.operands[k].kind == OperandKind::Mem) has_mem = true, mem_written = (op.writes >> k) & 1u;
        const bool load = op.effects & effect::Load, store = op.effects & effect::Store;
        if (op.elem.has_value() != has_mem) return i;  // a T exactly for the `region[rB]` opcodes
        if (load != (has_mem && !mem_written) || store != (has_mem && mem_written)) return i;
    }
    return kOpCount;
}

constexpr std::size_t first_bad_vector_row() {
    for (std::size_t i = 0; i < kOpCount; ++i) {
        const OpInfo& op = kOpRows[i].info;
        const bool is_vector = op.cls == OpClass::Vector;
        if (is_vector != (op.vector.same_type != 0)) return i;  // V(...) exactly on the vector rows
        if (!is_vector) {
            if (op.vector.same_length != 0 || op.vector.kind != VectorKind::Any) return i;
            continue;
        }
        const FormatInfo& f = format_info(op.format);
        std::uint8_t regions = 0;
        for (std::size_t k = 0; k < f.count; ++k) {
            if (f.operands[k].field != slot_field(k)) return i;  // position k must be slot k
            if (f.operands[k].kind == OperandKind::Region) regions |= slot_bit(k);
        }
        if ((op.vector.same_type | op.vector.same_length) & ~regions) return i;  // rules name regions only
    }
    return kOpCount;
}

// `text` only on rows with a whole-region operand (whose region must be u8).
constexpr std::size_t first_bad_text_row() {
    for (std::size_t i = 0; i < kOpCount; ++i) {
        const OpInfo& op = kOpRows[i].info;
        if (!op.text) continue;
        const FormatInfo& f = format_info(op.format);
        bool region = false;
        for (std::size_t k = 0; k < f.count; ++k) region = region || f.operands[k].kind == OperandKind::Region;
        if (!region || op.cls == OpClass::Vector) return i;
    }
    return kOpCount;
}

// Buffer-element effects exactly on the ops with a `param[rB]` operand, and
// parameter effects on those with a whole `param` operand.
constexpr std::size_t first_bad_kernel_effect_row() {
    for (std::size_t i = 0; i < kKernelOpCount; ++i) {
        const KOpInfo& op = kKernelOpRows[i].info;
        const FormatInfo& f = format_info(op.format);
        bool element = false, parameter = false;
        for (std::size_t k = 0; k < f.count; ++k) {
            element = element || f.operands[k].kind == OperandKind::PMem;
            parameter = parameter || f.operands[k].kind == OperandKind::Param;
        }
        const KEffect e = op.effect;
        if (element != (e == KEffect::Load || e == KEffect::Store || e == KEffect::Atomic)) return i;
        if (parameter != (e == KEffect::Uniform || e == KEffect::Length)) return i;
    }
    return kKernelOpCount;
}

}  // namespace detail

static_assert(detail::first_bad_kernel_effect_row() == kKernelOpCount,
              "isa/kernel_ops.def: Load, Store and Atomic go with a `param[rB]` operand, Uniform and Length with a "
              "`param` operand (the row index is shown)");
static_assert(detail::first_bad_element_row() == kOpCount,
              "isa/opcodes.def: a row with a `region[rB]` operand needs its type T in Regions, and E_LOAD (T read) "
              "or E_STORE (T written); no other row may have either (the row index is shown)");
static_assert(detail::first_bad_text_row() == kOpCount,
              "isa/opcodes.def: `text` in Regions needs a whole-region operand on a row that is not a vector op (the "
              "row index is shown)");
static_assert(detail::first_bad_vector_row() == kOpCount,
              "isa/opcodes.def: every Vector row, and no other, needs V(types, kind, lengths) naming only its "
              "region operands, in a format whose operands are in field order A, B, C, imm (the row index is shown)");

std::optional<Op> find_op(std::string_view mnemonic);
std::optional<KOp> find_kop(std::string_view mnemonic);
std::string_view op_class_name(OpClass c);
// "i32, u32 or i64": the types kop_takes_param_type allows, for messages.
std::string kop_param_types_text(KOp op, bool wide);

}  // namespace polymer
