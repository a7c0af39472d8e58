// Procedures that run on their own (docs/language.md, "Procedures"): the
// runtime behind spawn, join, send, recv and barrier, and the scheduler that
// runs a program's procedures on the home.
//
// Every procedure has its own registers, call stack, value stack and pc (a
// MachineState) and shares the module's regions and the machine's backend
// and output. They run on the home as cooperative threads of one OS thread:
// one at a time, each until it waits (a recv on an empty channel, a send to a
// full one, a join of a running procedure, a barrier not yet full), ends,
// traps, or has run a time slice. So a run is deterministic for a given
// --exec mode, a procedure needs no locks, and a deadlock is exact: no
// procedure can run and some wait.
//
// The machine's state is the running procedure's: switching swaps the
// MachineState (and the engine's counters) in and out, and each procedure in
// an engine mode keeps its own reorder engine, so a `recv` waiting at the head
// of the ROB keeps the younger independent work it has already done.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "vm/insns.h"
#include "vm/machine.h"
#include "vm/ooo/pipeline_log.h"
#include "vm/procs/away.h"
#include "vm/procs/region_sync.h"

namespace polymer {

namespace ooo {
class ReorderSession;
}

enum class ProcStatus : std::uint8_t {
    Ready,    // can run
    Running,  // its state is the machine's now
    Waiting,  // blocked on `waits_for`
    Away,     // runs on its node, and the home has done all it asked so far
    Ended,    // returned from its entry procedure or halted; r1/f1 kept for join
    Joined,   // ended and joined: its handle is spent
};

// What a waiting procedure waits for.
struct WaitReason {
    // Keeper: the answer of the node that keeps channel `index` (a send to
    // be accepted, a message to be delivered); Writes: writes of others the
    // home has not had yet (an Acquire, a message from a kept channel).
    enum class Kind : std::uint8_t { None, Message, Room, Procedure, Barrier, Keeper, Writes } kind = Kind::None;
    std::uint32_t index = 0;  // the channel, the procedure, the barrier
};

struct LiveProcedure {
    std::uint32_t id = 0;          // the handle spawn returns; the main procedure is #0
    std::uint32_t entry = 0;       // Module::procs index it started at
    std::uint32_t parent = 0;      // who spawned it (#0 for #0)
    std::uint32_t spawn_pc = 0;    // the parent's spawn word (#0: its entry word)
    ProcStatus status = ProcStatus::Ready;
    WaitReason waits_for;
    MachineState state;            // its registers and stacks while it is not running
    EngineStats engine_stats;      // its engine's counters while it is not running
    std::unique_ptr<ooo::ReorderSession> engine;  // engine modes, made at its first slice
    // A barrier it has reached: the barrier and its round then; it goes on
    // once the barrier's round has moved past.
    std::optional<std::pair<std::uint32_t, std::uint64_t>> at_barrier;
    std::int64_t result_r1 = 0;    // r1, f1 as it ended
    double result_f1 = 0;
    std::uint64_t slices = 0;      // times it was scheduled
    std::uint64_t messages_sent = 0, messages_received = 0;
    std::uint64_t waits = 0;           // times it had to wait
    std::uint64_t since_ns = 0;        // --trace: when its current stretch (running, waiting) began
    std::string wait_text;             // --trace: what it waits for, in words, from when it began
    // A procedure on a node (vm/procs/away.h): its node (0: the home), the
    // key ProcedureNodes knows it by, what it did there that the home has not
    // done yet, the region bytes the home knows its node has, and, when its
    // node was lost, why (it then ended without a result).
    std::uint32_t node = 0;
    std::uint64_t away_key = 0;
    std::deque<AwayEvent> events;
    RegionTwin twin;
    std::string lost;
    std::uint64_t bytes_to_home = 0, bytes_from_home = 0;  // region bytes its releases sent, its acquires got (--stats)
    std::string launched_on;  // on a node with `.launches cluster`: where its launches ran, as its node said (--stats)
    // Channels kept on nodes: its sends on each channel (the keeper orders
    // them by these), the Writes events of its the home applied (its entry
    // in the home's clock), and the keeper's answer to the send or recv the
    // home made for it.
    std::vector<std::uint64_t> sends_on;
    std::uint64_t writes_applied = 0;
    bool keeper_asked = false;
    std::optional<ChannelFrame> keeper_answer;

