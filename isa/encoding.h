// The instruction word: every Polymer instruction, procedure or kernel, is one
// 64-bit little-endian word, so decoding is one load and a few shifts.
//
//   63                              32 31     24 23     16 15      8 7       0
//  +----------------------------------+---------+---------+---------+---------+
//  |         imm (32 bits, signed)    |    C    |    B    |    A    |   op    |
//  +----------------------------------+---------+---------+---------+---------+
//
// A, B and C name registers (r0..r31, f0..f31) or regions (0..255); imm holds a
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
inline constexpr unsigned kMaxRegions = 256;     // a region operand is an 8-bit field

}  // namespace polymer
