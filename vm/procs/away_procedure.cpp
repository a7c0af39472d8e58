// The node's side of a procedure spawned away from the home (vm/procs/away.h):
// a Machine of its own whose procedure operations become events for the home
// (ProcedureLink), with release consistency for the regions: its writes go
// to the home at each release (send, spawn, barrier, its end), the home's
// come in the answers to its acquires (its start, recv, join, barrier).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>

#include "vm/machine.h"
#include "vm/output.h"
#include "vm/procs/procedures.h"
#include "vm/procs/region_sync.h"

namespace polymer {

std::uint64_t start_region_bytes(const Module& module, const AwayStart& start) {
    std::uint64_t total = 0;
    for (std::size_t i = 0; i < module.regions.size(); ++i) {
        const RegionDecl& r = module.regions[i];
        const std::uint64_t length = std::max(r.length, i < start.region_lengths.size() ? start.region_lengths[i] : 0);
        const std::uint64_t size = elem_size(r.type);
        if (length > (UINT64_MAX - total) / size) return UINT64_MAX;
        total += length * size;
    }
    return total;
}

struct AwayProcedure::State final : ProcedureLink {
    State(const Module& m, AwayStart s, std::function<void(AwayEvent)> e, NodeChannels* c, ProcedureWaits* w)
        : module(m), start(std::move(s)), emit(std::move(e)), channels(c), sent_on(m.channels.size(), 0) {
        if (w == nullptr) own_waits = std::make_unique<PlainWaits>();
        waits = w != nullptr ? w : own_waits.get();
    }

    const Module& module;
    AwayStart start;
    std::function<void(AwayEvent)> emit;
    // Channels kept on nodes (null: the home keeps them all); what its
    // regions have seen of everyone's writes (the memory model's clock); the
    // Writes events it sent the home (its own entry in that clock); its
    // sends on each channel (a kept channel's keeper orders them by these).
    NodeChannels* channels;
    ViewClock view;
    std::uint64_t writes_sent = 0;
    std::vector<std::uint64_t> sent_on;
    std::uint64_t received = 0;  // messages it took, wherever they were kept
    // What it prints goes to the home as Output events, in order with the rest.
    OutputBuffer out{[this](std::string_view s) {
        AwayEvent e;
        e.kind = AwayEvent::Kind::Output;
        e.text.assign(s);
        emit(std::move(e));
    }};
    std::unique_ptr<Machine> machine;  // after `out`: it writes there until it goes
    RegionTwin twin;                   // the region bytes the home has of it

    // How it waits (shared by the procedures of its home on this node, or its own).
    std::unique_ptr<PlainWaits> own_waits;
    ProcedureWaits* waits = nullptr;
    std::mutex mutex;
    std::deque<AwayAnswer> inbox;
    // The answers of kept channels' keepers, from from_keepers_head on (a
    // vector emptied once all were taken keeps its room: a deque allocated
    // a block every few messages).
    std::vector<ChannelFrame> from_keepers;
    std::size_t from_keepers_head = 0;
    std::atomic<std::size_t> queued{0};
    std::atomic<bool> stop_requested{false};
    std::string stop_why;  // under `mutex`
    // Set when it cannot go on with what the home sent (it stops, and run()
    // sends this as its trap, so the home never waits for it).
    std::optional<Trap> failed;

    // The operation waiting for its answer: asked once (of the home, or of a
    // kept channel's keeper), done when it came. A message from a keeper
    // whose sender's writes the regions lack waits while they are acquired.
    bool asked = false;
    std::optional<AwayAnswer> done;
    std::optional<ChannelFrame> keeper_answer;
    std::optional<Message> acquiring;

    AwayEvent event(AwayEvent::Kind kind) {
        AwayEvent e;
        e.kind = kind;
        e.pc = machine->state().pc;
        e.steps = machine->state().steps;
        return e;
    }

    Flow refuse(TrapKind kind, std::string detail) {
        machine->raised_trap() = Trap{kind, machine->state().pc, std::move(detail), {}};
        return Flow::Trap;
    }

