#include "vm/procs/procedures.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <chrono>
#include <utility>

#include "vm/interpreter.h"
#include "vm/interrupt.h"
#include "vm/ooo/reorder_engine.h"
#include "isa/counted.h"
#include "isa/requirements_text.h"

namespace polymer {

namespace {

// Each live procedure holds a value stack and a call stack of the machine's
// sizes (about 600 KiB with the defaults); this bounds what a runaway spawn
// loop can take before it traps.
constexpr std::size_t kMaxLiveProcedures = 1024;

// What a message carried, for the trace: "42", "2.5", "f64[8]".
std::string message_text(const Message& msg) {
    switch (msg.kind) {
    case MessageKind::Int: return std::to_string(static_cast<std::int64_t>(msg.bits));
    case MessageKind::Float: {
        char buf[32];
        std::snprintf(buf, sizeof buf, "%.17g", std::bit_cast<double>(msg.bits));
        return buf;
    }
    case MessageKind::Slice: return std::string(elem_type_name(msg.type)) + "[" + std::to_string(msg.length()) + "]";
    }
    return "?";
}

std::string mnemonic_at(const Module& m, std::uint32_t pc) {
    if (pc >= m.code.size() || !is_valid_op(word_op(m.code[pc]))) return "?";
    return std::string(op_info(static_cast<Op>(word_op(m.code[pc]))).mnemonic);
}


void add_stats(EngineStats& into, const EngineStats& s) {
    into.cycles += s.cycles;
    into.committed += s.committed;
    into.interpreted += s.interpreted;
    into.occupancy_sum += s.occupancy_sum;
    into.occupancy_max = std::max(into.occupancy_max, s.occupancy_max);
    into.frames += s.frames;
    into.predictions += s.predictions;
    into.mispredictions += s.mispredictions;
    into.squashed += s.squashed;
    into.squashed_long_ns += s.squashed_long_ns;
    into.stall_waits += s.stall_waits;
}

}  // namespace

std::string source_line(const Module& m, std::uint32_t pc) {
    if (pc >= m.lines.size() || m.lines[pc].line == 0) return "pc " + std::to_string(pc);
    return source_file_of(m, m.lines[pc]) + ":" + std::to_string(m.lines[pc].line);
}

LiveProcedure::LiveProcedure() = default;
LiveProcedure::~LiveProcedure() = default;
LiveProcedure::LiveProcedure(LiveProcedure&&) noexcept = default;
LiveProcedure& LiveProcedure::operator=(LiveProcedure&&) noexcept = default;

bool has_procedure_ops(const Module& m) {
    return std::any_of(m.code.begin(), m.code.end(), [](Word w) {
        return is_valid_op(word_op(w)) && has_effect(static_cast<Op>(word_op(w)), effect::Proc);
    });
}

Procedures::Procedures(Machine& m) : m_(m), log_(m.options().pipeline_log), nodes_(m.options().procedure_nodes) {}

Procedures::~Procedures() = default;

void Procedures::start(std::uint32_t proc) {
    const Module& mod = m_.module();
    procs_.clear();
    channels_.assign(mod.channels.size(), ChannelState{});
    barriers_.assign(mod.barriers.size(), BarrierState{});
    m_.enter(proc);
    LiveProcedure main;
    main.entry = proc;
    main.spawn_pc = mod.procs.at(proc).start;
    main.status = ProcStatus::Running;
    main.sends_on.assign(mod.channels.size(), 0);
    procs_.push_back(std::move(main));
    applied_ = {};
    home_releases_ = 0;
    frames_sent_.clear(), frames_received_.clear();
    kept_on_nodes_ = keeper_counts_added_ = false;
    if (nodes_ != nullptr && link_ == nullptr) nodes_->begin_run();
    current_ = last_run_ = 0;
    switches_ = 0;
    m_.set_time_sliced(false);
    if (log_ != nullptr) {
        log_->procedures = {"#0 " + mod.procs.at(proc).name};
        procs_[0].since_ns = now_ns();
    }
}

RunResult Procedures::run(std::uint32_t proc) {
    start(proc);
    return resume(nullptr);
}

RunResult Procedures::resume(ExecutionObserver* observer) {
    const Module& mod = m_.module();
    observer_ = observer;
    for (;;) {
        LiveProcedure& p = procs_[current_];
        if (log_ != nullptr) log_->procedure = p.id;
        // A procedure on a node: the home does what it did there (may spawn too).
        RunResult r = p.node != 0 ? replay(p) : run_slice(p, observer);  // may spawn: the deque keeps `p`
        if (r.status == RunStatus::Paused && observer != nullptr && p.node == 0)
            return r;  // the debugger stops here: p stays current
        if (log_ != nullptr) {
            trace_stretch(p, false);
            if (r.status == RunStatus::Blocked) p.wait_text = mnemonic_at(mod, m_.state().pc) + ": " + describe_wait(p);
        }
        switch (r.status) {
        case RunStatus::Halted:
            end(p);
            if (p.id == 0) return finish(r);
            break;
        case RunStatus::Trapped:
            if (procs_.size() > 1 && r.trap) r.trap->procedure = describe(p);
            return finish(r);
        case RunStatus::Blocked: p.status = ProcStatus::Waiting, ++p.waits; break;
        case RunStatus::Paused:  // its time slice is over; or, on a node, the home has done all it asked
            p.status = p.node != 0 ? ProcStatus::Away : ProcStatus::Ready;
            break;
        }
        std::optional<std::uint32_t> next = next_ready();
        if (away_live() > 0 || waits_for_nodes()) {
            // Procedures on nodes: take what they did meanwhile, and when
            // nothing here can run, wait for them (and for keepers' answers).
            if (take_events(std::chrono::steady_clock::now())) next = next_ready();
            while (!next && (waits_for_nodes() || std::any_of(procs_.begin(), procs_.end(), [](const LiveProcedure& q) {
                                 return q.status == ProcStatus::Away;
                             }))) {
                if (interrupt_requested()) {
                    RunResult stopped{RunStatus::Trapped, Trap{TrapKind::Interrupted, m_.state().pc, {}, {}}, 0};
                    return finish(stopped);
                }
                const bool got = take_events(std::chrono::steady_clock::now() + std::chrono::milliseconds(50));
                next = next_ready();
                if (!got && !next && deadlocked_at_keepers()) break;  // all wait, some at keepers on nodes
            }
        }
        if (!next) {
            // #0 has not ended, so it waits, and so does every other live one.
            if (current_ != 0) {
                switch_out(), switch_to(0);
                if (observer != nullptr) observer->procedure_switched(m_);
            }
            RunResult dead{RunStatus::Trapped, deadlock_trap(), m_.state().steps};
            return finish(dead);
        }
        if (*next != current_) {
            switch_out(), switch_to(*next), ++switches_;
            if (observer != nullptr) observer->procedure_switched(m_);
        } else {
            procs_[current_].status = ProcStatus::Running;
        }
        LiveProcedure& q = procs_[current_];
        if (log_ != nullptr && !q.wait_text.empty()) trace_stretch(q, true);
    }
}

std::uint64_t Procedures::now_ns() {
    if (!log_->origin_set) log_->origin = std::chrono::steady_clock::now(), log_->origin_set = true;
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - log_->origin).count());
}

