// How many iterations a counted loop runs (docs/loop-kernels.md, "How kloop
// runs a loop"): the `kloop` word computes it before it runs a loop as a
// kernel, and the tests compare it with the loop run step by step. And how
// messages name such a loop.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "isa/module.h"

namespace polymer {

// Whether the loop goes on with the induction register at `i` and the bound
// at `b`: the loop's test, signed (Lt Le Gt Ge), unsigned (Ltu Leu Gtu Geu)
// or Ne.
bool loop_continues(LoopCompare compare, std::int64_t i, std::int64_t b);

// n, the iterations the scalar loop runs from here with the induction
// register at i0 and the bound at b, stepping by `step` (never 0):
//   tested_first: the number of consecutive k = 0, 1, ... with
//                 loop_continues(i0 + k*step, b);
//   else (tested after the step): 1 + the number of consecutive k = 1, 2, ...
//                 with loop_continues(i0 + k*step, b).
// The register takes the values i0 + k*step for k = 0..n (the last one
// fails the test). Nothing when one of them is outside the int64 range (the
// register would wrap, and the loop might never end) or step is 0.
std::optional<std::uint64_t> loop_trip_count(LoopCompare compare, bool tested_first, std::int64_t step,
                                             std::int64_t i0, std::int64_t b);

// Whether `w` is a kloop word (the format whose operand is a LoopSite).
bool is_loop_word(Word w);

// "kernel 'main.loop12', the loop at lines 12-15" (the lines of its words
// [header, end) in the line table; without one, "words 5-9").
std::string describe_loop(const Module& m, const LoopKernel& l);

}  // namespace polymer
