// The threaded in-order interpreter (vm/interpreter.cpp): runs a Machine's
// instructions from its pc() with the bodies of vm/insns.h. Three builds of
// one dispatch loop, each paying only for what it does.
#pragma once

#include "vm/machine.h"

namespace polymer {

// Until halt or a trap: what `--exec in-order` runs.
RunResult interpret(Machine& m);

// The debugger's: every change goes to the observer first, which is asked
// before each instruction and may pause the run (status Paused).
RunResult interpret_observed(Machine& m, ExecutionObserver& observer);

// The reorder engine's hand-off: runs until halt, a trap, or a long
// operation (vector op, launch) that the backend cannot finish on the spot
// (Backend::run_inline), before which it pauses with m.pc() at it. Only the
// long ops' bodies differ from interpret(), so the other instructions pay
// nothing for the check.
RunResult interpret_until_long_op(Machine& m);

}  // namespace polymer
