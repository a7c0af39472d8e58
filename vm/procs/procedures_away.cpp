// Procedures on nodes (vm/procs/away.h), at the home and on the node: the
// home starts them, does what they did there in their order, and answers
// them; a node runs one with its operations going to the home (run_linked).
#include <algorithm>

#include "vm/interrupt.h"
#include "vm/procs/procedures.h"

namespace polymer {

namespace {

// Elements [begin, end) that bytes [offset, offset + n) of `g` touch.
std::pair<std::uint64_t, std::uint64_t> elements_of(const Region& g, std::uint64_t offset, std::uint64_t n) {
    const std::uint64_t size = elem_size(g.type);
    return {offset / size, (offset + n + size - 1) / size};
}

Trap away_trap(TrapKind kind, std::uint32_t pc, std::string detail) { return Trap{kind, pc, std::move(detail), {}}; }

}  // namespace

std::size_t Procedures::away_live() const {
    return static_cast<std::size_t>(std::count_if(procs_.begin(), procs_.end(), [](const LiveProcedure& p) {
        return p.node != 0 && p.status != ProcStatus::Ended && p.status != ProcStatus::Joined;
    }));
}

std::string Procedures::spawn_away(LiveProcedure& child, std::uint32_t node) {
    const Module& mod = m_.module();
    const MachineOptions& o = m_.options();
    AwayStart s;
    s.id = child.id;
    s.entry_pc = child.state.pc;
    s.exec = o.exec;
    s.rob_size = o.rob_size;
    s.kernel_steps = o.kernel_steps;
    if (o.max_steps != 0) s.max_steps = std::max<std::uint64_t>(1, o.max_steps - std::min(o.max_steps, steps()));
    s.int_regs.assign(std::begin(child.state.regs.r), std::end(child.state.regs.r));
    s.float_regs.assign(std::begin(child.state.regs.f), std::end(child.state.regs.f));
    for (std::size_t i = 0; i < m_.regions().size(); ++i) s.region_lengths.push_back(m_.regions()[i].length);
    s.args = o.args;
    for (std::uint32_t c = 0; c < channels_.size(); ++c)
        if (channels_[c].keeper != 0) s.keepers.emplace_back(c, channels_[c].keeper);
    Result<std::uint64_t> key = nodes_->start(node, mod, s);
    if (!key) return key.error();
    child.node = node;
    child.away_key = key.value();
    child.status = ProcStatus::Away;
    child.twin = zero_twin(m_.regions());  // a node's copy starts as zeros: only what is not goes
    acquire(child);
    nodes_->answer(child.away_key, acquired());
    return {};
}

void Procedures::acquire(LiveProcedure& p) {
    // Every region as the home's procedures and long ops left it: the
    // cluster's copies come home, and what is in flight finishes.
    m_.backend().wait_all();
    for (std::size_t i = 0; i < m_.regions().size(); ++i) {
        const Region& g = m_.regions()[i];
        m_.bring_home(g, 0, g.length, HomeAccess::Read);
    }
    // Regions allocated anew since it last heard go first, with their lengths.
    AwayAnswer a{AwayAnswer::Kind::Writes, {}, {}, 0, 0, {}};
    a.lengths = take_lengths(m_.regions(), p.twin);
    std::vector<RegionWrite> writes = take_changes(m_.regions(), p.twin);
    // A few writes per answer, each answer at most kMaxWriteBytes and a bit.
    std::size_t bytes = 0;
    for (RegionWrite& w : writes) {
        if (!a.writes.empty() && bytes + w.bytes.size() > kMaxWriteBytes) {
            nodes_->answer(p.away_key, std::move(a));
            a = AwayAnswer{AwayAnswer::Kind::Writes, {}, {}, 0, 0, {}};
            bytes = 0;
        }
        bytes += w.bytes.size();
        p.bytes_from_home += w.bytes.size();
        a.writes.push_back(std::move(w));
    }
    if (!a.writes.empty() || !a.lengths.empty()) nodes_->answer(p.away_key, std::move(a));
}

AwayAnswer Procedures::acquired(Message msg, std::int64_t r1, double f1) const {
    AwayAnswer a{AwayAnswer::Kind::Done, {}, std::move(msg), r1, f1, {}};
    a.clock = applied_;
    return a;
}

bool Procedures::take_events(std::chrono::steady_clock::time_point deadline) {
    bool got = take_keeper_answers();
    for (;;) {
        auto e = nodes_->next_event(got ? std::chrono::steady_clock::now() : deadline);
        if (!e) return take_keeper_answers() || got;
        got = true;
        take_keeper_answers();
        auto it = std::find_if(procs_.begin(), procs_.end(), [&](const LiveProcedure& q) {
            return q.node != 0 && q.away_key == e->first && q.status != ProcStatus::Ended && q.status != ProcStatus::Joined;
        });
        if (it == procs_.end()) continue;  // one that ended here already (a trap decided at home)
        if (e->second.kind == AwayEvent::Kind::Lost) {
            // Its node is gone: what it asked for and waits for here will
            // never be answered, so the loss goes first, whatever it waited for.
            keeper_lost(it->node, e->second.text);
            it->events.clear();
            it->at_barrier.reset();
            it->waits_for = {};
            it->status = ProcStatus::Ready;
        } else if (it->status == ProcStatus::Away) {
            it->status = ProcStatus::Ready;
        }
        it->events.push_back(std::move(e->second));
    }
}

// Node `node` is gone, and with it the channels it kept: whoever waits on
// one here learns it now, and whoever uses one later traps.
void Procedures::keeper_lost(std::uint32_t node, const std::string& why) {
    for (std::uint32_t c = 0; c < channels_.size(); ++c) {
        ChannelState& ch = channels_[c];
        if (ch.keeper != node || !ch.keeper_lost.empty()) continue;
        ch.keeper_lost = "it was kept on " + nodes_->name(node) + ", which was lost: " + why;
        for (LiveProcedure& q : procs_)
            if (q.status == ProcStatus::Waiting && q.waits_for.kind == WaitReason::Kind::Keeper && q.waits_for.index == c &&
                !q.keeper_answer) {
                ChannelFrame failed;
                failed.kind = ChannelFrame::Kind::Failed;
                failed.channel = c;
                failed.text = ch.keeper_lost;
                q.keeper_answer = std::move(failed);
                q.status = ProcStatus::Ready;
            }
    }
}

void Procedures::stop_away(const std::string& why) {
    for (LiveProcedure& p : procs_)
        if (p.node != 0 && p.status != ProcStatus::Ended && p.status != ProcStatus::Joined) nodes_->stop(p.away_key, why);
}

// Does, in order, what procedure `p` did on its node: its region writes,
// output and operations, answering those that wait. Blocked when one must
// wait here (it runs again, from that event, when woken); Paused when all
// are done and it runs on; Halted at its end; Trapped at its trap.
RunResult Procedures::replay(LiveProcedure& p) {
    ++p.slices;
    last_run_ = p.id;
    MachineState& st = m_.state();  // p's, switched in
    const Module& mod = m_.module();
    while (!p.events.empty()) {
        AwayEvent& e = p.events.front();
        st.steps = std::max(st.steps, e.steps);
        if (e.kind != AwayEvent::Kind::Writes && e.kind != AwayEvent::Kind::Output) st.pc = e.pc;
        Flow f = Flow::Next;
        switch (e.kind) {
        case AwayEvent::Kind::Writes:
            // Regions it allocated anew, then its bytes.
            if (!e.lengths.empty()) m_.backend().wait_all();  // nothing in flight may use the old storage
            for (const RegionLength& l : e.lengths) {
                if (std::string why = apply_length(m_.regions(), p.twin, l, &m_.backend()); !why.empty())
                    return {RunStatus::Trapped,
                            away_trap(TrapKind::BadAllocation, st.pc, where(p) + " allocated a region anew that the home cannot hold: " + why),
                            st.steps};
            }
            for (const RegionWrite& w : e.writes) {
                // A region the home allocated anew since the node last heard:
                // the write raced with that alloc, and the alloc wins (as if
                // the write came first).
                if (w.region < m_.regions().size() && w.region < p.twin.size() &&
                    m_.regions()[w.region].bytes() != p.twin[w.region].size())
                    continue;
                if (w.region < m_.regions().size()) {  // else apply_write refuses it
                    Region& g = m_.regions()[w.region];
                    const auto [b, end] = elements_of(g, w.offset, w.bytes.size());
                    if (end <= g.length) m_.bring_home(g, b, end, HomeAccess::Write);
                }
                p.bytes_to_home += w.bytes.size();
                if (!apply_write(m_.regions(), p.twin, w))
                    return {RunStatus::Trapped,
                            away_trap(TrapKind::Unsupported, st.pc,
                                      where(p) + " sent a write outside the regions (region " + std::to_string(w.region) +
                                          ", bytes at " + std::to_string(w.offset) + ")"),
                            st.steps};
            }
            applied_.raise(p.id, ++p.writes_applied);
            wake(WaitReason::Kind::Writes, 0);  // a message from a kept channel may have waited for these
            break;
        case AwayEvent::Kind::Output: m_.out().write(e.text); break;
        case AwayEvent::Kind::Send:
            if (e.index >= channels_.size()) return {RunStatus::Trapped, away_trap(TrapKind::Unsupported, e.pc, "no such channel"), st.steps};
            f = send(e.index, e.message);  // a copy: when the channel is full the event stays for the next try
            break;
        case AwayEvent::Kind::Recv: {
            if (e.index >= channels_.size()) return {RunStatus::Trapped, away_trap(TrapKind::Unsupported, e.pc, "no such channel"), st.steps};
            Message msg;
            if (channels_[e.index].keeper == 0) {
                f = recv(e.index, msg);
                if (f == Flow::Next) {
                    acquire(p);
                    nodes_->answer(p.away_key, acquired(std::move(msg)));
                    maybe_hand_over(p, e.index);  // its next recv goes to the keeper
                    break;
                }
                if (f == Flow::Block) maybe_hand_over(p, e.index);
            }
            if (const std::uint32_t keeper = channels_[e.index].keeper; keeper != 0) {
                // Kept on a node (now, or since before its node knew): it asks there.
                p.waits_for = {};
                nodes_->answer(p.away_key, AwayAnswer{AwayAnswer::Kind::Moved, {}, {}, keeper, 0, {}});
                f = Flow::Next;
            }
            break;
        }
        case AwayEvent::Kind::Acquire:
            // A message it took from a kept channel names writes it lacks:
            // once the home has them all, they go to it.
            if (!applied_.covers(e.clock)) {
                f = wait_on(WaitReason::Kind::Writes, 0);
                break;
            }
            acquire(p);
            nodes_->answer(p.away_key, acquired());
            break;
        case AwayEvent::Kind::Join: {
            std::int64_t r1 = 0;
            double f1 = 0;
            f = join(e.value, r1, f1);
            if (f == Flow::Next) {
                acquire(p);
                nodes_->answer(p.away_key, acquired({}, r1, f1));
            }
            break;
        }
        case AwayEvent::Kind::Spawn: {
            if (e.int_regs.size() != kIntRegisters || e.float_regs.size() != kFloatRegisters || proc_containing(mod, e.index) == nullptr ||
                mod.procs.at(static_cast<std::size_t>(proc_containing(mod, e.index) - mod.procs.data())).start != e.index)
                return {RunStatus::Trapped, away_trap(TrapKind::Unsupported, e.pc, where(p) + " sent a malformed spawn"), st.steps};
            std::copy(e.int_regs.begin(), e.int_regs.end(), st.regs.r);
            std::copy(e.float_regs.begin(), e.float_regs.end(), st.regs.f);
            std::int64_t handle = 0;
            f = spawn(e.index, e.value, handle);  // may grow procs_: `p` and `e` stay (a deque)
            if (f == Flow::Next) nodes_->answer(p.away_key, AwayAnswer{AwayAnswer::Kind::Done, {}, {}, handle, 0, {}});
            break;
        }
        case AwayEvent::Kind::Barrier:
            if (e.index >= barriers_.size()) return {RunStatus::Trapped, away_trap(TrapKind::Unsupported, e.pc, "no such barrier"), st.steps};
            f = barrier(e.index);
            if (f == Flow::Next) {
                acquire(p);
                nodes_->answer(p.away_key, acquired());
            }
            break;
        case AwayEvent::Kind::End:
            p.launched_on = std::move(e.text);
            // Its own count: sends and recvs that went to keepers on nodes never passed here.
            p.messages_sent = std::max<std::uint64_t>(p.messages_sent, static_cast<std::uint64_t>(std::max<std::int64_t>(e.value, 0)));
            p.messages_received = std::max<std::uint64_t>(p.messages_received, e.index);
            if (e.int_regs.size() > 1) st.regs.r[1] = e.int_regs[1];
            if (e.float_regs.size() > 1) st.regs.f[1] = e.float_regs[1];
            p.events.pop_front();
            return {RunStatus::Halted, std::nullopt, st.steps};
        case AwayEvent::Kind::Trap:
            return {RunStatus::Trapped, away_trap(e.trap, e.pc, std::move(e.text)), st.steps};
        case AwayEvent::Kind::Lost:
            p.lost = "procedure #" + std::to_string(p.id) + " (" + mod.procs.at(p.entry).name + ") was lost with " +
                     where(p) + " (last heard from at " + source_line(mod, st.pc) + "): " + e.text;
            p.events.clear();
            return {RunStatus::Halted, std::nullopt, st.steps};
        }
        if (f == Flow::Block) return {RunStatus::Blocked, std::nullopt, st.steps};
        if (f == Flow::Trap) return {RunStatus::Trapped, m_.raised_trap(), st.steps};
        p.events.pop_front();
    }
    return {RunStatus::Paused, std::nullopt, st.steps};
}

RunResult Procedures::run_linked(const AwayStart& s, ProcedureLink& link) {
    const Module& mod = m_.module();
    const Procedure* proc = proc_containing(mod, s.entry_pc);
    start(static_cast<std::uint32_t>(proc - mod.procs.data()));
    link_ = &link;
    std::copy(s.int_regs.begin(), s.int_regs.end(), m_.state().regs.r);
    std::copy(s.float_regs.begin(), s.float_regs.end(), m_.state().regs.f);
    m_.set_time_sliced(true);  // a poll every time slice: the home may stop it
    for (;;) {
        RunResult r = run_slice(procs_[0], nullptr);
        if (r.status == RunStatus::Halted || r.status == RunStatus::Trapped) return finish(r);
        const bool go_on = r.status == RunStatus::Blocked ? link.wait() : !link.stopped();
        if (!go_on) return finish({RunStatus::Trapped, away_trap(TrapKind::Interrupted, m_.state().pc, "stopped by the home"), 0});
    }
}

}  // namespace polymer
