#include "vm/procs/node_channels.h"

namespace polymer {

void NodeChannels::keep(std::uint32_t channel, std::uint64_t capacity,
                        const std::vector<std::pair<std::uint32_t, std::uint64_t>>& expects, std::vector<KeptMessage> queued) {
    std::lock_guard lock(mutex_);
    auto [it, fresh] = kept_.try_emplace(channel, channel, capacity);
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
    std::lock_guard lock(mutex_);
    waiters_.erase(proc);
    blocked_.erase(proc);
}

void NodeChannels::send(std::uint32_t channel, std::uint32_t proc, std::uint32_t pc, std::uint64_t seq, Message message,
                        ViewClock clock) {
    ChannelFrame f;
    f.kind = ChannelFrame::Kind::Send;
    f.channel = channel;
    f.party = {self_, proc};
    f.seq = seq;
    f.message = std::move(message);
    f.clock = std::move(clock);
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        blocked_[proc] = {proc, channel, pc, true};
        const std::uint32_t keeper = keepers_.at(channel);
        if (keeper == self_) {
            if (std::string why = keep_frame(std::move(f), out); !why.empty()) {
                ChannelFrame failed;
                failed.kind = ChannelFrame::Kind::Failed;
                failed.channel = channel;
                failed.party = {self_, proc};
                failed.text = why;
                blocked_.erase(proc);
                out.push_back({self_, std::move(failed)});
            }
        } else {
            out.push_back({keeper, std::move(f)});
        }
    }
    flush(std::move(out));
}

void NodeChannels::want(std::uint32_t channel, std::uint32_t proc, std::uint32_t pc) {
    ChannelFrame f;
    f.kind = ChannelFrame::Kind::Want;
    f.channel = channel;
    f.party = {self_, proc};
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        blocked_[proc] = {proc, channel, pc, false};
        const std::uint32_t keeper = keepers_.at(channel);
        if (keeper == self_) keep_frame(std::move(f), out);  // a want is always taken
        else out.push_back({keeper, std::move(f)});
    }
    flush(std::move(out));
}

std::string NodeChannels::receive(std::uint32_t from, ChannelFrame f) {
    std::vector<Outgoing> out;
    std::string why;
    {
        std::lock_guard lock(mutex_);
        ++received_[from];
        switch (f.kind) {
        case ChannelFrame::Kind::Send:
        case ChannelFrame::Kind::Want:
            if (f.party.node != from && from != 0)  // the home forwards its own and its procedures' frames
                return "a channel frame for procedure #" + std::to_string(f.party.proc) + " on node " +
                       std::to_string(f.party.node) + " came from participant " + std::to_string(from);
            why = keep_frame(std::move(f), out);
            break;
        case ChannelFrame::Kind::Accepted:
        case ChannelFrame::Kind::Deliver:
            if (f.party.node != self_) return "a channel answer for another node's procedure";
            blocked_.erase(f.party.proc);
            out.push_back({self_, std::move(f)});
            break;
        case ChannelFrame::Kind::Failed: return "a failure is not sent";
        }
    }
    flush(std::move(out));
    return why;
}

std::string NodeChannels::keep_frame(ChannelFrame f, std::vector<Outgoing>& out) {
    auto it = kept_.find(f.channel);
    if (it == kept_.end()) return "channel " + std::to_string(f.channel) + " is not kept on node " + std::to_string(self_);
    KeptChannel::Effects fx;
    if (f.kind == ChannelFrame::Kind::Send) {
        if (std::string why = it->second.offer(f.party, f.seq, std::move(f.message), std::move(f.clock), fx); !why.empty())
            return why;
    } else {
        it->second.want(f.party, fx);
    }
    effects(f.channel, std::move(fx), out);
    return {};
}

void NodeChannels::effects(std::uint32_t channel, KeptChannel::Effects fx, std::vector<Outgoing>& out) {
    for (const KeptChannel::Acceptance& a : fx.accepted) {
        ChannelFrame f;
        f.kind = ChannelFrame::Kind::Accepted;
        f.channel = channel;
        f.party = a.to;
        f.seq = a.seq;
        if (a.to.node == self_) blocked_.erase(a.to.proc);
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
        if (d.to.node == self_) blocked_.erase(d.to.proc);
        out.push_back({d.to.node, std::move(f)});
    }
}

// Outside the lock: a waiter may run the procedure's next operation, and the
// wire may write to a socket.
void NodeChannels::flush(std::vector<Outgoing> out) {
    for (Outgoing& o : out) {
        if (o.to != self_) {
            std::string why;
            {
                std::lock_guard lock(mutex_);
                if (auto g = gone_.find(o.to); g != gone_.end()) why = g->second;
            }
            if (why.empty()) why = wire_(o.to, o.frame);
            if (why.empty()) {
                std::lock_guard lock(mutex_);
                ++sent_[o.to];
                continue;
            }
            // It cannot reach the keeper: the procedure that asked fails.
            const bool ours = o.frame.kind == ChannelFrame::Kind::Send || o.frame.kind == ChannelFrame::Kind::Want;
            if (!ours || o.frame.party.node != self_) continue;  // an answer to a participant that is gone
            ChannelFrame failed;
            failed.kind = ChannelFrame::Kind::Failed;
            failed.channel = o.frame.channel;
            failed.party = o.frame.party;
            failed.text = "its keeper, " + (o.to == 0 ? std::string("the home") : "node " + std::to_string(o.to)) +
                          ", cannot be reached: " + why;
            o.frame = std::move(failed);
        }
        Waiter w;
        {
            std::lock_guard lock(mutex_);
            blocked_.erase(o.frame.party.proc);
            if (auto it = waiters_.find(o.frame.party.proc); it != waiters_.end()) w = it->second;
        }
        if (w) w(std::move(o.frame));
    }
}

void NodeChannels::lost(std::uint32_t node, const std::string& why) {
    std::vector<Outgoing> out;
    {
        std::lock_guard lock(mutex_);
        gone_[node] = why;
        for (auto& [index, ch] : kept_) ch.forget_node(node);
        for (auto it = blocked_.begin(); it != blocked_.end();) {
            auto k = keepers_.find(it->second.channel);
            if (k == keepers_.end() || k->second != node) {
                ++it;
                continue;
            }
            ChannelFrame failed;
            failed.kind = ChannelFrame::Kind::Failed;
            failed.channel = it->second.channel;
            failed.party = {self_, it->first};
            failed.text = "its keeper, " + (node == 0 ? std::string("the home") : "node " + std::to_string(node)) +
                          ", was lost: " + why;
            out.push_back({self_, std::move(failed)});
            it = blocked_.erase(it);
        }
    }
    flush(std::move(out));
}

ChannelSnapshot NodeChannels::snapshot() const {
    std::lock_guard lock(mutex_);
    ChannelSnapshot s;
    for (const auto& [proc, b] : blocked_) s.blocked.push_back(b);
    s.sent = sent_;
    s.received = received_;
    for (const auto& [index, ch] : kept_) s.kept.push_back({index, ch.messages(), ch.bytes(), ch.most_held(), ch.held()});
    return s;
}

}  // namespace polymer