    // A release: what it wrote since the last one goes to the home first.
    // Its output so far goes before anything else it does.
    // Regions it allocated anew (alloc, free) go first, with their lengths.
    Flow release() {
        out.flush();
        std::vector<RegionLength> lengths = take_lengths(machine->regions(), twin);
        std::vector<RegionWrite> changes = take_changes(machine->regions(), twin);
        if (lengths.empty() && changes.empty()) return Flow::Next;  // most sends: no event to build
        AwayEvent e = event(AwayEvent::Kind::Writes);
        e.lengths = std::move(lengths);
        std::size_t bytes = 0;
        for (RegionWrite& w : changes) {
            if (!e.writes.empty() && bytes + w.bytes.size() > kMaxWriteBytes) {
                emit_writes(std::move(e));
                e = event(AwayEvent::Kind::Writes);
                bytes = 0;
            }
            bytes += w.bytes.size();
            e.writes.push_back(std::move(w));
        }
        if (!e.writes.empty() || !e.lengths.empty()) emit_writes(std::move(e));
        return Flow::Next;
    }
    // Each Writes event counts in its clock: a message it sends after it
    // names it, so that a receiver lacking it acquires it from the home.
    void emit_writes(AwayEvent e) {
        emit(std::move(e));
        view.raise(start.id, ++writes_sent);
    }
    AwayAnswer take_done() {
        AwayAnswer a = std::move(*done);
        done.reset();
        asked = false;
        view.merge(a.clock);  // an acquire's answer: the writes the home's regions include
        return a;
    }
    ChannelFrame take_keeper_answer() {
        ChannelFrame f = std::move(*keeper_answer);
        keeper_answer.reset();
        asked = false;
        return f;
    }
    Flow keeper_failed(const char* op, std::uint32_t channel, const ChannelFrame& f) {
        return refuse(TrapKind::ProcedureLost, std::string(op) + " on channel '" + module.channels.at(channel).name +
                                                   "', kept on a node: " + f.text);
    }

    // An operation the home answers: asks once (after a release when it is
    // one), then blocks until wait() has the answer.
    Flow ask(AwayEvent e, bool releases) {
        if (done) return Flow::Next;
        if (!asked) {
            if (releases) {
                if (release() == Flow::Trap) return Flow::Trap;
            } else {
                out.flush();
            }
            emit(std::move(e));
            asked = true;
        }
        return Flow::Block;
    }
    // --- ProcedureLink ---
    Flow spawn(std::uint32_t entry_pc, std::int64_t where, std::int64_t& handle) override {
        AwayEvent e = event(AwayEvent::Kind::Spawn);
        e.index = entry_pc;
        e.value = where;
        const RegisterFile& regs = machine->state().regs;
        e.int_regs.assign(std::begin(regs.r), std::end(regs.r));
        e.float_regs.assign(std::begin(regs.f), std::end(regs.f));
        const Flow f = ask(std::move(e), true);
        if (f == Flow::Next) handle = take_done().r1;
        return f;
    }
    Flow join(std::int64_t handle, std::int64_t& r1, double& f1) override {
        AwayEvent e = event(AwayEvent::Kind::Join);
        e.value = handle;
        const Flow f = ask(std::move(e), false);
        if (f == Flow::Next) {
            const AwayAnswer a = take_done();
            r1 = a.r1, f1 = a.f1;
        }
        return f;
    }
    Flow send(std::uint32_t channel, Message msg) override {
        if (keeper_answer) {  // its keeper took it, or cannot be reached
            const ChannelFrame f = take_keeper_answer();
            return f.kind == ChannelFrame::Kind::Failed ? keeper_failed("send", channel, f) : Flow::Next;
        }
        if (asked) return Flow::Block;
        if (release() == Flow::Trap) return Flow::Trap;
        const std::uint64_t seq = sent_on.at(channel)++;
        if (channels != nullptr) {
            // To its keeper on a node, which answers once the message is in:
            // it goes on then, or at once on a credit its node holds.
            switch (channels->send(channel, start.id, machine->state().pc, seq, std::move(msg), view)) {  // msg stays when NotKept
            case NodeChannels::Sent::OnCredit: return Flow::Next;
            case NodeChannels::Sent::Waits: asked = true; return Flow::Block;
            case NodeChannels::Sent::NotKept: break;  // the home keeps it
            }
        }
        AwayEvent e = event(AwayEvent::Kind::Send);
        e.index = channel;
        e.message = std::move(msg);
        emit(std::move(e));
        return Flow::Next;  // the home holds its later events while the channel is full
    }
    Flow recv(std::uint32_t channel, Message& msg) override {
        if (acquiring) {  // the home's writes the message's sender had made are in now
            if (!done) return Flow::Block;
            take_done();
            msg = std::move(*acquiring);
            acquiring.reset();
            ++received;
            return Flow::Next;
        }
        if (keeper_answer) {
            ChannelFrame f = take_keeper_answer();
            if (f.kind == ChannelFrame::Kind::Failed) return keeper_failed("recv", channel, f);
            if (view.covers(f.clock)) {
                msg = std::move(f.message);
                ++received;
                return Flow::Next;
            }
            AwayEvent e = event(AwayEvent::Kind::Acquire);
            e.clock = std::move(f.clock);
            out.flush();
            emit(std::move(e));
            acquiring = std::move(f.message);
            return Flow::Block;
        }
        if (done && done->kind == AwayAnswer::Kind::Moved) {
            // The home handed the channel to a node while this recv was on its way.
            channels->keeper_is(channel, static_cast<std::uint32_t>(take_done().r1));
        } else if (asked) {
            if (!done) return Flow::Block;
            msg = take_done().message;
            ++received;
            return Flow::Next;
        }
        out.flush();
        if (channels != nullptr && channels->want(channel, start.id, machine->state().pc)) {  // kept on a node
            asked = true;
            return Flow::Block;
        }
        AwayEvent e = event(AwayEvent::Kind::Recv);
        e.index = channel;
        return ask(std::move(e), false);
    }
    Flow barrier(std::uint32_t b) override {
        AwayEvent e = event(AwayEvent::Kind::Barrier);
        e.index = b;
        const Flow f = ask(std::move(e), true);
        if (f == Flow::Next) take_done();
        return f;
    }

