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

std::optional<std::uint32_t> NodeChannels::keeper(std::uint32_t channel) const {
    std::lock_guard lock(mutex_);
    auto it = keepers_.find(channel);
    if (it == keepers_.end()) return std::nullopt;
    return it->second;
}

void NodeChannels::attach(std::uint32_t proc, Waiter waiter) {
    std::lock_guard lock(mutex_);
    waiters_[proc] = std::move(waiter);
}

void NodeChannels::detach(std::uint32_t proc) {
    Outs out;
    std::unique_lock lock(mutex_);
    waiters_.erase(proc);
    unblock(proc);
    // A procedure stopped in a recv or send leaves the channels kept
    // here: a message must not go to it, nor its send go in.
    for (auto& [index, ch] : kept_) {
        KeptChannel::Effects fx;
        ch.forget({self_, proc}, fx);
        effects(index, fx, out);
    }
    queue_remote(out);
    while (auto node = lent_unsent_.some_node()) queue_credits(*node);
    unsent_changed();
    finish(lock, out);
}

bool NodeChannels::send(std::uint32_t channel, std::uint32_t proc, std::uint32_t pc, std::uint64_t seq, Message message,
                        ViewClock clock) {
    ChannelFrame f;
    f.kind = ChannelFrame::Kind::Send;
    f.channel = channel;
    f.party = {self_, proc};
    f.seq = seq;
    f.message = std::move(message);
    f.clock = std::move(clock);
    Outs out;
    bool on_credit = false;
    std::unique_lock lock(mutex_);
    const std::uint32_t keeper = keepers_.at(channel);
    if (keeper == self_) {
        block({proc, channel, pc, true});
        if (std::string why = keep_frame(std::move(f), out); !why.empty()) {
            ChannelFrame failed;
            failed.kind = ChannelFrame::Kind::Failed;
            failed.channel = channel;
            failed.party = {self_, proc};
            failed.text = why;
            unblock(proc);
            out.push_back({self_, std::move(failed)});
        }
    } else if (auto c = credits_.find(channel); c != credits_.end() && c->second > 0) {
        --c->second;
        f.kind = ChannelFrame::Kind::SendOnCredit;
        on_credit = true;
        out.push_back({keeper, std::move(f)});
    } else {
        block({proc, channel, pc, true});
        out.push_back({keeper, std::move(f)});
    }
    queue_remote(out);
    finish(lock, out);
    return on_credit;
}

void NodeChannels::want(std::uint32_t channel, std::uint32_t proc, std::uint32_t pc) {
    ChannelFrame f;
    f.kind = ChannelFrame::Kind::Want;
    f.channel = channel;
    f.party = {self_, proc};
    Outs out;
    std::unique_lock lock(mutex_);
    block({proc, channel, pc, false});
    const std::uint32_t keeper = keepers_.at(channel);
    if (keeper == self_) keep_frame(std::move(f), out);  // a want is always taken
    else out.push_back({keeper, std::move(f)});
    queue_remote(out);
    finish(lock, out);
}

std::string NodeChannels::receive(std::uint32_t from, ChannelFrame f) {
    Outs out;
    std::string why;
    std::unique_lock lock(mutex_);
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
        why = keep_frame(std::move(f), out);
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
        out.push_back({from, std::move(back)});
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
        unblock(f.party.proc);
        out.push_back({self_, std::move(f)});
        break;
    case ChannelFrame::Kind::Failed: return "a failure is not sent";
    }
    queue_remote(out);
    finish(lock, out);
    return why;
}

std::string NodeChannels::keep_frame(ChannelFrame f, Outs& out) {
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
    effects(f.channel, fx, out);
    return {};
}

void NodeChannels::effects(std::uint32_t channel, KeptChannel::Effects& fx, Outs& out) {
    for (const KeptChannel::Acceptance& a : fx.accepted) {
        ChannelFrame f;
        f.kind = a.on_credit ? ChannelFrame::Kind::AcceptedOnCredit : ChannelFrame::Kind::Accepted;
        f.channel = channel;
        f.party = a.to;
        f.seq = a.seq;
        if (a.to.node == self_) unblock(a.to.proc);
        out.push_back({a.to.node, std::move(f)});
    }
    for (KeptChannel::Delivery& d : fx.delivered) {
        ChannelFrame f;
        f.kind = ChannelFrame::Kind::Deliver;
        f.channel = channel;
        f.party = d.to;
        f.from = d.message.from;
        f.message = std::move(d.message.message);
        f.clock = std::move(d.message.clock);
        if (d.to.node == self_) unblock(d.to.proc);
        out.push_back({d.to.node, std::move(f)});
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
        out.push_back({node, std::move(f)});
    }
}

