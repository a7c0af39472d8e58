// Runs a kernel launch piece [begin, end) on the CPU, following the kernel ABI
// (isa/kernel_ops.def, docs/kernels.md) bit for bit where the GPU is exact.
// The work is done by the block interpreter (block_interpreter.h) on the
// decoded kernel (decoded_kernel.h); CpuBackend (vm/backend.h) adds the
// thread pool, the decode cache and the tickets. A kernel must terminate; an
// infinite loop hangs here.
#pragma once

#include "vm/kernel_launch.h"

namespace polymer {

// Decodes the kernel and runs lanes [launch.begin, launch.end) of the launch
// on the calling thread.
void run_kernel_launch(const KernelLaunch& launch);

}  // namespace polymer
