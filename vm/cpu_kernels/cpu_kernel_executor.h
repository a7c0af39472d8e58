// Runs a kernel launch piece [begin, end) on the CPU, following the kernel ABI
// (isa/kernel_ops.def, docs/kernels.md) bit for bit where the GPU is exact.
// The work is done by the block interpreter (block_interpreter.h) on the
// decoded kernel (decoded_kernel.h); CpuBackend (vm/backend.h) adds the
// thread pool, the decode cache and the tickets. A lane that loops past the
// launch's max_iterations faults, so every launch ends.
#pragma once

#include "vm/kernel_launch.h"

namespace polymer {

// Decodes the kernel and runs lanes [launch.begin, launch.end) of the launch
// on the calling thread; returns the launch's fault, if any.
KernelFault run_kernel_launch(const KernelLaunch& launch);

}  // namespace polymer