// Ends p's current stretch on its track (running, or waiting for what
// wait_text says) and starts the next one now.
void Procedures::trace_stretch(LiveProcedure& p, bool waiting) {
    const std::uint64_t now = now_ns();
    log_->procedure_spans.push_back({p.id, p.since_ns, now, waiting, waiting ? p.wait_text : "runs"});
    p.since_ns = now;
    if (waiting) p.wait_text.clear();
}

RunResult Procedures::run_slice(LiveProcedure& p, ExecutionObserver* observer) {
    ++p.slices;
    last_run_ = p.id;
    m_.set_steps_elsewhere(steps() - m_.state().steps);  // --max-steps counts them all
    if (observer != nullptr) return interpret_observed(m_, *observer);  // the debugger steps in order
    if (m_.options().exec == ExecMode::InOrder) return interpret(m_);
    if (!p.engine) p.engine = std::make_unique<ooo::ReorderSession>(m_, m_.state().pc);
    return p.engine->run();
}

// The run is over: the steps of every procedure, and their engines' counters
// summed into the machine's (--stats). The machine's state stays the
// procedure that ended the run (#0, the trapping one, or #0 in a deadlock).
RunResult Procedures::finish(RunResult r) {
    if (link_ == nullptr) add_keeper_counts();  // while the nodes that keep channels are there
    if (link_ == nullptr && away_live() > 0)
        stop_away(r.status == RunStatus::Halted ? "the program ended" : "the program stopped: " + std::string(trap_name(r.trap ? r.trap->kind : TrapKind::Unsupported)));
    for (const LiveProcedure& p : procs_)
        if (p.id != current_) add_stats(m_.engine_stats(), p.engine_stats);
    for (LiveProcedure& p : procs_) p.engine.reset();  // each waits for what it has in flight
    m_.set_time_sliced(false);
    m_.set_steps_elsewhere(0);
    r.steps = steps();
    return r;
}

