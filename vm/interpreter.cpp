// The in-order interpreter: one dispatch loop over the decoded instructions,
// each running its body from vm/insns.h on a MachineContext.
//
// It builds two ways behind two macros, as Lua's lvm.c does: threaded code
// (GCC's labels-as-values: every body ends by jumping straight to the next
// instruction's body) or, with -DPOLYMER_SWITCH_DISPATCH, a plain `switch`.
// The loop is a template on a Policy, so the plain build pays nothing for
// the debugger's observer or the engine's stop at long ops: each is an
// `if constexpr`, decided per opcode at compile time.
#include "vm/interpreter.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>

#include "vm/interrupt.h"
#include "vm/machine_context.h"

namespace polymer {
namespace {

struct Plain {
    static constexpr bool kObserved = false;     // changes go to a StateObserver
    static constexpr bool kAskEach = false;      // the observer may pause before any instruction
    static constexpr bool kYieldLongOps = false;  // pause before a long op the backend cannot run on the spot
};
struct Observed {
    static constexpr bool kObserved = true, kAskEach = true, kYieldLongOps = false;
};
struct UntilLongOp {
    static constexpr bool kObserved = false, kAskEach = false, kYieldLongOps = true;
};

// The dispatch table is indexed by opcode number; `by_row` lists the bodies'
// labels in the table's row order. Numbers with no row go to `invalid`.
template <std::size_t N>
std::array<const void*, 256> by_number(const void* const (&by_row)[N], const void* invalid) {
    static_assert(N == kAllOps.size());
    std::array<const void*, 256> table;
    table.fill(invalid);
    for (std::size_t i = 0; i < N; ++i) table[static_cast<std::uint8_t>(kAllOps[i])] = by_row[i];
    return table;
}

#if !defined(__GNUC__) && !defined(POLYMER_SWITCH_DISPATCH)
#define POLYMER_SWITCH_DISPATCH 1  // labels-as-values is a GCC/Clang extension
#endif

// Under Observed each fetch first brings the machine up to date (steps
// counts the instructions done) and asks the observer whether to pause.
#define VM_OBSERVE()                                        \
    if constexpr (Policy::kAskEach) {                       \
        --x.steps;                                          \
        x.save();                                           \
        if (observer->before_instruction(m)) goto paused;   \
        ++x.steps;                                          \
    }

#if defined(POLYMER_SWITCH_DISPATCH)
#define VM_CASE(name) case Op::name:
#define VM_DISPATCH() continue
#else
#define VM_CASE(name) op_##name:
#define VM_DISPATCH()                                          \
    do {                                                       \
        ++x.steps;                                             \
        VM_OBSERVE()                                           \
        goto* kLabels[static_cast<std::uint8_t>(x.ip->op)];    \
    } while (0)
#endif

template <class Policy>
RunResult run_loop(Machine& m, ExecutionObserver* observer) {
    MachineContext<Policy::kObserved, Policy::kYieldLongOps> x(m, observer);
    const std::uint64_t max_steps = m.step_limit() == 0 ? std::numeric_limits<std::uint64_t>::max() : m.step_limit();
    // The step limit's check doubles as the poll for an interrupt (Ctrl-C,
    // vm/interrupt.h): the limit is set kInterruptPoll steps ahead, and the
    // slow path, taken once per kInterruptPoll steps, looks at the flag and
    // moves it on, so the fast path has no more than the one compare.
    constexpr std::uint64_t kInterruptPoll = 1 << 20;
    std::uint64_t step_limit = std::min(max_steps, x.steps + kInterruptPoll);

#if defined(POLYMER_SWITCH_DISPATCH)
    for (;;) {
        ++x.steps;
        VM_OBSERVE()
        switch (x.ip->op) {
#else
    static const void* const kLabelsByRow[] = {
#define OP(name, ...) &&op_##name,
#include "isa/opcodes.def"
#undef OP
    };
    static const std::array<const void*, 256> kLabels = by_number(kLabelsByRow, &&invalid_opcode);
    VM_DISPATCH();
    {
#endif

    // One case per row of the table: the body, then where to go next. Every
    // `if constexpr` and the switch over a body's constant Flow fold away; a
    // branch keeps one dispatch per outcome (taken, not taken), so each
    // indirect jump predicts its own successors, as hand-written threaded
    // code does.
#define OP(name, ...)                                                                           \
    VM_CASE(name) {                                                                             \
        if constexpr (checks_step_limit(Op::name))                                              \
            if (__builtin_expect(x.steps > step_limit, 0)) {                                    \
                if (x.steps > max_steps) goto step_limit_reached;                               \
                if (interrupt_requested()) goto interrupted;                                    \
                if (!Policy::kAskEach && m.time_sliced()) goto stopped;                         \
                step_limit = std::min(max_steps, x.steps + kInterruptPoll);                     \
            }                                                                                   \
        switch (execute<Op::name>(x, *x.ip)) {                                                  \
        case Flow::Next: ++x.ip; VM_DISPATCH();                                                 \
        case Flow::Taken: x.ip = x.ip->target; VM_DISPATCH();                                   \
        case Flow::Return: VM_DISPATCH();                                                       \
        case Flow::Halt: goto halt;                                                             \
        case Flow::Trap: goto trap;                                                             \
        case Flow::Yield: goto stopped;                                                         \
        case Flow::Block: goto blocked;                                                         \
        }                                                                                       \
        goto invalid_opcode; /* no Flow left: unreachable */                                    \
    }
#include "isa/opcodes.def"
#undef OP

#if defined(POLYMER_SWITCH_DISPATCH)
        }
        goto invalid_opcode;  // a byte with no row: the decoder lets none through
    }
#else
    }
#endif

invalid_opcode:
    x.trap(TrapKind::Unsupported);
    goto trap;
step_limit_reached:
    x.trap(TrapKind::StepLimit);
    goto trap;
interrupted:
    x.trap(TrapKind::Interrupted);
trap: {
    Trap t = x.take_trap();
    m.backend().wait_all();
    return RunResult{RunStatus::Trapped, std::move(t), x.steps};
}
halt:
    x.save();
    m.backend().wait_all();
    return RunResult{RunStatus::Halted, std::nullopt, x.steps};
blocked:
    --x.steps;  // counted at dispatch, not run: it runs again when the procedure is resumed
    x.save();
    return RunResult{RunStatus::Blocked, std::nullopt, x.steps};
stopped: __attribute__((unused));
    --x.steps;  // counted at dispatch, not run
paused: __attribute__((unused));
    x.save();
    return RunResult{RunStatus::Paused, std::nullopt, x.steps};
}

#undef VM_OBSERVE
#undef VM_CASE
#undef VM_DISPATCH

}  // namespace

RunResult interpret(Machine& m) { return run_loop<Plain>(m, nullptr); }

RunResult interpret_observed(Machine& m, ExecutionObserver& observer) { return run_loop<Observed>(m, &observer); }

RunResult interpret_until_long_op(Machine& m) { return run_loop<UntilLongOp>(m, nullptr); }

}  // namespace polymer
