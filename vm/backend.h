// Where long operations run. The interpreter submits a vector op or a kernel
// launch and gets a ticket; it asks for the result with wait(). The
// in-order machine waits at once; the out-of-order engine keeps going and
// waits only when a later instruction needs the result. Operands are checked
// by the VM before submit (check_vector_op), so a backend never traps.
#pragma once

#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

#include "vm/kernel_launch.h"
#include "vm/vector_op.h"

namespace polymer {

using Ticket = std::uint64_t;

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string_view name() const = 0;
    // Starts the op. The regions in `args` must stay alive and untouched by
    // anyone else until the ticket is waited for.
    virtual Ticket submit(const VectorOpArgs& args) = 0;
    // Starts a kernel launch (see vm/kernel_launch.h); same rules for the
    // buffers. Its wait() result is empty.
    virtual Ticket submit(const KernelLaunch& launch) = 0;
    // Blocks until the op has finished and returns its result (reductions).
    // Each ticket is waited for at most once.
    virtual VectorOpResult wait(Ticket ticket) = 0;
    // Blocks until every op submitted so far has finished (`wait`, `fence`, `halt`).
    virtual void wait_all() = 0;
};

// Runs vector ops on the calling thread with run_vector_op_cpu: the op is
// done when submit returns, and wait only hands back the result.
class CpuBackend final : public Backend {
public:
    std::string_view name() const override { return "cpu"; }
    Ticket submit(const VectorOpArgs& args) override;
    Ticket submit(const KernelLaunch& launch) override;
    VectorOpResult wait(Ticket ticket) override;
    void wait_all() override { finished_.clear(); }

private:
    Ticket next_ = 1;
    std::vector<std::pair<Ticket, VectorOpResult>> finished_;  // results not yet waited for
};

}  // namespace polymer