const MachineState& Procedures::state_of(std::uint32_t id) const {
    return id == current_ ? m_.state() : procs_.at(id).state;
}

std::uint64_t Procedures::steps() const {
    std::uint64_t n = 0;
    for (const LiveProcedure& p : procs_) n += state_of(p.id).steps;
    return n;
}

void Procedures::switch_out() {
    LiveProcedure& p = procs_[current_];
    std::swap(m_.state(), p.state);
    std::swap(m_.engine_stats(), p.engine_stats);
}

void Procedures::switch_to(std::uint32_t id) {
    LiveProcedure& p = procs_[id];
    std::swap(m_.state(), p.state);
    std::swap(m_.engine_stats(), p.engine_stats);
    p.status = ProcStatus::Running;
    current_ = id;
}

// Round robin from the one after the last to run, so a procedure that keeps
// running (time slices) cannot starve the others.
std::optional<std::uint32_t> Procedures::next_ready() const {
    const std::size_t n = procs_.size();
    for (std::size_t k = 1; k <= n; ++k) {
        const std::uint32_t id = static_cast<std::uint32_t>((last_run_ + k) % n);
        if (procs_[id].status == ProcStatus::Ready) return id;
    }
    return std::nullopt;
}

void Procedures::end(LiveProcedure& p) {
    release_here(p);
    p.status = ProcStatus::Ended;
    p.waits_for = {};
    p.result_r1 = p.lost.empty() ? m_.state().regs.r[1] : 0;
    p.result_f1 = p.lost.empty() ? m_.state().regs.f[1] : 0;
    p.events.clear();
    p.engine.reset();
    wake(WaitReason::Kind::Procedure, p.id);
    std::size_t live = 0;
    for (const LiveProcedure& q : procs_) live += q.status != ProcStatus::Ended && q.status != ProcStatus::Joined;
    m_.set_time_sliced(live > 1);
}

void Procedures::wake(WaitReason::Kind kind, std::uint32_t index) {
    for (LiveProcedure& q : procs_)
        if (q.status == ProcStatus::Waiting && q.waits_for.kind == kind && q.waits_for.index == index)
            q.status = ProcStatus::Ready;
}

Flow Procedures::wait_on(WaitReason::Kind kind, std::uint32_t index) {
    procs_[current_].waits_for = {kind, index};
    return Flow::Block;
}

Flow Procedures::trap(TrapKind kind, std::string detail) {
    m_.raised_trap() = Trap{kind, m_.state().pc, std::move(detail), {}};
    return Flow::Trap;
}

// --- the operations ---

