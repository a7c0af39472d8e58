#include "vm/procs/kept_channel.h"

#include <algorithm>

namespace polymer {

std::uint64_t ViewClock::of(std::uint32_t proc) const {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), proc, [](const Entry& e, std::uint32_t p) { return e.first < p; });
    return it != entries_.end() && it->first == proc ? it->second : 0;
}

void ViewClock::raise(std::uint32_t proc, std::uint64_t releases) {
    if (releases == 0) return;
    auto it = std::lower_bound(entries_.begin(), entries_.end(), proc, [](const Entry& e, std::uint32_t p) { return e.first < p; });
    if (it != entries_.end() && it->first == proc) it->second = std::max(it->second, releases);
    else entries_.insert(it, {proc, releases});
}

void ViewClock::merge(const ViewClock& other) {
    for (const Entry& e : other.entries_) raise(e.first, e.second);
}

bool ViewClock::covers(const ViewClock& other) const {
    return std::all_of(other.entries_.begin(), other.entries_.end(), [&](const Entry& e) { return of(e.first) >= e.second; });
}

bool ViewClock::assign(std::vector<Entry> entries) {
    for (std::size_t i = 0; i < entries.size(); ++i)
        if (entries[i].second == 0 || (i > 0 && entries[i - 1].first >= entries[i].first)) return false;
    entries_ = std::move(entries);
    return true;
}

void KeptChannel::expect(std::uint32_t proc, std::uint64_t next_seq) { senders_[proc].next = next_seq; }

void KeptChannel::preload(KeptMessage m) {
    queue_.push_back(std::move(m));
    most_held_ = std::max<std::uint64_t>(most_held_, queue_.size());
}

std::string KeptChannel::offer(ChannelParty from, std::uint64_t seq, Message message, ViewClock clock, Effects& out,
                               bool on_credit) {
    Sender& s = senders_[from.proc];
    if (seq < s.next || s.early.count(seq) != 0)
        return "send " + std::to_string(seq) + " of procedure #" + std::to_string(from.proc) + " came twice";
    bool answered = !on_credit;
    if (on_credit) {
        if (from.node != credit_node_ || credits_out_ == 0)
            return "a send on credit from node " + std::to_string(from.node) + ", which holds no credit for this channel";
    } else if (from.node == credit_node_ && credits_out_ > 0 && !revoking_) {
        // Its node sent before the credits lent to it arrived: it takes one,
        // and the answer says so (its node counts one credit less).
        on_credit = true;
    }
    if (on_credit) --credits_out_;
    Pending p{seq, KeptMessage{from, std::move(message), std::move(clock)}, on_credit, answered && on_credit};
    if (seq > s.next) {  // an earlier one is still on its way
        early_on_credit_ += on_credit;
        s.early.emplace(seq, std::move(p));
        return {};
    }
    line_up(std::move(p), out);
    ++s.next;
    for (auto it = s.early.begin(); it != s.early.end() && it->first == s.next; it = s.early.erase(it)) {
        early_on_credit_ -= it->second.on_credit;
        line_up(std::move(it->second), out);
        ++s.next;
    }
    if (answered) note_sender(from.node);
    settle(out);
    return {};
}

std::string KeptChannel::take_back(std::uint32_t node, std::uint64_t credits, Effects& out) {
    if (node != credit_node_ || credits > credits_out_)
        return "node " + std::to_string(node) + " returns " + std::to_string(credits) + " credits it was not lent";
    credits_out_ -= credits;
    revoking_ = false;
    settle(out);
    return {};
}

void KeptChannel::want(ChannelParty to, Effects& out) {
    receivers_.push_back(to);
    settle(out);
}

void KeptChannel::take_in(KeptMessage m) {
    ++messages_;
    bytes_ += m.message.bytes();
    queue_.push_back(std::move(m));
    most_held_ = std::max<std::uint64_t>(most_held_, queue_.size());
}

void KeptChannel::line_up(Pending p, Effects& out) {
    if (!p.on_credit) {
        waiting_room_.push_back(std::move(p));
        return;
    }
    if (p.answered) out.accepted.push_back(Acceptance{p.message.from, p.seq, true});
    else ++on_credit_;  // it went on without waiting
    take_in(std::move(p.message));
}

void KeptChannel::note_sender(std::uint32_t node) {
    if (keeper_ != kNoCredits && credit_node_ == 0 && node != 0 && node != keeper_) credit_node_ = node;
}

// Sends go in while there is room, and messages go out to receivers while
// both are there; each delivery makes room for the next send in line. Then
// the room nobody waits for is lent to the one node that sends.
void KeptChannel::settle(Effects& out) {
    for (;;) {
        bool moved = false;
        while (!waiting_room_.empty() && queue_.size() + reserved() < capacity_) {
            Pending& p = waiting_room_.front();
            out.accepted.push_back(Acceptance{p.message.from, p.seq});
            take_in(std::move(p.message));
            waiting_room_.pop_front();
            moved = true;
        }
        while (!queue_.empty() && !receivers_.empty()) {
            out.delivered.push_back(Delivery{receivers_.front(), std::move(queue_.front())});
            receivers_.pop_front();
            queue_.pop_front();
            moved = true;
        }
        if (!moved) break;
    }
    // A send waits for room lent to the credit node (its own would have taken
    // a credit): the lending ends, and the node returns what it holds.
    if (!waiting_room_.empty() && credits_out_ > 0 && !revoking_) {
        lending_over_ = revoking_ = true;
        out.revoked.push_back(credit_node_);
    }
    if (credit_node_ != 0 && !lending_over_ && waiting_room_.empty() && queue_.size() + reserved() < capacity_) {
        const std::uint64_t room = capacity_ - queue_.size() - reserved();
        credits_out_ += room;
        out.granted.push_back(Grant{credit_node_, room});
    }
}

void KeptChannel::forget(const ChannelParty& who, Effects& out) {
    std::erase(receivers_, who);
    std::erase_if(waiting_room_, [&](const Pending& p) { return p.message.from == who; });
    if (auto it = senders_.find(who.proc); it != senders_.end()) {
        for (const auto& [seq, p] : it->second.early) early_on_credit_ -= p.on_credit;
        it->second.early.clear();
    }
    settle(out);
}

void KeptChannel::forget_node(std::uint32_t node, Effects& out) {
    std::erase_if(receivers_, [&](const ChannelParty& p) { return p.node == node; });
    std::erase_if(waiting_room_, [&](const Pending& p) { return p.message.from.node == node; });
    for (auto& [proc, s] : senders_)
        std::erase_if(s.early, [&](const auto& e) {
            if (e.second.message.from.node != node) return false;
            early_on_credit_ -= e.second.on_credit;
            return true;
        });
    if (node == credit_node_) {
        credits_out_ = 0;
        revoking_ = false;
        lending_over_ = true;
    }
    settle(out);
}

std::vector<ChannelParty> KeptChannel::senders() const {
    std::vector<ChannelParty> out;
    for (const Pending& p : waiting_room_) out.push_back(p.message.from);
    return out;
}

}  // namespace polymer
