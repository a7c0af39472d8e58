// Writes the wide kernel that runs a proved loop's iterations, and the
// loop-kernel entry kloop reads (docs/loop-kernels.md, "The kernel").
#pragma once

#include <string>
#include <variant>

#include "assembler/loops/loop_analysis.h"
#include "isa/module.h"

namespace polymer::loops {

struct WrittenKernel {
    Kernel kernel;
    LoopKernel entry;  // kernel, header and end are the caller's to set
};

// The kernel and entry, or why the loop cannot be written as one (a branch
// shape the structurer does not follow, too many values for the push constants,
// no free registers for the lane's own counters).
std::variant<WrittenKernel, std::string> write_loop_kernel(const Module& m, const LoopPlan& plan, std::string name);

}  // namespace polymer::loops