// Counted as sent here, not once on the wire: a deadlock check that comes
// while a frame waits in outbox_ must see it on its way.
void NodeChannels::queue_remote(Outs& out) {
    for (Outgoing& o : out)
        if (o.to != self_) {
            // They travel with it, taken first: it may take one back
            // (accepted-on-credit) or revoke them.
            lent_unsent_.take(o.to, o.frame.credits);
            ++sent_[o.to];
            outbox_.push_back(std::move(o));
        }
    std::erase_if(out, [&](const Outgoing& o) { return o.to != self_; });
    unsent_changed();
}

void NodeChannels::queue_credits(std::uint32_t node) {
    ChannelFrame f;
    if (!lent_unsent_.take(node, f.credits)) return;
    f.kind = ChannelFrame::Kind::Credit;
    f.party = {node, ChannelFrame::kNoProcedure};
    ++sent_[node];
    outbox_.push_back({node, std::move(f)});
    unsent_changed();
}

void NodeChannels::unsent_changed() { credits_unsent_.store(!lent_unsent_.empty(), std::memory_order_release); }

void NodeChannels::send_lent_credits() {
    // Most waits find none: no lock then. Set under the lock whenever
    // credits are lent, so a wait never misses those lent before it.
    if (!credits_unsent_.load(std::memory_order_acquire)) return;
    Outs out;
    std::unique_lock lock(mutex_);
    if (lent_unsent_.empty()) return;
    while (auto node = lent_unsent_.some_node()) queue_credits(*node);
    finish(lock, out);
}

// Outside the lock: a waiter may run the procedure's next operation, and the
// wire may write to a socket (or, in tests, call another node's receive at
// once). The frames for other participants go out in the order they were
// made (under the lock, into outbox_): one thread at a time sends them, and
// another's frames made meanwhile go with its round. A credit must reach
// its node before the revoke that follows it.
void NodeChannels::finish(std::unique_lock<std::mutex>& lock, Outs& out) {
    if (!draining_) {
        draining_ = true;
        while (outbox_head_ < outbox_.size()) {
            Outgoing o = std::move(outbox_[outbox_head_++]);
            std::string why;
            if (auto g = gone_.find(o.to); g != gone_.end()) why = g->second;
            lock.unlock();
            if (why.empty()) why = wire_(o.to, std::move(o.frame));  // its kind, channel and party stay, for below
            lock.lock();
            if (why.empty()) continue;
            --sent_[o.to];  // it never left
            // It cannot reach the keeper: the procedure that asked and waits fails.
            const bool ours = o.frame.kind == ChannelFrame::Kind::Send || o.frame.kind == ChannelFrame::Kind::Want;
            if (!ours || o.frame.party.node != self_) continue;  // an answer to a participant that is gone, or a send on credit
            ChannelFrame failed;
            failed.kind = ChannelFrame::Kind::Failed;
            failed.channel = o.frame.channel;
            failed.party = o.frame.party;
            failed.text = "its keeper, " + (o.to == 0 ? std::string("the home") : "node " + std::to_string(o.to)) +
                          ", cannot be reached: " + why;
            out.push_back({self_, std::move(failed)});
        }
        outbox_.clear();  // keeps its room
        outbox_head_ = 0;
        draining_ = false;
    }
    // Each answer's waiter is looked up under the lock and called outside
    // it; the first under the lock the operation already holds.
    for (Outgoing& o : out) {
        if (!lock.owns_lock()) lock.lock();
        Waiter w;
        unblock(o.frame.party.proc);
        if (auto it = waiters_.find(o.frame.party.proc); it != waiters_.end()) w = it->second;
        lock.unlock();
        if (w) w(std::move(o.frame));
    }
    if (lock.owns_lock()) lock.unlock();
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
    Outs out;
    std::unique_lock lock(mutex_);
    gone_[node] = why;
    lent_unsent_.drop(node);
    unsent_changed();
    for (auto& [index, ch] : kept_) {
        KeptChannel::Effects fx;  // its credits' room goes to the sends waiting for it
        ch.forget_node(node, fx);
        effects(index, fx, out);
    }
    std::erase_if(blocked_, [&](const ChannelSnapshot::Blocked& b) {
        auto k = keepers_.find(b.channel);
        if (k == keepers_.end() || k->second != node) return false;
        ChannelFrame failed;
        failed.kind = ChannelFrame::Kind::Failed;
        failed.channel = b.channel;
        failed.party = {self_, b.proc};
        failed.text = "its keeper, " + (node == 0 ? std::string("the home") : "node " + std::to_string(node)) +
                      ", was lost: " + why;
        out.push_back({self_, std::move(failed)});
        return true;
    });
    queue_remote(out);
    finish(lock, out);
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
