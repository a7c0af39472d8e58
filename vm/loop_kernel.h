// `kloop` (docs/loop-kernels.md, "How kloop runs a loop"): runs the loop after
// it as its generated kernel when it can, every iteration but the last, and
// leaves the induction and reduction registers as the scalar loop would
// before its last iteration; else it does nothing and the scalar loop runs.
//
// The work is split so that the one write path (MachineContext) shows the
// debugger's observer each change before it happens:
//   plan_loop_launch   decides (the checks) and builds the launch; no change
//   run_loop_launch    launches on the machine's backend, waits, combines the
//                      reductions; the region writes happen here
//   then the caller writes plan.writes to the registers.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <memory>
#include <vector>

#include "vm/decoded_insn.h"
#include "vm/kernel_launch.h"
#include "vm/trap.h"

namespace polymer {

class Machine;

// Why a kloop left its loop to the scalar code (counted for --stats).
enum class LoopScalarReason : std::uint8_t {
    Disabled,      // --no-loop-kernels, the embed option, the debugger's `set loop-kernels off`
    TooFew,        // fewer iterations than --loop-kernel-min
    OutOfRange,    // an access outside its region at the first or last iteration
    DivisorZero,   // a divisor register is 0
    Aliasing,      // two region operands are one region, and the kernel writes it
    WouldWrap,     // the induction register would wrap, or the loop would not end
    BadHandle,     // a handle operand names no region of the parameter's type
    TooManyLanes,  // more lanes than a launch may have
    StepLimit,     // --max-steps counts every instruction: only the scalar loop keeps the count exact
};
inline constexpr std::size_t kLoopScalarReasonCount = 9;

struct LoopKernelStats {
    std::uint64_t kernels = 0;     // kloop words that ran their loop as a kernel
    std::uint64_t iterations = 0;  // the iterations those kernels ran
    std::array<std::uint64_t, kLoopScalarReasonCount> scalar{};  // kloop words that did not, by reason
};

// "2 loops run as kernels (4194302 iterations), 1 ran scalar (1 too few iterations)"
std::string loop_kernel_stats_text(const LoopKernelStats& s);

// A register kloop writes: R[reg] (bits as int64) or F[reg] (binary64 bits).
struct LoopRegisterWrite {
    bool is_float = false;
    std::uint8_t reg = 0;
    std::uint64_t bits = 0;
};

// The plain forms of a module's loop kernels (vm/loop_kernel_plain.h), each
// made at its kloop's first use and kept (launches point at it).
class PlainLoopKernels {
public:
    // Entry `entry`'s plain kernel, or null when it has none.
    const Kernel* get(const Module& m, std::uint32_t entry);

private:
    std::vector<std::unique_ptr<Kernel>> kernels_;
    std::vector<bool> made_;
};

struct LoopLaunch {
    std::uint32_t entry = 0;  // in Module::loop_kernels
    KernelLaunch launch;
    // Per Partials argument, one element per lane of a segment; two sets of
    // them when segments run one after another, so that the next segment
    // runs while kloop folds this one. Not filled first: every lane of a
    // loop kernel stores its partial (the kernel's last word).
    std::vector<std::unique_ptr<std::uint64_t[]>> partials;  // set 0's buffers, then set 1's
    std::size_t partial_sets = 1;
    std::uint64_t lanes = 0;
    // The kernel runs in launches of at most `segment` lanes (all `lanes` in
    // one when it has no reduction), each rebased through the argument
    // `start_arg` (the i0 uniform), so that the partials of one segment stay
    // in the cache and are folded before the next segment runs.
    std::uint64_t segment = 0;
    std::size_t start_arg = 0;
    std::int64_t i0 = 0;
    // Set when last values are kept only for a tail of one segment (and
    // found further back only if needed): the kernel for the other lanes.
    const Kernel* plain = nullptr;
    std::uint64_t iterations = 0;                       // n - 1: what the kernel runs
    std::int64_t last_i = 0;                            // the induction register's value at the last iteration
    std::vector<LoopRegisterWrite> writes;              // filled by run_loop_launch
};

// When the kernel ran (for the engine's --trace): the launch as the backend
// saw it (its buffers are gone) and when it started and finished.
struct LoopLaunchSpan {
    KernelLaunch launch;
    std::chrono::steady_clock::time_point start, end;
};

// False (the reason counted in m's stats) when the scalar loop must run
// every iteration; the kloop word is `d`, the registers m's committed ones.
bool plan_loop_launch(Machine& m, const DecodedInsn& d, LoopLaunch& plan);

// Runs the planned launch; false with *trap set when the kernel faulted (a
// trap at the kloop word: the assembler's proof was wrong, or Ctrl-C).
bool run_loop_launch(Machine& m, LoopLaunch& plan, Trap* trap);

}  // namespace polymer