Flow Procedures::spawn(std::uint32_t entry_pc, std::int64_t where, std::int64_t& handle) {
    if (link_ != nullptr) return link_->spawn(entry_pc, where, handle);
    if (where < -1)
        return trap(TrapKind::BadPlacement, "the placement is " + std::to_string(where) +
                                                ": it is -1 (any participant), 0 (the home) or a node's number");
    const std::size_t nodes = nodes_ != nullptr ? nodes_->count() : 0;
    if (where > 0 && static_cast<std::uint64_t>(where) > nodes)
        return trap(TrapKind::BadPlacement,
                    "node " + std::to_string(where) + ": " +
                        (nodes == 0 ? std::string("this run has no nodes (--nodes, --local-nodes)")
                                    : "this run has " + std::to_string(nodes) + (nodes == 1 ? " node" : " nodes")));
    const Module& mod = m_.module();
    const Procedure* proc = proc_containing(mod, entry_pc);  // the decoder resolved the operand to its first word
    // Where it may go: a procedure with requirements only to the nodes that
    // meet them (in turn when anywhere); else anywhere is the nodes in turn
    // (the home when there are none, and under the debugger, which steps
    // procedures on the home).
    std::vector<std::uint32_t> candidates;
    if (proc->requirements.any()) {
        Result<std::vector<std::uint32_t>> meeting = placements_meeting(*proc, where);
        if (!meeting) return trap(TrapKind::BadPlacement, meeting.error());
        candidates = std::move(meeting).value();
    } else if (where == -1 && nodes > 0 && observer_ == nullptr) {
        candidates.push_back(1 + static_cast<std::uint32_t>(next_node_ % nodes));
    } else if (where > 0) {
        candidates.push_back(static_cast<std::uint32_t>(where));
    }
    std::size_t live = 0;
    for (const LiveProcedure& q : procs_) live += q.status != ProcStatus::Ended && q.status != ProcStatus::Joined;
    if (live >= kMaxLiveProcedures)
        return trap(TrapKind::BadAllocation,
                    "more than " + std::to_string(kMaxLiveProcedures) + " live procedures (join some first)");
    const MachineState& parent = m_.state();
    LiveProcedure child;
    child.id = static_cast<std::uint32_t>(procs_.size());
    child.entry = static_cast<std::uint32_t>(proc - mod.procs.data());
    child.parent = current_;
    child.spawn_pc = parent.pc;
    child.status = ProcStatus::Ready;
    child.state.regs = parent.regs;
    child.state.call_stack.assign(parent.call_stack.size(), nullptr);
    child.state.value_stack.assign(parent.value_stack.size(), 0);
    child.state.pc = entry_pc;
    child.sends_on.assign(mod.channels.size(), 0);
    release_here(procs_[current_]);  // what the spawner wrote, the child sees
    // The first candidate that starts it: a node may still refuse (it is
    // unreachable, or the module is too big for it).
    std::string refusals;
    for (std::uint32_t node : candidates) {
        const std::string refused = spawn_away(child, node);
        if (where == -1) next_node_ = node;  // anywhere goes on after it next time
        if (refused.empty()) break;
        if (where > 0)
            return trap(TrapKind::BadPlacement, nodes_->name(node) + " cannot run procedure '" + proc->name + "': " + refused);
        refusals += (refusals.empty() ? "" : "; ") + nodes_->name(node) + ": it refused it: " + refused;
    }
    if (!refusals.empty() && child.node == 0 && proc->requirements.any())
        return trap(TrapKind::BadPlacement, "procedure '" + proc->name + "' " + requirements_text(proc->requirements) +
                                                ": no node that meets it could start it: " + refusals);
    // Anywhere without requirements: the home when the node refused.
    handle = child.id;
    if (log_ != nullptr) {
        log_->procedures.push_back("#" + std::to_string(child.id) + " " + proc->name +
                                   (child.node != 0 ? " (node " + std::to_string(child.node) + ")" : ""));
        child.since_ns = now_ns();
        child.wait_text = child.node != 0 ? std::string() : "ready: waits for its first turn";
    }
    procs_.push_back(std::move(child));  // `parent` may dangle from here: not used again
    m_.set_time_sliced(true);
    return Flow::Next;
}

