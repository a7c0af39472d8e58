// The debugger's out-of-order stepping (`--debug --exec ooo|spec`): owns a
// ReorderSession and runs it cycle by cycle until enough instructions have
// committed, a breakpoint's instruction commits, or an interrupt. Stepping
// here is by commits, not by instructions executed: a cycle commits up to
// four, so `step` may pass the count by the rest of its last cycle.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "vm/machine.h"
#include "vm/ooo/reorder_engine.h"

namespace polymer::debugger {

class RobStepper final : public ooo::CycleObserver {
public:
    // `break_at`: per pc, the enabled breakpoints there (the session's table).
    RobStepper(Machine& m, std::uint32_t start_pc, const std::vector<std::uint8_t>& break_at,
               const volatile std::sig_atomic_t& interrupt)
        : engine_(m, start_pc), break_at_(break_at), interrupt_(interrupt) {}

    // Runs until `commits` more instructions commit (UINT64_MAX: no limit).
    RunResult run(std::uint64_t commits);
    std::optional<std::uint32_t> breakpoint_hit() const { return hit_; }  // after a Paused run
    bool interrupted() const { return interrupted_; }
    std::vector<ooo::RobEntryView> entries() { return engine_.entries(); }

    std::function<void(const ooo::RobEvent&)> on_event;  // each issue, commit and squash, as it happens

    void event(const ooo::RobEvent& e) override;
    bool hold_commits() override { return left_ == 0 || hit_.has_value(); }
    bool after_cycle() override;

private:
    ooo::ReorderSession engine_;
    const std::vector<std::uint8_t>& break_at_;
    const volatile std::sig_atomic_t& interrupt_;
    std::uint64_t left_ = 0;
    std::optional<std::uint32_t> hit_;
    bool interrupted_ = false;
};

}  // namespace polymer::debugger