    LiveProcedure();
    ~LiveProcedure();
    LiveProcedure(LiveProcedure&&) noexcept;
    LiveProcedure& operator=(LiveProcedure&&) noexcept;
};

struct ChannelState {
    struct Queued {
        Message msg;
        std::size_t record = 0;  // its MessageRecord in the trace, when one is kept
        std::uint32_t from_node = 0;  // where its sender ran (0: the home)
    };
    std::deque<Queued> queue;
    std::uint64_t messages = 0;  // sent in all (--stats)
    std::uint64_t bytes = 0;
    std::uint64_t most_held = 0;  // the deepest the queue got
    std::uint64_t on_credit = 0;  // of the messages, those a node sent on credit (kept on a node)
    // Kept on node `keeper` (0: here) from the time the home handed it over;
    // why that node was lost, once it was.
    std::uint32_t keeper = 0;
    std::string keeper_lost;
    // Where the sender of the last message taken from it ran (0: the home):
    // a channel goes to a node only for messages that come from nodes.
    std::uint32_t last_from_node = 0;
};

struct BarrierState {
    std::uint32_t arrived = 0;  // in this round
    std::uint64_t round = 0;    // rounds completed
};

// Whether `m` has a procedure instruction (spawn, join, send, recv,
// barrier): then a Machine runs it through Procedures.
bool has_procedure_ops(const Module& m);

// "prog.pasm:12" for the word at `pc`, or "pc 7" when it has no line.
std::string source_line(const Module& m, std::uint32_t pc);

// The node's side of a procedure away from the home (vm/procs/away_procedure.cpp):
// its operations go to the home, which does them, instead of to the scheduler.
class ProcedureLink {
public:
    virtual ~ProcedureLink() = default;
    virtual Flow spawn(std::uint32_t entry_pc, std::int64_t where, std::int64_t& handle) = 0;
    virtual Flow join(std::int64_t handle, std::int64_t& r1, double& f1) = 0;
    virtual Flow send(std::uint32_t channel, Message msg) = 0;
    virtual Flow recv(std::uint32_t channel, Message& msg) = 0;
    virtual Flow barrier(std::uint32_t b) = 0;
    // After an operation returned Flow::Block: waits until it can run again.
    // False when the home stopped the procedure meanwhile.
    virtual bool wait() = 0;
    virtual bool stopped() const = 0;
};

class Procedures {
public:
    explicit Procedures(Machine& m);
    ~Procedures();

    // Runs `proc` as procedure #0 and every procedure it spawns until #0
    // ends (halt, or a return from `proc`: the program ends, and procedures
    // still running are stopped; still_running() names them), a trap in any
    // of them, or a deadlock. The steps are every procedure's.
    RunResult run(std::uint32_t proc);
    // The same in two halves, for the debugger (Machine::start, Machine::resume):
    // start() makes `proc` procedure #0 at its first word and runs nothing;
    // resume() schedules until the run ends or, in order under `observer`,
    // the observer pauses (status Paused: the procedure it paused in is the
    // machine's state, and resume() goes on with it).
    void start(std::uint32_t proc);
    RunResult resume(ExecutionObserver* observer);
    // On a node: runs the one procedure `start` names (its registers, its
    // entry) with its procedure operations going through `link`, until it
    // ends or traps (a trap `interrupted` when the link is stopped).
    RunResult run_linked(const AwayStart& start, ProcedureLink& link);

    // --- the running procedure's operations (the bodies' x.spawn ... through MachineContext) ---
    // Flow::Next when done, Flow::Block when it must wait (the reason is
    // recorded), Flow::Trap with the trap in machine.raised_trap().
    Flow spawn(std::uint32_t entry_pc, std::int64_t where, std::int64_t& handle);  // entry_pc: a procedure's first word
    Flow join(std::int64_t handle, std::int64_t& r1, double& f1);
    Flow send(std::uint32_t channel, Message msg);
    Flow recv(std::uint32_t channel, Message& msg);
    Flow barrier(std::uint32_t barrier);

    // The kind of the message the last recv took (a bad-message trap says it).
    MessageKind last_taken() const { return last_taken_; }

