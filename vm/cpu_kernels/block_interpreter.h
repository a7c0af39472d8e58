// The CPU kernel interpreter: runs a decoded kernel (decoded_kernel.h) over a
// range of lanes one *block* of kBlockLanes lanes at a time. Each IR
// instruction runs as one tight loop over the block's lanes (registers are
// stored [register][lane]), so the compiler vectorises it and the cost of
// interpreting an instruction is paid once per block, not once per lane.
//
// Control flow is structured (if/else/loop/break/continue/exit): lanes of a
// block that take different paths are handled with per-lane active masks and
// a stack of them, one frame per nesting level; a region no active lane
// enters is skipped. While the lanes take one path the masks are constants
// (lane_masks.h) and the control flow loops over no lanes. The semantics are those of isa/kernel_ops.def and
// docs/kernels.md, bit for bit: wrapping integers, div/rem by 0 give 0,
// shifts & 31, ftoi saturates (NaN gives 0), binary32 float arithmetic (never
// contracted into fma unless the kernel says ffma). atadd is atomic, so
// several threads may run pieces of one launch at once.
//
// The kernel contract (vm/kernel_fault.h): an access that isa/kernel_access.h
// could not prove is checked lane by lane, and a lane that breaks the
// contract, or is about to start loop iteration max_iterations + 1, faults and
// stops there (as `exit` would); the block's other lanes run on. Each lane
// counts its iterations (one count for the block while every lane runs);
// the block checks them only once it has run past the budget, so a kernel
// within it pays at most one add per lane and iteration.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>

#include "vm/cpu_kernels/decoded_kernel.h"
#include "vm/kernel_launch.h"

namespace polymer {

// Lanes per block. Straight-line kernels run blocks of kBlockLanes, wide
// ones over 32-bit buffers kWideBlockLanes (more work per lane, the same
// 2 KiB of each buffer per block); kernels with a loop run blocks of
// kLoopBlockLanes, since a block runs its loop as many times as its slowest
// lane. All measured on the development VM (docs/kernels.md, "The CPU
// backend").
inline constexpr unsigned kBlockLanes = 256;
inline constexpr unsigned kWideBlockLanes = 512;
inline constexpr unsigned kLoopBlockLanes = 32;

// The faults of one launch, shared by the threads that run its pieces: the
// winner by the rule of vm/kernel_fault.h, and whether a piece may stop.
class LaunchFaults {
public:
    void report(const KernelFault& f) {
        if (!f) return;
        std::lock_guard lock(mutex_);
        merge_fault(fault_, f);
        if (f.kind == KernelFault::Kind::Interrupted) stop_all_.store(true, std::memory_order_relaxed);
        else if (f.lane < lowest_.load(std::memory_order_relaxed)) lowest_.store(f.lane, std::memory_order_relaxed);
    }
    // Lanes from `lane` on cannot change what is reported.
    bool stops_from(std::uint64_t lane) const {
        return stop_all_.load(std::memory_order_relaxed) || lowest_.load(std::memory_order_relaxed) < lane;
    }
    KernelFault fault() const {
        std::lock_guard lock(mutex_);
        return fault_;
    }

private:
    mutable std::mutex mutex_;
    KernelFault fault_;
    std::atomic<std::uint64_t> lowest_{std::numeric_limits<std::uint64_t>::max()};
    std::atomic<bool> stop_all_{false};
};

// Runs lanes [first, last) of `launch` (whose kernel `kernel` was decoded
// from) on the calling thread, blocks starting at `first`; a fault goes to
// `faults`. Stops early on an interrupt (vm/interrupt.h) or once a lower
// lane has faulted.
void run_kernel_blocks(const DecodedKernel& kernel, const KernelLaunch& launch, std::uint64_t first,
                       std::uint64_t last, LaunchFaults& faults);

}  // namespace polymer
