// What the loop pass needs to know about one procedure word, read from the
// opcode table through isa/frame_analysis.h (never from lists of opcodes):
// the registers it reads and writes, where control goes after it.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "isa/module.h"
#include "isa/opcodes.h"

namespace polymer::loops {

// A set of registers: bit i is r<i>, bit 32 + i is f<i>.
using RegSet = std::uint64_t;
constexpr RegSet int_reg(unsigned i) { return RegSet{1} << i; }
constexpr RegSet float_reg(unsigned i) { return RegSet{1} << (32 + i); }
inline constexpr RegSet kAllRegs = ~RegSet{0};

struct WordFacts {
    Op op = Op::Nop;
    RegSet reads = 0;
    RegSet writes = 0;
    std::optional<std::uint32_t> target;  // a jump's or branch's label
    bool falls_through = true;            // false after jmp, ret, halt
    bool conditional = false;             // a branch that may fall through or jump
};

WordFacts word_facts(const Module& m, std::uint32_t pc);

// Registers live before each word of procedure `proc` (index = pc - start).
// Registers are global across calls, so a call reads every register and
// a return or halt leaves every register live.
std::vector<RegSet> live_in(const Procedure& proc, const std::vector<WordFacts>& facts);

// word_facts of every word of `proc`, in order.
std::vector<WordFacts> proc_facts(const Module& m, const Procedure& proc);

// "r5" or "f2" for the lowest register of a set.
std::string reg_name(RegSet one);

}  // namespace polymer::loops
