#include "vm/cpu_kernels/cpu_kernel_executor.h"

#include "vm/cpu_kernels/block_interpreter.h"
#include "vm/cpu_kernels/decoded_kernel.h"

namespace polymer {

void run_kernel_launch(const KernelLaunch& launch) {
    if (launch.kernel == nullptr || launch.end <= launch.begin) return;
    run_kernel_blocks(decode_kernel(launch.kernel->code), launch, launch.begin, launch.end);
}

}  // namespace polymer
