// Last values, kept only where they are needed (docs/loop-kernels.md, "How
// kloop runs a loop"). A loop kernel with last values keeps, per lane, each
// such register and a mask of the ones its iteration wrote; kloop takes the
// last writer's. Keeping them costs: the registers stay live across the
// kernel's inner loops and every lane stores them. Yet only the last lane
// that wrote each register matters, which is almost always one of the last
// few. So kloop runs the kernel made from the loop only for a tail of the
// iterations, and this *plain* form of it, which records nothing, for the
// rest; if some register was not written in the tail, it runs earlier
// iterations again with recording until it finds the writer.
//
// Running an iteration again is exact only when it reads nothing the loop
// writes (its inputs are then what they were): the plain form exists only
// for loops whose kernel has no in-out region, and whose partials are all
// last values (a reduction needs every lane's partial anyway).
#pragma once

#include <optional>

#include "isa/module.h"

namespace polymer {

// The kernel of `l` without the last-value stores and the mask's words, or
// nothing when the loop does not qualify (above).
std::optional<Kernel> plain_loop_kernel(const Module& m, const LoopKernel& l);

}  // namespace polymer