// The nodes a procedure with requirements may start on for placement
// `where`, in the order to try them (anywhere: in turn, from the one after
// the last placed), or the bad-placement detail when there is none.
Result<std::vector<std::uint32_t>> Procedures::placements_meeting(const Procedure& proc, std::int64_t where) const {
    const std::string what = "procedure '" + proc.name + "' " + requirements_text(proc.requirements);
    if (where == 0) return Error{what + ": it .requires a node, and placement 0 is the home"};
    if (where > 0) {
        const auto node = static_cast<std::uint32_t>(where);
        if (std::string why = nodes_->unmet(node, proc.requirements); !why.empty())
            return Error{what + ": " + nodes_->name(node) + " does not meet it: " + why};
        return std::vector<std::uint32_t>{node};
    }
    const std::size_t nodes = nodes_ != nullptr ? nodes_->count() : 0;
    if (nodes == 0) return Error{what + ": no node meets it: this run has no nodes (--nodes, --local-nodes)"};
    std::vector<std::string> why(nodes + 1);  // why[n]: why node n does not meet them ("" when it does)
    for (std::uint32_t node = 1; node <= nodes; ++node) why[node] = nodes_->unmet(node, proc.requirements);
    std::vector<std::uint32_t> meeting;
    for (std::size_t k = 0; k < nodes; ++k)
        if (const auto node = static_cast<std::uint32_t>(1 + (next_node_ + k) % nodes); why[node].empty())
            meeting.push_back(node);
    if (meeting.empty()) {
        std::string reasons;
        for (std::uint32_t node = 1; node <= nodes; ++node)
            reasons += (node == 1 ? "" : "; ") + nodes_->name(node) + ": " + why[node];
        return Error{what + ": no node meets it: " + reasons};
    }
    return meeting;
}

Flow Procedures::join(std::int64_t handle, std::int64_t& r1, double& f1) {
    if (link_ != nullptr) return link_->join(handle, r1, f1);
    if (handle < 0 || static_cast<std::uint64_t>(handle) >= procs_.size())
        return trap(TrapKind::BadProcedure,
                    std::to_string(handle) + " is not a procedure handle (this run has #0 to #" +
                        std::to_string(procs_.size() - 1) + ")");
    const auto id = static_cast<std::uint32_t>(handle);
    if (id == current_) return trap(TrapKind::BadProcedure, "procedure #" + std::to_string(id) + " cannot join itself");
    LiveProcedure& target = procs_[id];
    if (target.status == ProcStatus::Joined)
        return trap(TrapKind::BadProcedure, "procedure #" + std::to_string(id) + " was joined already");
    if (target.status != ProcStatus::Ended) return wait_on(WaitReason::Kind::Procedure, id);
    target.status = ProcStatus::Joined;
    if (!target.lost.empty()) return trap(TrapKind::ProcedureLost, target.lost);
    r1 = target.result_r1;
    f1 = target.result_f1;
    return Flow::Next;
}

Flow Procedures::send(std::uint32_t channel, Message msg) {
    if (link_ != nullptr) return link_->send(channel, std::move(msg));
    ChannelState& c = channels_.at(channel);
    LiveProcedure& p = procs_[current_];
    if (c.keeper != 0) return send_to_keeper(p, channel, std::move(msg));
    if (c.queue.size() >= m_.module().channels[channel].capacity) return wait_on(WaitReason::Kind::Room, channel);
    release_here(p);
    ++p.sends_on.at(channel);
    std::size_t record = 0;
    if (log_ != nullptr) {
        record = log_->messages.size();
        log_->messages.push_back({channel, current_, 0, now_ns(), 0, message_text(msg)});
    }
    ++c.messages;
    c.bytes += msg.bytes();
    c.queue.push_back({std::move(msg), record, p.node});
    c.most_held = std::max<std::uint64_t>(c.most_held, c.queue.size());
    ++procs_[current_].messages_sent;
    wake(WaitReason::Kind::Message, channel);
    return Flow::Next;
}

