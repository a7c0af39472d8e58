// A channel kept on a node, beside the procedures that receive from it
// (docs/architecture.md, "vm/procs/"): the queue, its capacity, who waits to
// take and who waits for room, with no thread and no wire of its own. Its
// keeper (NodeChannels, vm/procs/node_channels.h) feeds it offers (sends)
// and wants (recvs) from wherever they come, this node's procedures, another
// node's or the home's, and carries out the effects it returns: a message
// delivered to a receiver, a send accepted (its sender goes on).
//
// It keeps the rules the home's scheduler keeps (vm/procs/procedures.cpp):
// a send waits while the channel holds its capacity; a recv waits while it
// is empty; messages leave in the order they went in. Sends of one
// procedure go in in its program order even when they arrive by different
// paths (the home forwards the ones it got before the procedure learned of
// the keeper): each carries its number among that procedure's sends on the
// channel, and one that arrives early waits for the ones before it.
//
// Credits spare a sender on another node the wait for its acceptance: the
// keeper lends the first node that sends to it straight (not through the
// home) the channel's free room, one credit a message. A send on credit goes
// in without an answer (its room was set aside for it); each message taken
// makes room that is lent again. Others' sends go in as before while there
// is room that is not lent; once one must wait for lent room, the lending
// ends: the keeper revokes the credits, the node returns the ones it did not
// use, and from then on every send waits for its acceptance. So a send
// never goes in past the capacity, and none waits for room nobody uses.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "vm/insns.h"

namespace polymer {

// What a region copy has seen of the procedures' writes, for the memory
// model's orders when a message does not pass through the home: entry p is
// the number of releases with writes of procedure p (spawn handle) that the
// copy includes; kHomeWrites counts the releases of the home's own
// procedures. A message carries its sender's clock; a receiver whose copy
// does not cover it first acquires from the home.
class ViewClock {
public:
    static constexpr std::uint32_t kHomeWrites = 0xFFFFFFFFu;
    using Entry = std::pair<std::uint32_t, std::uint64_t>;  // (procedure, releases)

    std::uint64_t of(std::uint32_t proc) const;
    // Raises entry `proc` to `releases` (never lowers it).
    void raise(std::uint32_t proc, std::uint64_t releases);
    void merge(const ViewClock& other);
    // Whether every entry of `other` is at most this one's.
    bool covers(const ViewClock& other) const;
    const std::vector<Entry>& entries() const { return entries_; }
    // From the wire: false (nothing kept) unless sorted by procedure, each once.
    bool assign(std::vector<Entry> entries);
    bool operator==(const ViewClock&) const = default;

private:
    std::vector<Entry> entries_;  // sorted by procedure, no zero counts
};

// A procedure that sends to or receives from a kept channel, and where it runs.
struct ChannelParty {
    std::uint32_t node = 0;  // 0: the home; n: node n
    std::uint32_t proc = 0;  // its handle
    bool operator==(const ChannelParty&) const = default;
};

struct KeptMessage {
    ChannelParty from;
    Message message;
    ViewClock clock;  // what its sender's regions had seen when it sent it
};

class KeptChannel {
public:
    struct Delivery {
        ChannelParty to;
        KeptMessage message;
    };
    struct Acceptance {
        ChannelParty to;
        std::uint64_t seq = 0;   // which of its sends went in
        bool on_credit = false;  // on a credit lent to its node that was on its way there
    };
    struct Grant {
        std::uint32_t node = 0;
        std::uint64_t credits = 0;  // more sends it may make without waiting
    };
    struct Effects {
        std::vector<Delivery> delivered;
        std::vector<Acceptance> accepted;
        std::vector<Grant> granted;
        std::vector<std::uint32_t> revoked;  // nodes asked to return the credits they hold
        // Empty again, keeping the vectors' room (a keeper reuses one).
        void clear() {
            delivered.clear();
            accepted.clear();
            granted.clear();
            revoked.clear();
        }
    };
    // A keeper that lends no credits (its node's number unknown).
    static constexpr std::uint32_t kNoCredits = 0;

