// `polymer-as --frames`: a module's basic blocks and frames as text a learner
// can read, with why each instruction waits (docs/frames.md).
#pragma once

#include <string>

#include "isa/module.h"

namespace polymer {

// Per block a header line, then per instruction, ordered by frame then word:
//   "  frame 1  #2  add r3, r1, r2    ; waits for #0 (writes r1) and #1 (writes r2)"
// Frames are recomputed from the code (the same rules the assembler stores).
std::string frame_listing(const Module& m);

}  // namespace polymer