Flow Procedures::recv(std::uint32_t channel, Message& msg) {
    if (link_ != nullptr) {
        const Flow f = link_->recv(channel, msg);
        if (f == Flow::Next) last_taken_ = msg.kind;
        return f;
    }
    ChannelState& c = channels_.at(channel);
    if (c.keeper != 0) return recv_from_keeper(procs_[current_], channel, msg);
    if (c.queue.empty()) return wait_on(WaitReason::Kind::Message, channel);
    const ChannelState::Queued& front = c.queue.front();
    msg = std::move(front.msg);
    c.last_from_node = front.from_node;
    last_taken_ = msg.kind;
    if (log_ != nullptr) {
        MessageRecord& r = log_->messages[front.record];
        r.to = current_;
        r.received_ns = now_ns();
    }
    c.queue.pop_front();
    ++procs_[current_].messages_received;
    wake(WaitReason::Kind::Room, channel);
    return Flow::Next;
}

Flow Procedures::barrier(std::uint32_t b) {
    if (link_ != nullptr) return link_->barrier(b);
    LiveProcedure& p = procs_[current_];
    BarrierState& s = barriers_.at(b);
    if (p.at_barrier && p.at_barrier->first == b) {
        if (s.round <= p.at_barrier->second) return wait_on(WaitReason::Kind::Barrier, b);
        p.at_barrier.reset();  // its round is complete: go on
        return Flow::Next;
    }
    release_here(p);
    if (++s.arrived >= m_.module().barriers[b].parties) {
        s.arrived = 0;
        ++s.round;
        wake(WaitReason::Kind::Barrier, b);
        return Flow::Next;  // the last to arrive does not wait
    }
    p.at_barrier = std::pair{b, s.round};
    return wait_on(WaitReason::Kind::Barrier, b);
}

// --- what they are doing, in words ---

std::string Procedures::where(const LiveProcedure& p) const {
    return p.node == 0 || nodes_ == nullptr ? std::string("the home") : nodes_->name(p.node);
}

std::string Procedures::describe(const LiveProcedure& p) const {
    std::string s = "procedure #" + std::to_string(p.id);
    if (p.id != 0) s += ", spawned by #" + std::to_string(p.parent) + " at " + source_line(m_.module(), p.spawn_pc) + ",";
    return s + " on " + where(p);
}

std::string Procedures::describe_wait(const LiveProcedure& p) const {
    const Module& mod = m_.module();
    const std::uint32_t i = p.waits_for.index;
    switch (p.waits_for.kind) {
    case WaitReason::Kind::None: break;
    case WaitReason::Kind::Message:
        if (channels_[i].keeper != 0)
            return "waits for a message on channel '" + mod.channels[i].name + "' (empty; kept on " + nodes_->name(channels_[i].keeper) + ")";
        return "waits for a message on channel '" + mod.channels[i].name + "' (empty)";
    case WaitReason::Kind::Room:
        if (channels_[i].keeper != 0)
            return "waits for room on channel '" + mod.channels[i].name + "' (full, capacity " +
                   std::to_string(mod.channels[i].capacity) + "; kept on " + nodes_->name(channels_[i].keeper) + ")";
        return "waits for room on channel '" + mod.channels[i].name + "' (full: " +
               std::to_string(channels_[i].queue.size()) + " of " + std::to_string(mod.channels[i].capacity) + ")";
    case WaitReason::Kind::Keeper:
        return "waits for channel '" + mod.channels[i].name + "', kept on " + nodes_->name(channels_[i].keeper);
    case WaitReason::Kind::Writes: return "waits for writes of other procedures on their way to the home";
    case WaitReason::Kind::Procedure: {
        const LiveProcedure& q = procs_[i];
        return "waits for procedure #" + std::to_string(i) + " (" + mod.procs.at(q.entry).name + ") to end";
    }
    case WaitReason::Kind::Barrier:
        return "waits at barrier '" + mod.barriers[i].name + "' (" + std::to_string(barriers_[i].arrived) + " of " +
               std::to_string(mod.barriers[i].parties) + " arrived)";
    }
    return "is not waiting";
}

std::uint32_t Procedures::pc_of(const LiveProcedure& p) const { return state_of(p.id).pc; }

