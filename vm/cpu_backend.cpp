#include "vm/backend.h"

#include "vm/cpu_kernels/cpu_kernel_executor.h"

namespace polymer {

Ticket CpuBackend::submit(const VectorOpArgs& args) {
    const Ticket t = next_++;
    finished_.emplace_back(t, run_vector_op_cpu(args));
    return t;
}

// Synchronous, like the vector ops: the piece has run when submit returns.
Ticket CpuBackend::submit(const KernelLaunch& launch) {
    const Ticket t = next_++;
    if (launch.kernel != nullptr) run_kernel_launch(launch);
    finished_.emplace_back(t, VectorOpResult{});
    return t;
}

VectorOpResult CpuBackend::wait(Ticket ticket) {
    for (std::size_t i = 0; i < finished_.size(); ++i) {
        if (finished_[i].first != ticket) continue;
        VectorOpResult r = finished_[i].second;
        finished_[i] = finished_.back();
        finished_.pop_back();
        return r;
    }
    return {};  // already waited for (or never submitted): nothing to hand back
}

}  // namespace polymer
