// Random loop programs for the loop-kernel differential test
// (loop_differential_test.cpp): a procedure `main` of counted loops over
// regions of every element type a wide kernel takes (i32, u32, i64, f32,
// f64), written as a user writes them, top-tested
//     li r1, START ... loop: bge r1, r2, done ... addi r1, r1, STEP; jmp loop
// or bottom-tested, up or down. Their bodies load and store at affine indices
// (i, i+c, 2*i+c), compute with opcodes drawn from the table (isa/opcodes.def,
// by class and format), branch in if/else diamonds and sometimes reduce into
// a register. Some loops get what a loop kernel must not contain (an op with
// no kernel form, output, the value stack, a call, a vector op, a wait, a
// register or region element carried from one iteration to the next, a float
// reduction without `.reassociate`) and must stay scalar; some programs end
// in a loop that traps (an index out of range, a division by a zero
// invariant), which must trap exactly as the scalar loop does.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "isa/opcodes.h"

namespace polymer::test {

// What `polymer-as --report-loops` must say about a loop.
enum class LoopExpect : std::uint8_t {
    Kernel,  // independent iterations of kernel ops: the assembler should make a kernel of it
    Scalar,  // it must not: it holds something a kernel cannot do, or iterations depend on each other
    Any,     // either is right (e.g. an index that goes out of range at run time)
};

struct PlannedLoop {
    int first_line = 0;  // the loop's lines in the source, 1-based: its label ...
    int last_line = 0;   // ... to its back edge
    LoopExpect expect = LoopExpect::Kernel;
    std::string what;    // what the generator put in it, for failure messages
};

struct LoopProgram {
    std::string source;
    std::vector<PlannedLoop> loops;
    std::vector<std::string> regions;  // every region, for --dump-region
    std::string trap;                  // the trap its last loop is meant to hit, or ""
    bool trap_may_not_fire = false;    // the trapping op is in a branch that may never be taken
};

// `kernel_can_run(op)`: a loop kernel can contain procedure op `op` (a Scalar
// or Float row). The test asks the assembler (a wide kernel with the op must
// assemble), so the generator knows no list of its own.
using KernelOpFilter = std::function<bool(Op)>;

LoopProgram random_loop_program(std::uint64_t seed, const KernelOpFilter& kernel_can_run);

}  // namespace polymer::test