Trap Procedures::deadlock_trap() const {
    const Module& mod = m_.module();
    std::string detail = "every live procedure waits, so none can go on:";
    for (const LiveProcedure& p : procs_) {
        if (p.status != ProcStatus::Waiting && p.status != ProcStatus::Running) continue;
        const std::uint32_t pc = pc_of(p);
        detail += "\n  #" + std::to_string(p.id) + " " + mod.procs.at(p.entry).name + " at " + source_line(mod, pc) +
                  ": " + mnemonic_at(mod, pc) + " " + describe_wait(p);
    }
    for (const LiveProcedure& p : procs_)  // one of them may have waited for a procedure that is gone
        if (!p.lost.empty() && p.status == ProcStatus::Ended) detail += "\n  and " + p.lost;
    return Trap{TrapKind::Deadlock, m_.state().pc, detail, procs_.size() > 1 ? describe(procs_[0]) : std::string{}};
}

std::vector<std::uint32_t> Procedures::still_running() const {
    std::vector<std::uint32_t> out;
    for (const LiveProcedure& p : procs_)
        if (p.id != 0 && p.status != ProcStatus::Ended && p.status != ProcStatus::Joined) out.push_back(p.id);
    return out;
}

std::string Procedures::stats_text() const {
    const Module& mod = m_.module();
    std::string s = "polymer-run: procedures: " + std::to_string(procs_.size()) + " (#0 and " +
                    std::to_string(procs_.size() - 1) + " spawned), " + counted(switches_, "switch") +
                    " between them\n";
    for (const LiveProcedure& p : procs_) {
        const std::uint64_t steps = state_of(p.id).steps;
        s += "polymer-run:   #" + std::to_string(p.id) + " " + mod.procs.at(p.entry).name +
             (p.node != 0 ? " (on " + where(p) + ")" : std::string()) + ": " +
             counted(steps, "instruction") + ", " + counted(p.slices, "turn") + ", waited " + counted(p.waits, "time") +
             ", sent " + counted(p.messages_sent, "message") + ", received " + counted(p.messages_received, "message") +
             (p.node != 0 ? "; region bytes " + std::to_string(p.bytes_to_home) + " to the home, " +
                                std::to_string(p.bytes_from_home) + " from it"
                          : std::string()) +
             (p.launched_on.empty() ? std::string() : "; its launches ran on " + p.launched_on) + "\n";
    }
    for (std::size_t i = 0; i < channels_.size(); ++i) {
        const ChannelState& c = channels_[i];
        s += "polymer-run: channel '" + mod.channels[i].name + "': " + counted(c.messages, "message") + ", " +
             counted(c.bytes, "byte") + ", at most " + std::to_string(c.most_held) + " of " +
             std::to_string(mod.channels[i].capacity) + " held at once" +
             (c.keeper != 0 ? "; handed to " + nodes_->name(c.keeper) + ", where its receivers run" : std::string()) +
             (c.on_credit != 0 ? "; " + counted(c.on_credit, "send") + " went on credit, without waiting" : std::string()) + "\n";
    }
    for (std::size_t i = 0; i < barriers_.size(); ++i)
        s += "polymer-run: barrier '" + mod.barriers[i].name + "': " + counted(barriers_[i].round, "round") + " of " +
             std::to_string(mod.barriers[i].parties) + " procedures\n";
    return s;
}

std::string Procedures::still_running_text() const {
    const Module& mod = m_.module();
    std::string s;
    for (std::uint32_t id : still_running()) {
        const LiveProcedure& p = procs_[id];
        const std::uint32_t pc = pc_of(p);
        s += "the program ended with procedure #" + std::to_string(id) + " (" + mod.procs.at(p.entry).name +
             ") still running" + (p.node != 0 ? " on " + where(p) : std::string()) + "; it was stopped at " +
             source_line(mod, pc) + " (" + mnemonic_at(mod, pc) + ")";
        if (p.status == ProcStatus::Waiting) s += ", where it " + describe_wait(p);
        s += "\n";
    }
    return s;
}

}  // namespace polymer