    // Until the answer the blocked operation waits for is in (the home's
    // writes applied first); false when stopped.
    bool wait() override {
        if (channels != nullptr) channels->send_lent_credits();  // nothing of ours will carry them for a while
        const std::function<bool()> ready = [this] { return queued.load(std::memory_order_acquire) != 0 || stop_requested.load(); };
        for (;;) {
            waits->wait(ready);
            std::unique_lock lock(mutex);
            if (stop_requested.load()) return false;
            while (!inbox.empty()) {
                AwayAnswer a = std::move(inbox.front());
                inbox.pop_front();
                queued.fetch_sub(1, std::memory_order_relaxed);
                switch (a.kind) {
                case AwayAnswer::Kind::Writes:
                    // Regions the home allocated anew first, then its bytes.
                    for (const RegionLength& l : a.lengths)
                        if (std::string why = apply_length(machine->regions(), twin, l, &machine->backend()); !why.empty()) {
                            failed = Trap{TrapKind::BadAllocation, machine->state().pc,
                                          "the home allocated a region anew, and this node cannot hold it: " + why, {}};
                            stop_requested = true;
                            return false;
                        }
                    for (const RegionWrite& w : a.writes)
                        if (!apply_write(machine->regions(), twin, w)) {
                            failed = Trap{TrapKind::Unsupported, machine->state().pc, "the home sent a write outside the regions", {}};
                            stop_requested = true;
                            return false;
                        }
                    break;
                case AwayAnswer::Kind::Done:
                case AwayAnswer::Kind::Moved: done = std::move(a); return true;
                case AwayAnswer::Kind::Stop:
                    stop_why = a.text;
                    stop_requested = true;
                    return false;
                }
            }
            if (from_keepers_head < from_keepers.size()) {
                keeper_answer = std::move(from_keepers[from_keepers_head++]);
                if (from_keepers_head == from_keepers.size()) {
                    from_keepers.clear();
                    from_keepers_head = 0;
                }
                queued.fetch_sub(1, std::memory_order_relaxed);
                return true;
            }
        }
    }
    bool stopped() const override { return stop_requested.load(); }
};

Result<std::unique_ptr<AwayProcedure>> AwayProcedure::create(const Module& module, AwayStart start, Backend* backend,
                                                             std::function<void(AwayEvent)> emit, NodeChannels* channels,
                                                             ProcedureWaits* waits) {
    if (start.int_regs.size() != kIntRegisters || start.float_regs.size() != kFloatRegisters)
        return Error{"the start has " + std::to_string(start.int_regs.size()) + " integer and " +
                     std::to_string(start.float_regs.size()) + " float registers; the machine has " +
                     std::to_string(kIntRegisters) + " of each"};
    const Procedure* proc = proc_containing(module, start.entry_pc);
    if (proc == nullptr || proc->start != start.entry_pc)
        return Error{"pc " + std::to_string(start.entry_pc) + " is not the first word of a procedure"};
    if (start.region_lengths.size() != module.regions.size())
        return Error{"the start gives " + std::to_string(start.region_lengths.size()) + " region lengths; the module has " +
                     std::to_string(module.regions.size()) + " regions"};
    if (start.rob_size < 2) return Error{"a reorder buffer of " + std::to_string(start.rob_size) + " entries"};
    for (const auto& [channel, node] : start.keepers)
        if (channel >= module.channels.size() || node == 0)
            return Error{"the start names channel " + std::to_string(channel) + " kept on node " + std::to_string(node) +
                         "; the module has " + std::to_string(module.channels.size()) + " channels"};
    auto state = std::make_unique<State>(module, std::move(start), std::move(emit), channels, waits);
    const AwayStart& s = state->start;
    MachineOptions o;
    // Its regions may be allocated anew (alloc, free), within the bytes the
    // node set aside for them at the start (cluster/away_host.cpp).
    o.memory_limit = start_region_bytes(module, s);
    o.memory_limit_note = "a procedure on a node holds at most the bytes its regions had at its spawn; allocate at the home "
                          "before the spawn";
    o.max_steps = s.max_steps;
    o.kernel_steps = s.kernel_steps;
    o.backend = backend;
    o.exec = s.exec;
    o.rob_size = s.rob_size;
    o.args = s.args;
    auto machine = Machine::create(module, state->out, o);
    if (!machine) return Error{machine.error()};
    state->machine = std::move(machine).value();
    Machine& m = *state->machine;
    if (m.procedures() == nullptr) return Error{"the module has no procedure instructions"};
    // The regions start as zeros at the lengths the home has: the start's
    // answers bring every byte that is not zero.
    for (std::size_t i = 0; i < m.regions().size(); ++i) {
        Region& g = m.regions()[i];
        const std::uint64_t length = s.region_lengths[i];
        if (length != g.length) {
            if (std::string why = m.regions().allocate(g, static_cast<std::int64_t>(length), &m.backend()); !why.empty())
                return Error{"region '" + std::string(g.name) + "': " + why};
        } else if (g.bytes() != 0) {
            std::memset(g.data, 0, g.bytes());
        }
    }
    state->twin = zero_twin(m.regions());
    if (channels != nullptr) {
        for (const auto& [channel, node] : s.keepers) channels->keeper_is(channel, node);
        State* st = state.get();
        channels->attach(s.id, [st](ChannelFrame&& f) {
            {
                std::lock_guard lock(st->mutex);
                st->from_keepers.push_back(std::move(f));
            }
            st->queued.fetch_add(1, std::memory_order_release);
            st->waits->wake();
        });
    }
    return std::unique_ptr<AwayProcedure>(new AwayProcedure(std::move(state)));
}

AwayProcedure::AwayProcedure(std::unique_ptr<State> state) : state_(std::move(state)) {}
AwayProcedure::~AwayProcedure() {
    if (state_->channels != nullptr) state_->channels->detach(state_->start.id);
}

void AwayProcedure::run() {
    State& s = *state_;
    RunResult r;
    if (!s.wait()) {  // the start is an acquire: the home's bytes, then Done
        if (!s.failed) return;
        r = RunResult{RunStatus::Trapped, s.failed, 0};
    } else {
        s.take_done();  // the start is an acquire: its clock
        try {
            r = s.machine->procedures()->run_linked(s.start, s);
        } catch (const std::exception& e) {
            // A backend that cannot go on throws (a cluster the procedure
            // launches over with no node left that can run a kernel): the
            // launch's procedure traps where it waited for it.
            r = RunResult{RunStatus::Trapped, Trap{TrapKind::BadLaunch, s.machine->state().pc, e.what(), {}}, s.machine->steps()};
        }
        if (s.failed) r = RunResult{RunStatus::Trapped, s.failed, r.steps};
        else if (s.stopped()) return;
    }
    if (r.status == RunStatus::Halted) {
        if (s.release() == Flow::Trap) {
            r = RunResult{RunStatus::Trapped, s.machine->raised_trap(), r.steps};
        } else {
            AwayEvent e = s.event(AwayEvent::Kind::End);
            // Its messages, those that went through keepers on nodes included (--stats).
            std::uint64_t sent = 0;
            for (std::uint64_t n : s.sent_on) sent += n;
            e.value = static_cast<std::int64_t>(sent);
            e.index = static_cast<std::uint32_t>(std::min<std::uint64_t>(s.received, UINT32_MAX));
            const RegisterFile& regs = s.machine->state().regs;
            e.int_regs.assign(std::begin(regs.r), std::end(regs.r));
            e.float_regs.assign(std::begin(regs.f), std::end(regs.f));
            e.steps = r.steps;
            s.emit(std::move(e));
            return;
        }
    }
    s.out.flush();
    AwayEvent e = s.event(AwayEvent::Kind::Trap);
    const Trap t = r.trap.value_or(Trap{TrapKind::Unsupported, s.machine->state().pc, "it stopped", {}});
    e.pc = t.pc;
    e.trap = t.kind;
    e.text = t.detail;
    e.steps = r.steps;
    s.emit(std::move(e));
}

void AwayProcedure::answer(AwayAnswer a) {
    State& s = *state_;
    {
        std::lock_guard lock(s.mutex);
        s.inbox.push_back(std::move(a));
    }
    s.queued.fetch_add(1, std::memory_order_release);
    s.waits->wake();
}

void AwayProcedure::stop(const std::string& why) {
    State& s = *state_;
    {
        std::lock_guard lock(s.mutex);
        if (s.stop_why.empty()) s.stop_why = why;
        s.stop_requested = true;
    }
    s.waits->wake();
}

}  // namespace polymer
