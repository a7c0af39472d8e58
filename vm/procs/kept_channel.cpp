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

std::string KeptChannel::offer(ChannelParty from, std::uint64_t seq, Message message, ViewClock clock, Effects& out) {
    Sender& s = senders_[from.proc];
    if (seq < s.next || s.early.count(seq) != 0)
        return "send " + std::to_string(seq) + " of procedure #" + std::to_string(from.proc) + " came twice";
    KeptMessage m{from, std::move(message), std::move(clock)};
    if (seq > s.next) {  // an earlier one is still on its way
        s.early.emplace(seq, std::move(m));
        return {};
    }
    line_up(Pending{seq, std::move(m)});
    ++s.next;
    for (auto it = s.early.begin(); it != s.early.end() && it->first == s.next; it = s.early.erase(it)) {
        line_up(Pending{it->first, std::move(it->second)});
        ++s.next;
    }
    settle(out);
    return {};
}

void KeptChannel::want(ChannelParty to, Effects& out) {
    receivers_.push_back(to);
    settle(out);
}

void KeptChannel::line_up(Pending p) { waiting_room_.push_back(std::move(p)); }

// Sends go in while there is room, and messages go out to receivers while
// both are there; each delivery makes room for the next send in line.
void KeptChannel::settle(Effects& out) {
    for (;;) {
        bool moved = false;
        while (!waiting_room_.empty() && queue_.size() < capacity_) {
            Pending& p = waiting_room_.front();
            ++messages_;
            bytes_ += p.message.message.bytes();
            out.accepted.push_back(Acceptance{p.message.from, p.seq});
            queue_.push_back(std::move(p.message));
            waiting_room_.pop_front();
            most_held_ = std::max<std::uint64_t>(most_held_, queue_.size());
            moved = true;
        }
        while (!queue_.empty() && !receivers_.empty()) {
            out.delivered.push_back(Delivery{receivers_.front(), std::move(queue_.front())});
            receivers_.pop_front();
            queue_.pop_front();
            moved = true;
        }
        if (!moved) return;
    }
}

void KeptChannel::forget(const ChannelParty& who) {
    std::erase(receivers_, who);
    std::erase_if(waiting_room_, [&](const Pending& p) { return p.message.from == who; });
    if (auto it = senders_.find(who.proc); it != senders_.end()) it->second.early.clear();
}

void KeptChannel::forget_node(std::uint32_t node) {
    std::erase_if(receivers_, [&](const ChannelParty& p) { return p.node == node; });
    std::erase_if(waiting_room_, [&](const Pending& p) { return p.message.from.node == node; });
    for (auto& [proc, s] : senders_) std::erase_if(s.early, [&](const auto& e) { return e.second.from.node == node; });
}

std::vector<ChannelParty> KeptChannel::senders() const {
    std::vector<ChannelParty> out;
    for (const Pending& p : waiting_room_) out.push_back(p.message.from);
    return out;
}

}  // namespace polymer
