// The instruction word: every Polymer instruction, procedure or kernel, is one
// 64-bit little-endian word, so decoding is one load and a few shifts.
//
//   63                              32 31     24 23     16 15      8 7       0
//  +----------------------------------+---------+---------+---------+---------+
//  |         imm (32 bits, signed)    |    C    |    B    |    A    |   op    |
//  +----------------------------------+---------+---------+---------+---------+
//
// A, B and C name registers (r0..r31, f0..f31) or region operands (below); imm holds a
// small constant, a pool index, a jump target (absolute word index), a procedure,
// string or launch-site index. Which field means what is given per operand
// *format* (isa/formats.def), never by ad-hoc shifts elsewhere.
#pragma once

#include <cstdint>

namespace polymer {

using Word = std::uint64_t;

enum class Field : std::uint8_t { None, A, B, C, Imm };

constexpr std::uint8_t word_op(Word w) { return static_cast<std::uint8_t>(w); }
constexpr std::uint8_t word_a(Word w) { return static_cast<std::uint8_t>(w >> 8); }
constexpr std::uint8_t word_b(Word w) { return static_cast<std::uint8_t>(w >> 16); }
constexpr std::uint8_t word_c(Word w) { return static_cast<std::uint8_t>(w >> 24); }
constexpr std::int32_t word_imm(Word w) { return static_cast<std::int32_t>(static_cast<std::uint32_t>(w >> 32)); }

constexpr Word make_word(std::uint8_t op, std::uint8_t a = 0, std::uint8_t b = 0, std::uint8_t c = 0,
                         std::int32_t imm = 0) {
    return Word{op} | (Word{a} << 8) | (Word{b} << 16) | (Word{c} << 24) |
           (Word{static_cast<std::uint32_t>(imm)} << 32);
}

constexpr Word with_op(Word w, std::uint8_t v) { return (w & ~Word{0xFF}) | Word{v}; }
constexpr Word with_a(Word w, std::uint8_t v) { return (w & ~(Word{0xFF} << 8)) | (Word{v} << 8); }
constexpr Word with_b(Word w, std::uint8_t v) { return (w & ~(Word{0xFF} << 16)) | (Word{v} << 16); }
constexpr Word with_c(Word w, std::uint8_t v) { return (w & ~(Word{0xFF} << 24)) | (Word{v} << 24); }
constexpr Word with_imm(Word w, std::int32_t v) {
    return (w & 0xFFFFFFFFull) | (Word{static_cast<std::uint32_t>(v)} << 32);
}

// Reads one field of a word as an unsigned value (imm is returned as its bits).
constexpr std::uint32_t word_field(Word w, Field f) {
    switch (f) {
    case Field::A: return word_a(w);
    case Field::B: return word_b(w);
    case Field::C: return word_c(w);
    case Field::Imm: return static_cast<std::uint32_t>(w >> 32);
    case Field::None: return 0;
    }
    return 0;
}

constexpr Word with_field(Word w, Field f, std::uint32_t v) {
    switch (f) {
    case Field::A: return with_a(w, static_cast<std::uint8_t>(v));
    case Field::B: return with_b(w, static_cast<std::uint8_t>(v));
    case Field::C: return with_c(w, static_cast<std::uint8_t>(v));
    case Field::Imm: return with_imm(w, static_cast<std::int32_t>(v));
    case Field::None: return w;
    }
    return w;
}

// Architectural limits, checked by the assembler and the verifier.
inline constexpr unsigned kIntRegisters = 32;    // r0..r31, 64-bit two's complement
inline constexpr unsigned kFloatRegisters = 32;  // f0..f31, IEEE-754 binary64
inline constexpr unsigned kKernelIntRegisters = 32;    // kernel lanes: r0..r31, 32-bit
inline constexpr unsigned kKernelFloatRegisters = 32;  // kernel lanes: f0..f31, binary32

// A region operand is an 8-bit value (in A, B, C, imm, or a launch argument):
//
//   0 .. 223     region 0..223 of the module, named in the source (`xs`)
//   224 .. 255   a *handle operand* (`@r0` .. `@r31`): the region whose handle
//                is in that integer register when the instruction runs
//
// so every opcode that takes a region also takes a handle, with no twin.
inline constexpr unsigned kMaxRegions = 224;
inline constexpr unsigned kFirstHandleOperand = kMaxRegions;
static_assert(kFirstHandleOperand + kIntRegisters == 256, "handle operands fill the rest of the 8-bit field");
constexpr bool is_handle_operand(std::uint32_t v) { return v >= kFirstHandleOperand && v < 256; }
constexpr std::uint32_t handle_operand(unsigned int_reg) { return kFirstHandleOperand + int_reg; }
constexpr unsigned handle_register(std::uint32_t operand) { return operand - kFirstHandleOperand; }

// A region handle: the value `rgn rA, xs` puts in a register. The top 56
// bits are a fixed tag ("RGN" in hex: 0x52474E00000000..), the low 8 the
// region's index, so a plain integer used as a handle (a length, an index, 0)
// is caught, not taken for some region.
inline constexpr std::uint64_t kRegionHandleTag = 0x5247'4E00'0000'0000;
constexpr std::int64_t region_handle(std::uint32_t region) {
    return static_cast<std::int64_t>(kRegionHandleTag | (region & 0xFF));
}
// The region index `v` names, or -1 when v is not a handle. The caller
// checks the index against the module's regions.
constexpr std::int64_t region_of_handle(std::int64_t v) {
    const auto bits = static_cast<std::uint64_t>(v);
    return (bits & ~std::uint64_t{0xFF}) == kRegionHandleTag ? static_cast<std::int64_t>(bits & 0xFF) : -1;
}

}  // namespace polymer
