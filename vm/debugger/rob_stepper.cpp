#include "vm/debugger/rob_stepper.h"

namespace polymer::debugger {

RunResult RobStepper::run(std::uint64_t commits) {
    left_ = commits;
    hit_.reset();
    interrupted_ = false;
    return engine_.run(*this);
}

void RobStepper::event(const ooo::RobEvent& e) {
    if (on_event) on_event(e);
    if (e.kind != ooo::RobEvent::Kind::Commit) return;
    if (left_ != UINT64_MAX && left_ > 0) --left_;
    // The first breakpoint to commit in a cycle is the one reported.
    if (!hit_ && e.pc < break_at_.size() && break_at_[e.pc] != 0) hit_ = e.pc;
}

bool RobStepper::after_cycle() {
    if (interrupt_ != 0) interrupted_ = true;
    return left_ == 0 || hit_.has_value() || interrupted_;
}

}  // namespace polymer::debugger
