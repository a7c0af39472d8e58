// Channels kept on nodes, at the home (docs/architecture.md, "vm/procs/"):
// when a channel is empty, only procedures on one node wait to take from it
// and its last message came from a node, the home hands it to that node,
// whose keeper (NodeChannels, KeptChannel) holds it from then on, so a
// message between two nodes' procedures crosses the network once. The
// home's own procedures, and the sends and recvs of nodes' procedures that
// reached the home before their node learned where the channel went, become
// frames to the keeper.
//
// The memory model's orders hold through clocks (ViewClock): the home
// counts the writes its regions include (applied_), a message carries what
// its sender's regions had seen, and a receiver lacking some of it acquires
// from the home once the home has them. Deadlocks are found by asking every
// node which of its procedures wait at a keeper and how many channel frames
// it sent and got: all waiting and no frame on its way is a deadlock.
#include <algorithm>

#include "vm/procs/procedures.h"

namespace polymer {

void Procedures::release_here(const LiveProcedure& p) {
    if (p.node == 0 && nodes_ != nullptr && nodes_->direct_channels())
        applied_.raise(ViewClock::kHomeWrites, ++home_releases_);
}

// After p on a node took a message from `channel` at the home, or found it
// empty: hand it to p's node when its messages come from nodes and no other
// participant waits to take from it.
void Procedures::maybe_hand_over(const LiveProcedure& p, std::uint32_t channel) {
    ChannelState& c = channels_.at(channel);
    // A message from the home's own procedures goes no faster through a
    // keeper on the node (it waits there to be accepted): hand a channel over
    // only once its messages come from nodes.
    if (p.node == 0 || nodes_ == nullptr || !nodes_->direct_channels() || log_ != nullptr || observer_ != nullptr ||
        c.keeper != 0 || c.last_from_node == 0)
        return;
    for (const LiveProcedure& q : procs_)
        if (q.status == ProcStatus::Waiting && q.waits_for.kind == WaitReason::Kind::Message && q.waits_for.index == channel &&
            q.node != p.node)
            return;  // receivers on more than one participant: the home stays in the middle
    std::vector<std::pair<std::uint32_t, std::uint64_t>> expects;
    for (const LiveProcedure& q : procs_)
        if (channel < q.sends_on.size() && q.sends_on[channel] > 0) expects.emplace_back(q.id, q.sends_on[channel]);
    // What is in it goes along, each with the home's clock (it covers its
    // sender's writes: the home applied them before the send).
    std::vector<KeptMessage> queued;
    for (ChannelState::Queued& q : c.queue) queued.push_back(KeptMessage{{q.from_node, 0}, std::move(q.msg), applied_});
    c.queue.clear();
    c.keeper = p.node;
    kept_on_nodes_ = true;
    nodes_->keep(p.node, channel, m_.module().channels[channel].capacity, expects, std::move(queued));
    wake(WaitReason::Kind::Room, channel);  // senders waiting here for room send to the keeper now
    // The others waiting on it ask its keeper again (their Recv is done here).
    for (LiveProcedure& q : procs_) {
        if (q.id == p.id || q.status != ProcStatus::Waiting || q.waits_for.kind != WaitReason::Kind::Message ||
            q.waits_for.index != channel)
            continue;
        nodes_->answer(q.away_key, AwayAnswer{AwayAnswer::Kind::Moved, {}, {}, p.node, 0, {}});
        if (!q.events.empty()) q.events.pop_front();
        q.waits_for = {};
        q.status = ProcStatus::Ready;
    }
}

Flow Procedures::send_to_keeper(LiveProcedure& p, std::uint32_t channel, Message msg) {
    ChannelState& c = channels_.at(channel);
    if (p.keeper_answer) {
        const ChannelFrame f = std::move(*p.keeper_answer);
        p.keeper_answer.reset();
        p.keeper_asked = false;
        if (f.kind == ChannelFrame::Kind::Failed)
            return trap(TrapKind::ProcedureLost, "send on channel '" + m_.module().channels[channel].name + "': " + f.text);
        ++p.messages_sent;
        return Flow::Next;
    }
    if (!c.keeper_lost.empty())
        return trap(TrapKind::ProcedureLost, "send on channel '" + m_.module().channels[channel].name + "': " + c.keeper_lost);
    if (!p.keeper_asked) {
        release_here(p);
        ChannelFrame f;
        f.kind = ChannelFrame::Kind::Send;
        f.channel = channel;
        f.party = {0, p.id};  // the home sends it, and takes the answer, for a procedure on a node too
        f.seq = p.sends_on.at(channel)++;
        f.message = std::move(msg);
        f.clock = applied_;  // covers the sender's writes: the home applied them before this send
        nodes_->to_keeper(c.keeper, std::move(f));
        ++frames_sent_[c.keeper];
        p.keeper_asked = true;
    }
    return wait_on(WaitReason::Kind::Keeper, channel);
}

Flow Procedures::recv_from_keeper(LiveProcedure& p, std::uint32_t channel, Message& msg) {
    ChannelState& c = channels_.at(channel);
    if (p.keeper_answer) {
        if (p.keeper_answer->kind == ChannelFrame::Kind::Failed) {
            const std::string why = p.keeper_answer->text;
            p.keeper_answer.reset();
            p.keeper_asked = false;
            return trap(TrapKind::ProcedureLost, "recv on channel '" + m_.module().channels[channel].name + "': " + why);
        }
        // What its sender had seen must be in the home's regions first.
        if (!applied_.covers(p.keeper_answer->clock)) return wait_on(WaitReason::Kind::Writes, 0);
        msg = std::move(p.keeper_answer->message);
        last_taken_ = msg.kind;
        p.keeper_answer.reset();
        p.keeper_asked = false;
        ++p.messages_received;
        return Flow::Next;
    }
    if (!c.keeper_lost.empty())
        return trap(TrapKind::ProcedureLost, "recv on channel '" + m_.module().channels[channel].name + "': " + c.keeper_lost);
    if (!p.keeper_asked) {
        ChannelFrame f;
        f.kind = ChannelFrame::Kind::Want;
        f.channel = channel;
        f.party = {0, p.id};
        nodes_->to_keeper(c.keeper, std::move(f));
        ++frames_sent_[c.keeper];
        p.keeper_asked = true;
    }
    return wait_on(WaitReason::Kind::Keeper, channel);
}

bool Procedures::take_keeper_answers() {
    if (nodes_ == nullptr || !kept_on_nodes_) return false;
    bool got = false;
    while (auto in = nodes_->next_channel_frame()) {
        got = true;
        ++frames_received_[in->first];
        ChannelFrame& f = in->second;
        if (f.kind == ChannelFrame::Kind::Failed && f.party.proc == ChannelFrame::kNoProcedure) {
            keeper_lost(in->first, f.text);  // a node that kept channels is gone
            continue;
        }
        if (f.party.proc >= procs_.size()) continue;
        LiveProcedure& p = procs_[f.party.proc];
        if (p.status == ProcStatus::Ended || p.status == ProcStatus::Joined) continue;
        p.keeper_answer = std::move(f);
        if (p.status == ProcStatus::Waiting && p.waits_for.kind == WaitReason::Kind::Keeper) p.status = ProcStatus::Ready;
    }
    return got;
}

bool Procedures::waits_for_nodes() const {
    return std::any_of(procs_.begin(), procs_.end(), [](const LiveProcedure& q) {
        return q.status == ProcStatus::Waiting &&
               (q.waits_for.kind == WaitReason::Kind::Keeper || q.waits_for.kind == WaitReason::Kind::Writes);
    });
}

bool Procedures::deadlocked_at_keepers() {
    if (!kept_on_nodes_) return false;
    std::optional<std::vector<ChannelSnapshot>> snaps = nodes_->snapshot();
    if (!snaps) return false;
    // No frame on its way: every one sent was taken where it went.
    auto sent_by = [&](std::uint32_t from, std::uint32_t to) -> std::uint64_t {
        const auto& m = from == 0 ? frames_sent_ : (*snaps)[from - 1].sent;
        auto it = m.find(to);
        return it == m.end() ? 0 : it->second;
    };
    auto taken_by = [&](std::uint32_t at, std::uint32_t from) -> std::uint64_t {
        const auto& m = at == 0 ? frames_received_ : (*snaps)[at - 1].received;
        auto it = m.find(from);
        return it == m.end() ? 0 : it->second;
    };
    const std::uint32_t n = static_cast<std::uint32_t>(snaps->size());
    auto gone = [&](std::uint32_t who) { return who != 0 && (*snaps)[who - 1].gone; };
    for (std::uint32_t a = 0; a <= n; ++a)
        for (std::uint32_t b = 0; b <= n; ++b)
            if (a != b && !gone(a) && !gone(b) && sent_by(a, b) != taken_by(b, a)) return false;
    std::map<std::uint32_t, ChannelSnapshot::Blocked> at_keepers;
    for (const ChannelSnapshot& s : *snaps)
        for (const ChannelSnapshot::Blocked& b : s.blocked) at_keepers[b.proc] = b;
    for (const LiveProcedure& q : procs_) {
        if (q.status == ProcStatus::Ended || q.status == ProcStatus::Joined) continue;
        if (q.status == ProcStatus::Away && (!q.events.empty() || !at_keepers.contains(q.id))) return false;
        if (q.status == ProcStatus::Ready || q.status == ProcStatus::Running) return false;
        if (q.status == ProcStatus::Waiting && (q.keeper_answer || q.waits_for.kind == WaitReason::Kind::Writes)) return false;
    }
    for (LiveProcedure& q : procs_)
        if (q.status == ProcStatus::Away) {
            const ChannelSnapshot::Blocked& b = at_keepers.at(q.id);
            q.status = ProcStatus::Waiting;
            q.waits_for = {b.sending ? WaitReason::Kind::Room : WaitReason::Kind::Message, b.channel};
            (q.id == current_ ? m_.state() : q.state).pc = b.pc;  // where it waits on its node
        }
    return true;
}

void Procedures::add_keeper_counts() {
    if (!kept_on_nodes_ || keeper_counts_added_) return;
    std::optional<std::vector<ChannelSnapshot>> snaps = nodes_->snapshot();
    if (!snaps) return;
    keeper_counts_added_ = true;
    for (const ChannelSnapshot& s : *snaps)
        for (const ChannelSnapshot::Kept& k : s.kept) {
            if (k.channel >= channels_.size()) continue;
            ChannelState& c = channels_[k.channel];
            c.messages += k.messages;
            c.bytes += k.bytes;
            c.most_held = std::max(c.most_held, k.most_held);
            c.on_credit += k.on_credit;
        }
}

}  // namespace polymer
