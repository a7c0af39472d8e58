#include "vm/backend.h"

namespace polymer {

Ticket CpuBackend::submit(const VectorOpArgs& args) {
    const Ticket t = next_++;
    finished_.emplace_back(t, run_vector_op_cpu(args));
    return t;
}

// Unreachable until the CPU kernel executor lands: the interpreter still
// traps `unsupported` at `launch`.
Ticket CpuBackend::submit(const KernelLaunch&) { return next_++; }

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
