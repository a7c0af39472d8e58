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
//
// A program with procedures (vm/procs/) is always stepped in order: the
// scheduler runs them one at a time under this observer, so breakpoints hit
// in any of them, and the views can show any one (select()). The undo log
// cannot undo a switch between procedures nor what spawn, join, send, recv
// and barrier do to the others, so the history starts again after each.
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
#include "vm/procs/procedures.h"

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

// Where backstep's history begins when nothing was dropped from it: the
// start of the program, where a procedure began running after a switch,
// after a procedure instruction (spawn, join, send, recv, barrier), or, once
// a program with procedures has ended, there (#0's end ended the others).
struct HistoryStart {
    enum class Kind : std::uint8_t { Program, Switch, ProcedureOp, End } kind = Kind::Program;
    std::uint32_t procedure = 0;  // Switch: the one switched to; ProcedureOp: the one that ran it
    std::uint32_t pc = 0;         // ProcedureOp: its word
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

    // Running commands; each needs state() == Running. They run the
    // procedure the scheduler is in (running()), and the others when it
    // waits or ends; a stop selects the procedure it happened in.
    Stop step(std::uint64_t n);  // n instructions of whichever procedures run
    // A call, and an instruction that may wait for other procedures (spawn,
    // join, send, recv, barrier), counts as one step of this procedure; the
    // others run meanwhile and stop it only at a breakpoint, watchpoint or trap.
    Stop next(std::uint64_t n);
    Stop finish();                       // needs call_depth() > 0
    Stop resume();                       // `continue`
    Stop until(const Expression& cond);  // checked after every instruction
    BackstepReport backstep(std::uint64_t n);
    // A fresh machine (regions as declared), before the first instruction;
    // breakpoints stay, history is cleared. Output already printed stays.
    Result<bool> restart();

    // `set`: writes a register or element and records it in the history.
    // Only in the running procedure: it fails while another one is selected.
    Result<bool> assign(const Expression& place, const Value& v);

    // --- programs with procedures (docs/debugger.md, "Procedures") ---
    // The runtime, or null when the program has no procedure instruction.
    const Procedures* procedures() const { return machine_->procedures(); }
    // The procedure the scheduler is in: the one running commands go on
    // with (after the end of the run, the one it ended in). 0 without procedures.
    std::uint32_t running() const;
    // The procedure the views show (info registers, print, x, bt, list,
    // disas): the one the last stop happened in, until select() picks another.
    std::uint32_t selected() const { return selected_; }
    Result<bool> select(std::uint32_t id);
    // The selected procedure's registers, stacks and pc.
    const MachineState& viewed() const;
    bool viewing_running() const { return selected_ == running(); }
    // `e` as the selected procedure sees it (watches and `until` read the running one).
    Result<Value> evaluate(const Expression& e) const;
    // Instructions run so far, by every procedure.
    std::uint64_t steps() const;
    const HistoryStart& history_start() const { return history_start_; }

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

    // The selected procedure's call stack (out of order: the committed one):
    // the return pc of each active call, outermost first.
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
    void procedure_switched(const Machine& m) override;

private:
    DebugSession(const Module& m, OutputBuffer& out, MachineOptions machine, std::uint32_t entry, DebugOptions options)
        : module_(m), out_(out), machine_options_(machine), entry_(entry), history_(options.history_steps, options.history_bytes) {}

    // What ends the current resume (besides breakpoints, halt and traps).
    struct Goal {
        std::uint64_t steps = UINT64_MAX;          // instructions left to run
        std::optional<std::size_t> depth_below;    // finish: stop once call depth < this
        std::optional<std::size_t> depth_at_most;  // next over a call: stop once depth <= this
        const Expression* until = nullptr;
        std::uint32_t owner = 0;  // the procedure the depth and past_steps goals are about
        std::optional<std::uint64_t> past_steps;  // next over a waiting instruction: stop once the owner has run this many
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
    // Starts the history again: nothing before `start` can be undone.
    void restart_history(HistoryStart start);
    bool owner_running() const { return running() == goal_.owner; }

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
    HistoryStart history_start_;
    std::uint32_t selected_ = 0;    // the procedure the views show
    std::uint32_t last_running_ = 0;  // the procedure the last switch went to
    // Per procedure: switched out while waiting at its instruction, which it
    // tries again when resumed; that try does not stop at the breakpoint
    // there again (the first did) nor count as a step.
    std::vector<bool> waiting_;
    bool resuming_wait_ = false;

    static inline volatile std::sig_atomic_t interrupt_requested_ = 0;
    Goal goal_;
    bool first_ = true;  // the first instruction of a resume never stops at its own breakpoint
    Stop stop_;
};

}  // namespace polymer::debugger
