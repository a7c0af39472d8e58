#include "vm/cpu_kernels/cpu_kernel_executor.h"

#include "vm/cpu_kernels/block_interpreter.h"
#include "vm/cpu_kernels/decoded_kernel.h"

namespace polymer {

KernelFault run_kernel_launch(const KernelLaunch& launch) {
    if (launch.kernel == nullptr || launch.end <= launch.begin) return {};
    LaunchFaults faults;
    run_kernel_blocks(decode_kernel(*launch.kernel), launch, launch.begin, launch.end, faults);
    return faults.fault();
}

}  // namespace polymer
