// Runs a kernel launch piece [begin, end) on the CPU, following the kernel ABI
// (isa/kernel_ops.def, docs/kernels.md) bit for bit where the GPU is exact.
// First version: one lane at a time over the IR with control flow resolved to
// jump targets up front. A kernel must terminate; an infinite loop hangs here.
#pragma once

#include "vm/kernel_launch.h"

namespace polymer {

// Runs lanes [launch.begin, launch.end) of the launch on the calling thread.
void run_kernel_launch(const KernelLaunch& launch);

}  // namespace polymer
