// How a kernel launch that broke the kernel contract reports it: the fault
// of one lane, carried from a backend (CPU, Vulkan, a node's chunk) back to
// the machine, which turns it into a trap at the `launch` (docs/kernels.md,
// "When a kernel traps").
//
// The rule every backend follows, so all report the same fault: a lane stops
// at its first fault; of the lanes that fault, the lowest one is reported.
// A lane may stop early (unrun) once a lower lane has faulted, since it can no
// longer change what is reported; lanes below the lowest fault run on.
// An interrupt (Ctrl-C) outranks every lane's fault.
#pragma once

#include <cstdint>
#include <string>

namespace polymer {

struct Kernel;
struct Module;

// Loop iterations a lane may start in one launch unless --kernel-steps says
// otherwise: far above any lesson (lesson 16's lanes start at most 1,000),
// low enough that an endless loop traps in about a second.
inline constexpr std::uint32_t kDefaultKernelSteps = 1u << 24;

struct KernelFault {
    enum class Kind : std::uint8_t {
        None,
        BadIndex,     // an access outside the contract: not the lane's own element of an [i] buffer, outside the
                      // lane's window of an [i-A..i+B] one, or past the ends of a window or whole buffer
        StepBudget,   // the lane was about to start iteration budget + 1 of its loops
        Interrupted,  // the user asked the run to stop (vm/interrupt.h)
        DeviceLoopLimit,  // the Vulkan device ended the lane's loop early (lavapipe: after 65535 iterations per lane)
    };
    Kind kind = Kind::None;
    std::uint32_t lane = 0;     // gid of the lane
    std::uint32_t pc = 0;       // word index in Kernel::code of the faulting op
    std::uint32_t param = 0;    // BadIndex: the buffer parameter
    std::int64_t index = 0;     // BadIndex: the index used (a wide kernel's is 64 bits)
    std::uint64_t length = 0;   // BadIndex: the buffer's length in elements

    explicit operator bool() const { return kind != Kind::None; }
    friend bool operator==(const KernelFault&, const KernelFault&) = default;
};

// Keeps in `into` the fault that wins by the rule above.
void merge_fault(KernelFault& into, const KernelFault& f);

// "kernel NAME: lane L stored y[6], not its own element y[5] (file:line)",
// "kernel NAME: lane L loaded x[-1], outside x (length 8) (file:line)",
// "kernel NAME: lane L loaded t[9], outside its window t[i-1..i+1] (file:line)",
// "kernel NAME: lane L ran past N loop iterations (file:line)",
// "kernel NAME: interrupted". `budget` is the launch's iteration budget.
std::string describe_kernel_fault(const Module& m, const Kernel& k, const KernelFault& f, std::uint32_t budget);

}  // namespace polymer