    // --- what the debugger, --stats and --trace see ---
    const std::deque<LiveProcedure>& all() const { return procs_; }
    std::uint32_t current() const { return current_; }
    // Procedure `id`'s registers, stacks and pc: the machine's for the
    // current one (running, or the one the run ended in, whatever its
    // status), else its own. (The current one's own `state` holds what the
    // last switch swapped out: no one's.)
    const MachineState& state_of(std::uint32_t id) const;
    // The instructions every procedure has run so far.
    std::uint64_t steps() const;
    const std::vector<ChannelState>& channels() const { return channels_; }
    const std::vector<BarrierState>& barriers() const { return barriers_; }
    // "waits for a message on channel 'pongs' (empty, capacity 1)"
    std::string describe_wait(const LiveProcedure& p) const;
    // "procedure #2, spawned by #0 at prog.pasm:12, on the home" (or "on node 1 'box2' (10.0.0.2:7447)")
    std::string describe(const LiveProcedure& p) const;
    // The procedures that had not ended when #0 did.
    std::vector<std::uint32_t> still_running() const;
    // For --stats: procedures, switches, and each channel's and barrier's traffic.
    std::string stats_text() const;
    // "the program ended with procedure #2 (worker) still running, stopped at prog.pasm:14: recv ...", or "".
    std::string still_running_text() const;

private:
    void switch_to(std::uint32_t id);  // swaps its state into the machine
    void switch_out();                 // and back
    RunResult run_slice(LiveProcedure& p, ExecutionObserver* observer);
    RunResult finish(RunResult r);
    std::uint32_t pc_of(const LiveProcedure& p) const;
    std::string where(const LiveProcedure& p) const;  // "the home", "node 1 'box2' (...)"
    // Procedures on nodes (vm/procs/away.h), at the home.
    // Starts `child` on `node`: "" when it started (child.node is then
    // `node`), else why the node refused it.
    std::string spawn_away(LiveProcedure& child, std::uint32_t node);
    Result<std::vector<std::uint32_t>> placements_meeting(const Procedure& proc, std::int64_t where) const;
    RunResult replay(LiveProcedure& p);                  // does what it did there, in order
    void acquire(LiveProcedure& p);                      // sends it the region bytes it lacks
    AwayAnswer acquired(Message msg = {}, std::int64_t r1 = 0, double f1 = 0) const;  // Done after an acquire, with applied_
    void keeper_lost(std::uint32_t node, const std::string& why);
    bool take_events(std::chrono::steady_clock::time_point deadline);  // false when none came
    void stop_away(const std::string& why);              // every one still running
    std::size_t away_live() const;
    std::optional<std::uint32_t> next_ready() const;
    void wake(WaitReason::Kind kind, std::uint32_t index);
    Flow wait_on(WaitReason::Kind kind, std::uint32_t index);
    Trap deadlock_trap() const;
    // Channels kept on nodes (docs/architecture.md, "vm/procs/").
    void release_here(const LiveProcedure& p);  // a release of a procedure on the home: its writes count in applied_
    void maybe_hand_over(const LiveProcedure& p, std::uint32_t channel);
    Flow send_to_keeper(LiveProcedure& p, std::uint32_t channel, Message msg);
    Flow recv_from_keeper(LiveProcedure& p, std::uint32_t channel, Message& msg);
    bool take_keeper_answers();  // false when none came
    bool waits_for_nodes() const;  // a procedure here waits for a node: a keeper's answer, writes on their way
    // Every live procedure waits, those on nodes at kept channels, and no
    // frame is on its way: true after marking what each waits for.
    bool deadlocked_at_keepers();
    void add_keeper_counts();  // --stats: what the channels kept on nodes carried
    void end(LiveProcedure& p);
    Flow trap(TrapKind kind, std::string detail);
    // --trace (MachineOptions::pipeline_log): procedure tracks and message arrows.
    std::uint64_t now_ns();
    void trace_stretch(LiveProcedure& p, bool waiting);

    Machine& m_;
    std::deque<LiveProcedure> procs_;  // a deque: a spawn keeps references to the others valid
    std::uint32_t current_ = 0;
    std::uint32_t last_run_ = 0;  // round robin starts after it
    std::vector<ChannelState> channels_;
    std::vector<BarrierState> barriers_;
    PipelineLog* log_ = nullptr;
    MessageKind last_taken_ = MessageKind::Int;
    std::uint64_t switches_ = 0;
    ProcedureNodes* nodes_ = nullptr;  // where spawn may place procedures besides the home
    std::uint32_t next_node_ = 0;      // `anywhere` deals them out in turn
    ExecutionObserver* observer_ = nullptr;  // the debugger's: everything then runs on the home
    ProcedureLink* link_ = nullptr;    // on a node: the operations go to the home
    // The writes the home's regions include (each procedure's Writes events,
    // and the home's own procedures' releases as kHomeWrites), the frames it
    // exchanged with each keeper's node, and whether any channel is kept on one.
    ViewClock applied_;
    std::uint64_t home_releases_ = 0;
    std::map<std::uint32_t, std::uint64_t> frames_sent_, frames_received_;
    bool kept_on_nodes_ = false;
    bool keeper_counts_added_ = false;
};

}  // namespace polymer
