// Operand formats, expanded from isa/formats.def.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "isa/encoding.h"

namespace polymer {

enum class OperandKind : std::uint8_t {
    IntReg, FloatReg, Imm, Digits, IntConst, FloatConst, F32Imm, Label, Proc, String,
    Region, Param, LaunchSite, LoopSite, Channel, Barrier,
    Mem,   // region[rIndex]: `field` holds the region, `index_field` the register
    PMem,  // param[rIndex]:  `field` holds the parameter, `index_field` the register
};

struct OperandSpec {
    OperandKind kind = OperandKind::Imm;
    Field field = Field::None;
    Field index_field = Field::None;  // only for Mem and PMem
};

enum class Format : std::uint8_t {
#define FORMAT(name, ...) name,
#include "isa/formats.def"
#undef FORMAT
};

inline constexpr std::size_t kMaxOperands = 4;

// The largest Digits operand: decimals of printfd, the field width of printw.
inline constexpr std::int32_t kMaxDigits = 64;

struct FormatInfo {
    std::string_view name;
    std::string_view syntax;  // for docs and error messages: "rA, rB, imm"
    std::uint8_t count;
    std::array<OperandSpec, kMaxOperands> operands;
};

namespace detail {
constexpr OperandSpec opnd(OperandKind k, Field f) { return {k, f, Field::None}; }
constexpr OperandSpec mem(OperandKind k, Field f, Field index) { return {k, f, index}; }
template <class... Ops>
constexpr FormatInfo make_format(std::string_view name, std::string_view syntax, Ops... ops) {
    static_assert(sizeof...(Ops) <= kMaxOperands);
    return FormatInfo{name, syntax, static_cast<std::uint8_t>(sizeof...(Ops)), {ops...}};
}
}  // namespace detail

inline constexpr FormatInfo kFormats[] = {
#define OPND(kind, field) detail::opnd(OperandKind::kind, Field::field)
#define MEM(f, index) detail::mem(OperandKind::Mem, Field::f, Field::index)
#define PMEM(f, index) detail::mem(OperandKind::PMem, Field::f, Field::index)
#define FORMAT(name, syntax, ...) detail::make_format(#name, syntax __VA_OPT__(,) __VA_ARGS__),
#include "isa/formats.def"
#undef FORMAT
#undef PMEM
#undef MEM
#undef OPND
};

inline constexpr std::size_t kFormatCount = std::size(kFormats);

constexpr const FormatInfo& format_info(Format f) { return kFormats[static_cast<std::size_t>(f)]; }

std::string_view operand_kind_name(OperandKind k);

// "A", "B", "C", "imm": the field names docs and verifier messages use.
constexpr std::string_view field_name(Field f) {
    switch (f) {
    case Field::A: return "A";
    case Field::B: return "B";
    case Field::C: return "C";
    case Field::Imm: return "imm";
    case Field::None: return "-";
    }
    return "?";
}

}  // namespace polymer
