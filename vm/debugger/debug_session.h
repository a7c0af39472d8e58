// The step debugger's engine: runs a Machine so it can pause before any
// instruction (breakpoints, step counts, `next` over calls, `finish`, `until`
// a condition, watchpoints) and undo what it ran (`backstep`, through the
// UndoLog). The REPL (src/tools/debugger) only parses commands and prints;
// everything that decides when to stop is here.
//
// In order, the interpreter asks the session before each instruction; under
// --exec ooo|spec the reorder engine asks it before each commit, showing the
// committed state. Either way the machine's writes reach the session through
// the one write path's StateObserver, which fills the undo log: one set of
// stopping rules and one history serve both.
#pragma once

#include <csignal>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "isa/module.h"
#include "isa/result.h"
#include "vm/debugger/expression.h"
#include "vm/debugger/undo_log.h"
#include "vm/machine.h"
#include "vm/ooo/reorder_engine.h"

namespace polymer::debugger {

struct DebugOptions {
    std::size_t history_steps = 10'000;                 // backstep reaches this far back
    std::uint64_t history_bytes = std::uint64_t{64} << 20;  // of region snapshots kept for it
};

// A breakpoint (on a pc) or a watchpoint (on an expression): one numbering, as in gdb.
struct Breakpoint {
    int id = 0;
    bool is_watch = false;
    bool enabled = true;
    std::uint32_t pc = 0;       // breakpoints
    std::string where;          // as the user wrote it: "loop", "prog.pasm:12", "*7"
    std::optional<Expression> watch;  // watchpoints
    std::optional<Value> last;  // the watched value when last checked (none: could not be evaluated)
    std::uint64_t hits = 0;
};

enum class StopKind : std::uint8_t {
    Step,        // the steps asked for are done (step, next)
    Breakpoint,  // before a breakpoint's instruction
    Watchpoint,  // after an instruction changed a watched value
    Until,       // after an instruction made the `until` condition true
    Finish,      // the procedure returned
    Halted,      // the program ended
    Trapped,     // the program trapped; the machine is at the faulting instruction
    Interrupted, // interrupt() was called (Ctrl-C at the terminal)
};

struct Stop {
    StopKind kind = StopKind::Step;
    int id = 0;                // breakpoint or watchpoint
    std::string old_value, new_value;  // watchpoints
};

struct BackstepReport {
    std::uint64_t undone = 0;      // steps undone
    std::uint64_t sets_undone = 0;  // of which `set` commands
    bool printed = false;          // an undone instruction had printed output
    bool read_input = false;       // an undone instruction had read input (readln, readi, readf)
    bool history_ran_out = false;  // fewer than asked: nothing older is kept
};

class DebugSession final : public ExecutionObserver, private ooo::CycleObserver {
public:
    enum class State : std::uint8_t { Running, Halted, Trapped };  // Running: paused, can go on

    // A session positioned before the first instruction of `entry`.
    static Result<std::unique_ptr<DebugSession>> create(const Module& m, OutputBuffer& out, MachineOptions machine,
                                                        std::uint32_t entry, DebugOptions options = {});

    const Module& module() const { return module_; }
    Machine& machine() { return *machine_; }
    const Machine& machine() const { return *machine_; }
    State state() const { return state_; }
    const std::optional<Trap>& trap() const { return trap_; }
    // `--exec ooo|spec`: the machine runs on the reorder engine; a step is a
    // commit, and every stop is checked before a commit. bt, set and backstep
    // first flush the ROB (as a trap would), so they see and change exactly
    // the committed state.
    bool out_of_order() const { return rob_ != nullptr; }
    ExecMode exec_mode() const { return machine_options_.exec; }
    // Empty once the program has ended (the engine keeps its last entry inside).
    std::vector<ooo::RobEntryView> rob_entries() {
        return rob_ && state_ == State::Running ? rob_->entries() : std::vector<ooo::RobEntryView>{};
    }
    std::function<void(const ooo::RobEvent&)> on_rob_event;  // out of order: each issue, commit and squash

