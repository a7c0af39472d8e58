// A lane-at-a-time kernel interpreter: the reference the block interpreter is
// tested against (tests/vm/cpu_kernels_test.cpp).
#pragma once

#include "vm/kernel_launch.h"

namespace polymer {

// Runs lanes [launch.begin, launch.end) one after the other on this thread;
// returns the launch's fault (the lowest lane's), if any.
KernelFault run_kernel_launch_lane_by_lane(const KernelLaunch& launch);

}  // namespace polymer
