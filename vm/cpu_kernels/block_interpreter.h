// The CPU kernel interpreter: runs a decoded kernel (decoded_kernel.h) over a
// range of lanes one *block* of kBlockLanes lanes at a time. Each IR
// instruction runs as one tight loop over the block's lanes (registers are
// stored [register][lane]), so the compiler vectorises it and the cost of
// interpreting an instruction is paid once per block, not once per lane.
//
// Control flow is structured (if/else/loop/break/continue/exit): lanes of a
// block that take different paths are handled with per-lane active masks and
// a stack of them, one frame per nesting level; a region no active lane
// enters is skipped. The semantics are those of isa/kernel_ops.def and
// docs/kernels.md, bit for bit: wrapping integers, div/rem by 0 give 0,
// shifts & 31, out-of-range loads give 0, out-of-range stores and atomics are
// dropped, ftoi saturates (NaN gives 0), binary32 float arithmetic (never
// contracted into fma unless the kernel says ffma). atadd is atomic, so
// several threads may run pieces of one launch at once.
#pragma once

#include <cstdint>

#include "vm/cpu_kernels/decoded_kernel.h"
#include "vm/kernel_launch.h"

namespace polymer {

// Lanes per block, at most (the lane registers' size). Straight-line
// kernels run blocks of kBlockLanes; kernels with a loop run blocks of
// kLoopBlockLanes, since a block runs its loop as many times as its slowest
// lane. Both measured on the development VM (docs/kernels.md, "The CPU
// backend").
inline constexpr unsigned kBlockLanes = 256;
inline constexpr unsigned kLoopBlockLanes = 32;

// Runs lanes [first, last) of `launch` (whose kernel `kernel` was decoded
// from) on the calling thread, blocks starting at `first`.
void run_kernel_blocks(const DecodedKernel& kernel, const KernelLaunch& launch, std::uint64_t first,
                       std::uint64_t last);

}  // namespace polymer