    // Running commands; each needs state() == Running.
    Stop step(std::uint64_t n);
    Stop next(std::uint64_t n);          // a call counts as one step
    Stop finish();                       // needs call_depth() > 0
    Stop resume();                       // `continue`
    Stop until(const Expression& cond);  // checked after every instruction
    BackstepReport backstep(std::uint64_t n);
    // A fresh machine (regions as declared), before the first instruction;
    // breakpoints stay, history is cleared. Output already printed stays.
    Result<bool> restart();

    // `set`: writes a register or element and records it in the history.
    Result<bool> assign(const Expression& place, const Value& v);

    int add_breakpoint(std::uint32_t pc, std::string where);
    Result<int> add_watch(Expression e);
    bool remove(int id);
    bool set_enabled(int id, bool enabled);
    void remove_all();
    const std::vector<Breakpoint>& breakpoints() const { return breakpoints_; }

    UndoLog& history() { return history_; }
    const UndoLog& history() const { return history_; }

    // `set loop-kernels off|on` (docs/debugger.md): off, each kloop does
    // nothing and the loop the assembler turned into a kernel is stepped in
    // its scalar form; on (the default), kloop runs it as one step. Kept
    // across restart.
    void set_loop_kernels(bool on) {
        machine_options_.loop_kernels = on;
        if (machine_) machine_->set_loop_kernels(on);
    }
    bool loop_kernels() const { return machine_options_.loop_kernels; }

    // Async-signal-safe: the running command pauses before its next instruction.
    static void interrupt() { interrupt_requested_ = 1; }

    // The committed call stack: the return pc of each active call, outermost first.
    std::vector<std::uint32_t> call_stack() const;

    // ExecutionObserver: pausing, and every change for the undo log.
    bool before_instruction(const Machine& m) override;
    void int_written(unsigned i) override;
    void float_written(unsigned i) override;
    void element_written(const Region& g, std::uint64_t index) override;
    void regions_written(const DecodedInsn& d) override;
    void region_overwritten(const Region& g, const std::vector<std::byte>& old_bytes) override;
    void value_slot_written(std::size_t slot) override;
    void call_slot_written(std::size_t slot) override;
    void output_written() override;
    void input_read() override;

private:
    DebugSession(const Module& m, OutputBuffer& out, MachineOptions machine, std::uint32_t entry, DebugOptions options)
        : module_(m), out_(out), machine_options_(machine), entry_(entry), history_(options.history_steps, options.history_bytes) {}

    // What ends the current resume (besides breakpoints, halt and traps).
    struct Goal {
        std::uint64_t steps = UINT64_MAX;          // instructions left to run
        std::optional<std::size_t> depth_below;    // finish: stop once call depth < this
        std::optional<std::size_t> depth_at_most;  // next over a call: stop once depth <= this
        const Expression* until = nullptr;
    };
    Stop go(Goal goal);
    // Out of order: squashes the uncommitted entries, so the machine is
    // exactly its committed state (before set and backstep change it).
    void flush_reorder_buffer();
    // ooo::CycleObserver: the reorder engine asks before each commit.
    void event(const ooo::RobEvent& e) override;
    bool hold_commits(const Machine& m) override;
    bool after_cycle(const Machine& m) override { return hold_commits(m); }
    std::uint32_t region_index(const Region& g) const {
        return static_cast<std::uint32_t>(&g - &machine_->regions()[0]);
    }
    bool check_watches();  // after an instruction: true (and stop_ set) when one changed
    void record(const Machine& m);

    const Module& module_;
    OutputBuffer& out_;
    MachineOptions machine_options_;
    std::uint32_t entry_;
    std::unique_ptr<Machine> machine_;
    std::unique_ptr<ooo::ReorderSession> rob_;  // out of order only
    bool holding_ = false;  // out of order: a stop was reached before a commit
    std::uint64_t checked_at_ = UINT64_MAX;  // out of order: the step count the stops were last checked at
    State state_ = State::Running;
    std::optional<Trap> trap_;
    std::vector<Breakpoint> breakpoints_;
    std::vector<std::uint8_t> break_at_;  // per pc: enabled breakpoints there
    int next_id_ = 1;
    UndoLog history_;
    UndoEntry* current_ = nullptr;  // the entry of the instruction running now

    static inline volatile std::sig_atomic_t interrupt_requested_ = 0;
    Goal goal_;
    bool first_ = true;  // the first instruction of a resume never stops at its own breakpoint
    Stop stop_;
};

}  // namespace polymer::debugger
