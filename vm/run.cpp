// The one place that picks an executor for a run (docs/execution.md): the
// interpreter for --exec in-order, the reorder engine for the other modes.
#include "vm/interpreter.h"
#include "vm/machine.h"
#include "vm/ooo/reorder_engine.h"
#include "vm/procs/procedures.h"

namespace polymer {

void Machine::start(std::uint32_t proc) {
    if (procedures_) return procedures_->start(proc);
    enter(proc);
}

void Machine::enter(std::uint32_t proc) {
    state_.call_depth = 0;
    state_.value_depth = 0;
    state_.steps = 0;
    state_.pc = module_.procs.at(proc).start;
}

RunResult Machine::run(std::uint32_t proc) {
    if (procedures_) return procedures_->run(proc);  // it starts each procedure itself
    enter(proc);
    if (options_.exec == ExecMode::InOrder) return interpret(*this);
    return ooo::run_reorder_engine(*this, state_.pc);
}

RunResult Machine::resume(ExecutionObserver& observer) {
    if (procedures_) return procedures_->resume(&observer);
    return interpret_observed(*this, observer);
}

}  // namespace polymer
