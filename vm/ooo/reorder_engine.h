// The reorder-buffer engine behind `--exec frames|ooo|spec`
// (docs/execution.md). It drives a Machine's architectural state (registers,
// regions, stacks, output) as the in-order interpreter would, but keeps up to
// `rob_size` instructions in flight:
//
//   issue    in program order into the reorder buffer (ROB); register operands
//            are renamed (RenameMap: the entry that will produce each one),
//            region operands get their dependencies from a per-region
//            scoreboard (the last writer, the readers since);
//   execute  as soon as the operands are ready: scalar ops at once, vector ops
//            and kernels submitted to the backend and left in flight;
//   commit   in program order: registers are written to the machine, output,
//            stores, the value stack and traps happen here only.
//
// frames: issue stops at the end of each basic block and an instruction may
// execute only when every instruction of the earlier frames has (the head of
// the ROB always may, so the engine cannot deadlock).
// spec: a branch whose condition is not ready is predicted (BranchPredictor)
// and issue goes on; a misprediction squashes the younger entries.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "vm/machine.h"

namespace polymer::ooo {

class ReorderEngine;

// What the debugger sees of the engine (vm/debugger/debug_session.h).
struct RobEvent {
    enum class Kind : std::uint8_t { Issue, Commit, Squash } kind;
    std::uint64_t cycle = 0;
    std::uint64_t seq = 0, last_seq = 0;  // Squash: the range seq..last_seq
    std::uint32_t pc = 0;                 // Issue, Commit
};

enum class RobState : std::uint8_t { Issued, Executing, Done };

struct RobEntryView {
    std::uint64_t seq = 0;
    std::uint32_t pc = 0;
    RobState state = RobState::Issued;
    bool operands_ready = false;  // registers and regions it reads are produced
    bool on_backend = false;      // a vector op or kernel submitted and not yet finished
    bool predicted = false;       // spec: a branch issued on a prediction, not yet resolved
};

class CycleObserver {
public:
    virtual ~CycleObserver() = default;
    virtual void event(const RobEvent& e) = 0;
    // Before each commit, with the machine showing the committed state at
    // the instruction about to commit (pc, steps, call depth): true leaves it
    // and the rest of this cycle's commits for later.
    virtual bool hold_commits(const Machine& m) = 0;
    // After each cycle, with the machine showing the committed position as
    // before a commit; true pauses the run (status Paused) with the ROB kept.
    virtual bool after_cycle(const Machine& m) = 0;
};

// An engine that lives across calls, for the debugger and for each procedure
// of a program that spawns them: run() goes on from
// where the last call paused. The machine's pc() then is the oldest
// uncommitted instruction (the architectural pc).
class ReorderSession {
public:
    ReorderSession(Machine& m, std::uint32_t start_pc);
    ~ReorderSession();
    // `changes` (may be null) sees every committed change, as in order.
    RunResult run(CycleObserver& observer, StateObserver* changes);
    // Goes on with no observer: a procedure's slice (vm/procs/). Returns
    // Blocked with the ROB kept when the head waits for another procedure.
    RunResult run();
    std::vector<RobEntryView> entries();
    // Squashes every uncommitted entry, as a trap would: the machine is then
    // exactly its committed state, and the next run issues from its pc().
    // The debugger flushes before it reads the call stack or changes the
    // state (bt, set, backstep) and again after, to pick up the new pc.
    void flush();
    // The call stack as the committed state has it (the engine moves it at
    // issue): the return pc of each active call, outermost first.
    std::vector<std::uint32_t> committed_call_stack() const;

private:
    std::unique_ptr<ReorderEngine> engine_;
};

// Runs from `start_pc` with the machine's current stacks (as Machine::run sets
// them up) until halt or a trap, and fills m's engine stats.
RunResult run_reorder_engine(Machine& m, std::uint32_t start_pc);

}  // namespace polymer::ooo