    // `keeper`: the node keeping it, which never lends itself credits (its
    // own sends are accepted at once); kNoCredits: it lends none.
    KeptChannel(std::uint32_t index, std::uint64_t capacity, std::uint32_t keeper = kNoCredits)
        : index_(index), capacity_(capacity), keeper_(keeper) {}

    // The number of sends of procedure `proc` on this channel that went in
    // before it was kept here (the home took them): its next offer has this
    // number. A procedure not named starts at 0.
    void expect(std::uint32_t proc, std::uint64_t next_seq);
    // A message that was in the channel when the home handed it over: in the
    // queue at once, behind the ones before it (its send was accepted there).
    void preload(KeptMessage m);
    // Send number `seq` of `from` (counted from 0 over its sends on this
    // channel). Accepted once it is in the queue, in `from`'s order; one
    // `on_credit` goes in unanswered, on a credit its node held. Why it
    // cannot be taken (a number already seen, a credit its node does not
    // hold), or "".
    std::string offer(ChannelParty from, std::uint64_t seq, Message message, ViewClock clock, Effects& out,
                      bool on_credit = false);
    // Node `node` returns `credits` it held and did not use (after a revoke).
    std::string take_back(std::uint32_t node, std::uint64_t credits, Effects& out);
    // A recv by `to`: delivered once a message is there for it, receivers in
    // the order they asked.
    void want(ChannelParty to, Effects& out);
    // `who` is gone (stopped, its node lost): its waiting recv and the sends
    // of its that are not in yet go; what it sent that is in stays, as on the home.
    void forget(const ChannelParty& who, Effects& out);
    // Forgets every party on node `node`, and the credits it held (their
    // room goes to the sends waiting for it).
    void forget_node(std::uint32_t node, Effects& out);

    std::uint32_t index() const { return index_; }
    std::uint64_t capacity() const { return capacity_; }
    std::size_t held() const { return queue_.size(); }
    // The parties waiting: to take (an empty channel), for room (a full one).
    const std::deque<ChannelParty>& receivers() const { return receivers_; }
    std::vector<ChannelParty> senders() const;
    // --stats: messages and bytes that went in, the most it held.
    std::uint64_t messages() const { return messages_; }
    std::uint64_t bytes() const { return bytes_; }
    std::uint64_t most_held() const { return most_held_; }
    std::uint64_t on_credit() const { return on_credit_; }  // of messages(), those sent on credit
    // Credits lent and neither used nor returned.
    std::uint64_t credits_out() const { return credits_out_; }

private:
    struct Pending {
        std::uint64_t seq = 0;
        KeptMessage message;
        bool on_credit = false;
        bool answered = false;  // on credit, and its sender waits for an answer (AcceptedOnCredit)
    };
    struct Sender {
        std::uint64_t next = 0;                  // the number of its next send to go in line
        std::map<std::uint64_t, Pending> early;  // sends that came before an earlier one
    };
    // On credit: into the queue (its room was set aside); else in line for room.
    void line_up(Pending p, Effects& out);
    void settle(Effects& out);
    // A send that waits for its answer came from `node`: the first such node
    // on another node than the keeper is the one credits are lent to.
    void note_sender(std::uint32_t node);
    // Room set aside: credits out, and sends on credit waiting for an earlier one.
    std::uint64_t reserved() const { return credits_out_ + early_on_credit_; }
    void take_in(KeptMessage m);

    std::uint32_t index_;
    std::uint64_t capacity_;
    std::deque<KeptMessage> queue_;
    std::deque<ChannelParty> receivers_;
    std::deque<Pending> waiting_room_;  // sends in line for room, oldest first
    std::map<std::uint32_t, Sender> senders_;
    const std::uint32_t keeper_;
    std::uint32_t credit_node_ = 0;  // the node credits are lent to (0: none yet)
    bool lending_over_ = false;      // another's send waited for lent room: no more credits
    bool revoking_ = false;          // asked credit_node_ to return what it holds
    std::uint64_t credits_out_ = 0, early_on_credit_ = 0;
    std::uint64_t messages_ = 0, bytes_ = 0, most_held_ = 0, on_credit_ = 0;
};

}  // namespace polymer
