// Which loops of a procedure may become kernels, and what a kernel for one
// needs (docs/loop-kernels.md, "What becomes a kernel"). Anything the
// analysis cannot prove stays scalar, with the reason the report prints.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "assembler/loops/word_facts.h"
#include "isa/module.h"

namespace polymer::loops {

// A loop as the code shows it: words [header, latch], the latch jumping back.
struct LoopCandidate {
    std::uint32_t header = 0;
    std::uint32_t latch = 0;
};

// Every loop of a procedure, by header; a loop inside another comes after it.
std::vector<LoopCandidate> find_loops(const Module& m, const Procedure& proc);

struct RegionUse {
    std::uint8_t operand = 0;  // region index or handle operand
    ElemType type = ElemType::I32;
    bool reads = false;
    bool writes = false;
};

// A loop the analysis proved independent, with what kloop and the kernel need.
struct LoopPlan {
    std::uint32_t header = 0, latch = 0;
    std::uint32_t test = 0;       // the word comparing the induction register with the bound
    bool tested_first = true;     // the test is the header (else the latch)
    std::uint8_t induction = 0, bound = 0;
    LoopCompare compare = LoopCompare::Lt;
    std::int64_t step = 1;
    std::uint32_t step_pc = 0;    // the addi that steps the counter
    RegSet defs = 0;              // registers some word of the loop writes
    RegSet used = 0;              // registers the loop mentions at all
    RegSet last_values = 0;       // read after the loop, written by some iterations only (ReduceOp::Last)
    std::vector<LoopReduction> reductions;
    std::vector<std::uint8_t> divisors;
    std::vector<LoopAccess> accesses;
    std::vector<RegionUse> regions;  // in order of first use
};

// The plan, or why the loop stays scalar ("r5 carries a value between iterations").
// `facts` and `live`: word_facts and live_in of every word of `proc`.
std::variant<LoopPlan, std::string> analyze_loop(const Module& m, const Procedure& proc, const LoopCandidate& loop,
                                                 const std::vector<WordFacts>& facts, const std::vector<RegSet>& live,
                                                 bool reassociate);

}  // namespace polymer::loops
