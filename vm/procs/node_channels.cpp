#include "vm/procs/node_channels.h"

#include <algorithm>
#include <utility>

namespace polymer {

void NodeChannels::keep(std::uint32_t channel, std::uint64_t capacity,
                        const std::vector<std::pair<std::uint32_t, std::uint64_t>>& expects, std::vector<KeptMessage> queued,
                        bool lend) {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = kept_.try_emplace(channel, channel, capacity, lend ? self_ : KeptChannel::kNoCredits);
    if (fresh) {
        for (const auto& [proc, next] : expects) it->second.expect(proc, next);
        for (KeptMessage& m : queued) it->second.preload(std::move(m));
    }
    keepers_[channel] = self_;
}

void NodeChannels::keeper_is(std::uint32_t channel, std::uint32_t node) {
    std::lock_guard lock(mutex_);
    keepers_[channel] = node;
}

void NodeChannels::attach(std::uint32_t proc, Waiter waiter) {
    std::lock_guard lock(mutex_);
    waiters_[proc] = std::move(waiter);
}

void NodeChannels::detach(std::uint32_t proc) {
    std::unique_lock lock(mutex_);
    const std::size_t first = outbox_.size();
    waiters_.erase(proc);
    unblock(proc);
    // A procedure stopped in a recv or send leaves the channels kept
    // here: a message must not go to it, nor its send go in.
    for (auto& [index, ch] : kept_) {
        KeptChannel::Effects fx;
        ch.forget({self_, proc}, fx);
        effects(index, fx);
    }
    lend_with(first);
    while (auto node = lent_unsent_.some_node()) queue_credits(*node);
    unsent_changed();
    finish(lock);
}

NodeChannels::Sent NodeChannels::send(std::uint32_t channel, std::uint32_t proc, std::uint32_t pc, std::uint64_t seq,
                                      Message&& message, const ViewClock& clock) {
    std::unique_lock lock(mutex_);
    const auto k = keepers_.find(channel);
    if (k == keepers_.end()) return Sent::NotKept;
    const std::uint32_t keeper = k->second;
    const std::size_t first = outbox_.size();
    ChannelFrame f;
    f.kind = ChannelFrame::Kind::Send;
    f.channel = channel;
    f.party = {self_, proc};
    f.seq = seq;
    f.message = std::move(message);
    f.clock = clock;
    Sent sent = Sent::Waits;
    if (keeper == self_) {
        block({proc, channel, pc, true});
        if (std::string why = keep_frame(f); !why.empty()) fail_here(channel, proc, std::move(why));
    } else if (auto c = credits_.find(channel); c != credits_.end() && c->second > 0) {
        --c->second;
        f.kind = ChannelFrame::Kind::SendOnCredit;
        sent = Sent::OnCredit;
        route(keeper, std::move(f));
    } else {
        block({proc, channel, pc, true});
        route(keeper, std::move(f));
    }
    lend_with(first);
    finish(lock);
    return sent;
}

bool NodeChannels::want(std::uint32_t channel, std::uint32_t proc, std::uint32_t pc) {
    std::unique_lock lock(mutex_);
    const auto k = keepers_.find(channel);
    if (k == keepers_.end()) return false;
    const std::uint32_t keeper = k->second;
    const std::size_t first = outbox_.size();
    ChannelFrame f;
    f.kind = ChannelFrame::Kind::Want;
    f.channel = channel;
    f.party = {self_, proc};
    block({proc, channel, pc, false});
    if (keeper == self_) keep_frame(f);  // a want is always taken
    else route(keeper, std::move(f));
    lend_with(first);
    finish(lock);
    return true;
}

std::string NodeChannels::receive(std::uint32_t from, ChannelFrame&& f) {
    std::string why;
    std::unique_lock lock(mutex_);
    const std::size_t first = outbox_.size();
    ++received_[from];
    for (const auto& [channel, credits] : f.credits) {
        auto k = keepers_.find(channel);
        if (k == keepers_.end() || k->second != from || from == self_)
            return "credits for channel " + std::to_string(channel) + " from participant " + std::to_string(from) +
                   ", which does not keep it";
        credits_[channel] += credits;
    }
    switch (f.kind) {
    case ChannelFrame::Kind::Send:
    case ChannelFrame::Kind::Want:
    case ChannelFrame::Kind::SendOnCredit:
    case ChannelFrame::Kind::Return:
        if (f.party.node != from && from != 0)  // the home forwards its own and its procedures' frames
            return "a channel frame for procedure #" + std::to_string(f.party.proc) + " on node " +
                   std::to_string(f.party.node) + " came from participant " + std::to_string(from);
        why = keep_frame(f);
        break;
    case ChannelFrame::Kind::Credit: break;  // its credits are in
    case ChannelFrame::Kind::Revoke: {
        auto k = keepers_.find(f.channel);
        if (k == keepers_.end() || k->second != from || from == self_)
            return "a revoke for channel " + std::to_string(f.channel) + " from participant " + std::to_string(from) +
                   ", which does not keep it";
        std::uint64_t& credits = credits_[f.channel];
        ChannelFrame back;  // what this node's procedures did not use goes back
        back.kind = ChannelFrame::Kind::Return;
        back.channel = f.channel;
        back.party = {self_, ChannelFrame::kNoProcedure};
        back.seq = std::exchange(credits, 0);
        route(from, std::move(back));
        break;
    }
    case ChannelFrame::Kind::AcceptedOnCredit:  // its send took a credit that was on its way here
        if (auto c = credits_.find(f.channel); c == credits_.end() || c->second == 0)
            return "a send of channel " + std::to_string(f.channel) + " accepted on a credit this node does not hold";
        else
            --c->second;
        [[fallthrough]];
    case ChannelFrame::Kind::Accepted:
    case ChannelFrame::Kind::Deliver:
        if (f.party.node != self_) return "a channel answer for another node's procedure";
        route(self_, std::move(f));
        break;
    case ChannelFrame::Kind::Failed: return "a failure is not sent";
    }
    lend_with(first);
    finish(lock);
    return why;
}

std::string NodeChannels::keep_frame(ChannelFrame& f) {
    auto it = kept_.find(f.channel);
    if (it == kept_.end()) return "channel " + std::to_string(f.channel) + " is not kept on node " + std::to_string(self_);
    KeptChannel::Effects& fx = effects_;
    fx.clear();
    if (f.kind == ChannelFrame::Kind::Send || f.kind == ChannelFrame::Kind::SendOnCredit) {
        const bool on_credit = f.kind == ChannelFrame::Kind::SendOnCredit;
        if (std::string why = it->second.offer(f.party, f.seq, std::move(f.message), std::move(f.clock), fx, on_credit);
            !why.empty())
            return why;
    } else if (f.kind == ChannelFrame::Kind::Return) {
        if (std::string why = it->second.take_back(f.party.node, f.seq, fx); !why.empty()) return why;
    } else {
        it->second.want(f.party, fx);
    }
    effects(f.channel, fx);
    return {};
}

void NodeChannels::fail_here(std::uint32_t channel, std::uint32_t proc, std::string why) {
    ChannelFrame failed;
    failed.kind = ChannelFrame::Kind::Failed;
    failed.channel = channel;
    failed.party = {self_, proc};
    failed.text = std::move(why);
    route(self_, std::move(failed));
}

// Counted as sent here, not once on the wire: a deadlock check that comes
// while a frame waits in outbox_ must see it on its way.
void NodeChannels::route(std::uint32_t to, ChannelFrame&& f) {
    if (to == self_) {
        unblock(f.party.proc);
        answers_.emplace_back(to, std::move(f));
        return;
    }
    ++sent_[to];
    outbox_.emplace_back(to, std::move(f));
}

void NodeChannels::effects(std::uint32_t channel, KeptChannel::Effects& fx) {
    for (const KeptChannel::Acceptance& a : fx.accepted) {
        ChannelFrame f;
        f.kind = a.on_credit ? ChannelFrame::Kind::AcceptedOnCredit : ChannelFrame::Kind::Accepted;
        f.channel = channel;
        f.party = a.to;
        f.seq = a.seq;
        route(a.to.node, std::move(f));
    }
    for (KeptChannel::Delivery& d : fx.delivered) {
        ChannelFrame f;
        f.kind = ChannelFrame::Kind::Deliver;
        f.channel = channel;
        f.party = d.to;
        f.from = d.message.from;
        f.message = std::move(d.message.message);
        f.clock = std::move(d.message.clock);
        route(d.to.node, std::move(f));
    }
    // Credits wait to go with the next frame to their node, or until a
    // procedure here waits (send_lent_credits): a message delivered here lends its
    // room, and its receiver's answer usually goes to that very node.
    for (const KeptChannel::Grant& g : fx.granted) lent_unsent_.add(g.node, channel, g.credits);
    unsent_changed();
    for (std::uint32_t node : fx.revoked) {
        ChannelFrame f;
        f.kind = ChannelFrame::Kind::Revoke;
        f.channel = channel;
        f.party = {node, ChannelFrame::kNoProcedure};
        route(node, std::move(f));
    }
}

void NodeChannels::lend_with(std::size_t first) {
    for (std::size_t i = first; i < outbox_.size(); ++i) lent_unsent_.take(outbox_[i].to, outbox_[i].frame.credits);
    unsent_changed();
}

void NodeChannels::queue_credits(std::uint32_t node) {
    ChannelFrame f;
    if (!lent_unsent_.take(node, f.credits)) return;
    f.kind = ChannelFrame::Kind::Credit;
    f.party = {node, ChannelFrame::kNoProcedure};
    route(node, std::move(f));
    unsent_changed();
}

void NodeChannels::unsent_changed() { credits_unsent_.store(!lent_unsent_.empty(), std::memory_order_release); }

void NodeChannels::send_lent_credits() {
    // Most waits find none: no lock then. Set under the lock whenever
    // credits are lent, so a wait never misses those lent before it.
    if (!credits_unsent_.load(std::memory_order_acquire)) return;
    std::unique_lock lock(mutex_);
    if (lent_unsent_.empty()) return;
    while (auto node = lent_unsent_.some_node()) queue_credits(*node);
    finish(lock);
}

// Outside the lock: a waiter may run the procedure's next operation, and the
// wire may write to a socket (or, in tests, call another node's receive at
// once). The frames for other participants go out in the order they were
// made: one thread at a time sends them, and the frames and answers that
// others' operations make meanwhile go with its round. A credit must reach
// its node before the revoke that follows it.
void NodeChannels::finish(std::unique_lock<std::mutex>& lock) {
    if (draining_) {
        lock.unlock();
        return;
    }
    draining_ = true;
    for (;;) {
        if (outbox_head_ < outbox_.size()) {
            // Moved out: others' operations may add to outbox_ while it goes.
            const Outgoing sent = std::move(outbox_[outbox_head_++]);
            std::string why;
            if (auto g = gone_.find(sent.to); g != gone_.end()) why = g->second;
            lock.unlock();
            if (why.empty()) why = wire_(sent.to, sent.frame);
            lock.lock();
            if (why.empty()) continue;
            --sent_[sent.to];  // it never left
            // It cannot reach the keeper: the procedure that asked and waits fails.
            const bool ours = sent.frame.kind == ChannelFrame::Kind::Send || sent.frame.kind == ChannelFrame::Kind::Want;
            if (!ours || sent.frame.party.node != self_) continue;  // an answer to a participant that is gone, or a send on credit
            fail_here(sent.frame.channel, sent.frame.party.proc,
                      "its keeper, " + (sent.to == 0 ? std::string("the home") : "node " + std::to_string(sent.to)) +
                          ", cannot be reached: " + why);
            continue;
        }
        if (answers_head_ < answers_.size()) {
            // Each answer's waiter is looked up under the lock and called outside it.
            ChannelFrame f = std::move(answers_[answers_head_++].frame);
            Waiter w;
            if (auto it = waiters_.find(f.party.proc); it != waiters_.end()) w = it->second;
            // The last: the round ends before its call (a procedure waits
            // for one answer at a time, so it overtakes no other answer of
            // its procedure; what others queue meanwhile, they send).
            const bool last = answers_head_ == answers_.size();
            if (last) end_round();
            lock.unlock();
            if (w) w(std::move(f));
            if (last) return;
            lock.lock();
            continue;
        }
        break;
    }
    end_round();
    lock.unlock();
}

void NodeChannels::end_round() {
    outbox_.clear();  // both keep their room
    outbox_head_ = 0;
    answers_.clear();
    answers_head_ = 0;
    draining_ = false;
}

void NodeChannels::UnsentCredits::add(std::uint32_t node, std::uint32_t channel, std::uint64_t credits) {
    if (credits == 0) return;
    auto at = std::ranges::lower_bound(nodes_, node, {}, &Lent::node);
    if (at == nodes_.end() || at->node != node) at = nodes_.insert(at, Lent{node, {}});
    if (at->credits.empty()) ++waiting_;
    auto c = std::ranges::lower_bound(at->credits, channel, {}, &List::value_type::first);
    if (c != at->credits.end() && c->first == channel) c->second += credits;
    else at->credits.insert(c, {channel, credits});
}

bool NodeChannels::UnsentCredits::take(std::uint32_t node, List& into) {
    auto at = std::ranges::lower_bound(nodes_, node, {}, &Lent::node);
    if (at == nodes_.end() || at->node != node || at->credits.empty()) return false;
    into.clear();
    into.swap(at->credits);  // the entry keeps `into`'s room
    --waiting_;
    return true;
}

void NodeChannels::UnsentCredits::drop(std::uint32_t node) {
    List gone;
    take(node, gone);
}

std::optional<std::uint32_t> NodeChannels::UnsentCredits::some_node() const {
    for (const Lent& l : nodes_)
        if (!l.credits.empty()) return l.node;
    return std::nullopt;
}

void NodeChannels::block(const ChannelSnapshot::Blocked& b) {
    auto it = std::ranges::lower_bound(blocked_, b.proc, {}, &ChannelSnapshot::Blocked::proc);
    if (it != blocked_.end() && it->proc == b.proc) *it = b;
    else blocked_.insert(it, b);
}

void NodeChannels::unblock(std::uint32_t proc) {
    auto it = std::ranges::lower_bound(blocked_, proc, {}, &ChannelSnapshot::Blocked::proc);
    if (it != blocked_.end() && it->proc == proc) blocked_.erase(it);
}

void NodeChannels::lost(std::uint32_t node, const std::string& why) {
    std::unique_lock lock(mutex_);
    const std::size_t first = outbox_.size();
    gone_[node] = why;
    lent_unsent_.drop(node);
    unsent_changed();
    for (auto& [index, ch] : kept_) {
        KeptChannel::Effects fx;  // its credits' room goes to the sends waiting for it
        ch.forget_node(node, fx);
        effects(index, fx);
    }
    std::vector<ChannelSnapshot::Blocked> failing;
    std::erase_if(blocked_, [&](const ChannelSnapshot::Blocked& b) {
        auto k = keepers_.find(b.channel);
        if (k == keepers_.end() || k->second != node) return false;
        failing.push_back(b);
        return true;
    });
    for (const ChannelSnapshot::Blocked& b : failing)
        fail_here(b.channel, b.proc,
                  "its keeper, " + (node == 0 ? std::string("the home") : "node " + std::to_string(node)) + ", was lost: " + why);
    lend_with(first);
    finish(lock);
}

ChannelSnapshot NodeChannels::snapshot() const {
    std::lock_guard lock(mutex_);
    ChannelSnapshot s;
    s.blocked = blocked_;
    s.sent = sent_;
    s.received = received_;
    for (const auto& [index, ch] : kept_) s.kept.push_back({index, ch.messages(), ch.bytes(), ch.most_held(), ch.on_credit()});
    return s;
}

}  // namespace polymer
