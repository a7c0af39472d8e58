// A node's side of channels kept on nodes (docs/architecture.md,
// "vm/procs/"): the channels the home handed to this node (KeptChannel),
// where the others are kept, and the traffic between this node's procedures
// and the keepers, here or anywhere else. One per home on a node, shared by
// the procedures that home runs here; any thread (a mutex inside, and the
// procedures' waiters are called outside it).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vm/procs/kept_channel.h"

namespace polymer {

// What travels between a keeper and the procedures that use its channel
// (over the wire: docs/protocol.md).
struct ChannelFrame {
    enum class Kind : std::uint8_t {
        Send,      // to the keeper: send `seq` of `party` on `channel`: `message`, `clock`
        Accepted,  // to the sender's participant: send `seq` of `party` went in
        Want,      // to the keeper: `party` waits to take a message from `channel`
        Deliver,   // to the receiver's participant: `party` takes `message` (sent by `from`, `clock`)
        SendOnCredit,  // a Send on a credit its node holds: goes in unanswered (KeptChannel, "Credits")
        Credit,    // to a sender's node: nothing but `credits` (when no other frame goes there to carry them)
        Revoke,    // to that node: return the credits of `channel` you hold
        Return,    // to the keeper: `seq` credits of `channel` not used
        AcceptedOnCredit,  // an Accepted that took one of the credits lent to its node
        Failed,    // made where it arrives, never sent: the keeper of `channel` is gone (`text` says why)
    };
    // A Failed frame for no procedure in particular: the participant it came
    // from, which kept channels, is gone.
    static constexpr std::uint32_t kNoProcedure = 0xFFFFFFFFu;
    Kind kind = Kind::Send;
    std::uint32_t channel = 0;
    ChannelParty party;
    std::uint64_t seq = 0;
    ChannelParty from;
    Message message;
    ViewClock clock;
    std::string text;
    // Credits lent to the node it goes to, carried along: (channel, more
    // sends that may go on credit), each channel once. Taken before the
    // frame itself (an accepted-on-credit takes one back).
    std::vector<std::pair<std::uint32_t, std::uint64_t>> credits;
};

// How a participant's channel frames reach another participant: node n, or 0
// for the home. "" when it went (or will go: it may queue), else why it cannot.
using ChannelWire = std::function<std::string(std::uint32_t to, const ChannelFrame& f)>;

// What a node says of its side when the home looks for a deadlock
// (ProcedureNodes::snapshot): the procedures of the home blocked here on a
// kept channel, the frames it exchanged with each participant, and its kept
// channels' counts (--stats).
struct ChannelSnapshot {
    struct Blocked {
        std::uint32_t proc = 0;
        std::uint32_t channel = 0;
        std::uint32_t pc = 0;  // its send or recv
        bool sending = false;  // waits for room (its send to be accepted), else for a message
    };
    struct Kept {
        std::uint32_t channel = 0;
        std::uint64_t messages = 0, bytes = 0, most_held = 0;
        std::uint64_t on_credit = 0;  // of the messages, those sent on credit (version 13)
    };
    std::vector<Blocked> blocked;
    std::map<std::uint32_t, std::uint64_t> sent, received;  // channel frames, by participant (0: the home)
    std::vector<Kept> kept;
    // Set by the carrier, never sent: the node is gone (lost), and what it
    // sent or was sent no longer counts.
    bool gone = false;
};

class NodeChannels {
public:
    NodeChannels(std::uint32_t self, ChannelWire wire) : self_(self), wire_(std::move(wire)) {}

    std::uint32_t self() const { return self_; }
    // The home hands channel `channel` to this node: `expects` are the sends
    // of each procedure the home took before (KeptChannel::expect).
    // `queued`: the messages in it then, oldest first. `lend`: whether its
    // keeper lends credits (KeptChannel, "Credits").
    void keep(std::uint32_t channel, std::uint64_t capacity, const std::vector<std::pair<std::uint32_t, std::uint64_t>>& expects,
              std::vector<KeptMessage> queued = {}, bool lend = true);
    // Channel `channel` is kept by node `node` (this one or another).
    void keeper_is(std::uint32_t channel, std::uint32_t node);

    // A procedure here waits for its channel operations through `waiter`,
    // called with Accepted, Deliver or Failed frames for it, outside the
    // lock, on the thread whose operation is sending this node's frames and
    // answers then (the one that made the answer, or one still sending
    // those made before it).
    using Waiter = std::function<void(ChannelFrame&&)>;
    void attach(std::uint32_t proc, Waiter waiter);
    void detach(std::uint32_t proc);

    // Procedure `proc`'s send number `seq` on `channel`, or its recv: to the
    // keeper, here or over the wire. The answer comes to its waiter, except
    // for a send that went on a credit this node held: nothing answers it.
    // A channel the home keeps is not touched (NotKept: the home's way; the
    // message is left to the caller). `pc`: the send or recv, for a
    // deadlock's report.
    enum class Sent { Waits, OnCredit, NotKept };
    Sent send(std::uint32_t channel, std::uint32_t proc, std::uint32_t pc, std::uint64_t seq, Message&& message,
              const ViewClock& clock);
    // False when the home keeps `channel` (nothing sent).
    bool want(std::uint32_t channel, std::uint32_t proc, std::uint32_t pc);

    // A frame that came from participant `from` (0: the home). "" when
    // taken, else why it is refused (a channel not kept here, a send seen
    // twice): a fault of the peer that sent it.
    std::string receive(std::uint32_t from, ChannelFrame&& f);
    // Participant `node` is gone (0: the home). The procedures here waiting
    // on a channel it kept get Failed; its parties leave the channels kept
    // here.
    void lost(std::uint32_t node, const std::string& why);

    ChannelSnapshot snapshot() const;
    // Sends the credits lent and not yet sent (a procedure here is about to
    // wait: it will send nothing that could take them along for a while).
    // Takes no lock when there are none.
    void send_lent_credits();

private:
    struct Outgoing {
        // Built in place (Clang 14 has no aggregate initialization by parentheses).
        Outgoing(std::uint32_t to_whom, ChannelFrame&& f) : to(to_whom), frame(std::move(f)) {}
        std::uint32_t to = 0;  // a participant, or self_ for a waiter here
        ChannelFrame frame;
    };
    // Under the lock, an operation's frames: `to` another participant joins
    // outbox_, else answers_ (and its procedure no longer blocks).
    void route(std::uint32_t to, ChannelFrame&& f);
    // Runs the keeper's effects: answers to waiters here, frames to the others.
    void effects(std::uint32_t channel, KeptChannel::Effects& fx);
    // Under the lock, at an operation's end: the frames it put in outbox_
    // from `first` on each take the credits lent to their node and not yet
    // sent (taken first: a frame may take one back, accepted-on-credit, or
    // revoke them).
    void lend_with(std::size_t first);
    void queue_credits(std::uint32_t node);  // under the lock
    // Ends an operation that holds `lock`: sends outbox_ in order, then
    // answers the waiters here (answers_), both outside the lock, which it
    // lets go. One thread at a time does it; what others' operations queue
    // meanwhile goes in its round.
    void finish(std::unique_lock<std::mutex>& lock);
    void end_round();  // under the lock: outbox_ and answers_ are all sent
    // Takes a keeper frame for a channel kept here (under the lock).
    std::string keep_frame(ChannelFrame& f);
    // A Failed answer for procedure `proc` here (under the lock).
    void fail_here(std::uint32_t channel, std::uint32_t proc, std::string why);

    const std::uint32_t self_;
    ChannelWire wire_;
    mutable std::mutex mutex_;
    std::map<std::uint32_t, KeptChannel> kept_;
    std::map<std::uint32_t, std::uint32_t> keepers_;  // channel -> node, for the channels kept on nodes
    std::map<std::uint32_t, std::uint64_t> credits_;  // channel -> sends this node may make on credit
    std::map<std::uint32_t, Waiter> waiters_;
    // The procedures here waiting for a keeper, sorted by handle: a vector,
    // so that blocking and unblocking at every message allocates nothing.
    std::vector<ChannelSnapshot::Blocked> blocked_;
    void block(const ChannelSnapshot::Blocked& b);  // under the lock
    void unblock(std::uint32_t proc);               // under the lock
    std::map<std::uint32_t, std::string> gone_;      // participants lost, and why
    std::map<std::uint32_t, std::uint64_t> sent_, received_;
    // Frames for other participants, in the order they were made, and
    // answers for the waiters here: those from the heads on wait (vectors,
    // emptied once all went, keep their room: no operation allocates).
    std::vector<Outgoing> outbox_, answers_;
    std::size_t outbox_head_ = 0, answers_head_ = 0;
    KeptChannel::Effects effects_;  // keep_frame's, reused (under the lock)
    // Credits lent and not yet sent, by node, each node's ascending by
    // channel (as a frame carries them). Its entries stay from message to
    // message: a map's nodes were allocated and freed at every one.
    class UnsentCredits {
    public:
        using List = std::vector<std::pair<std::uint32_t, std::uint64_t>>;
        void add(std::uint32_t node, std::uint32_t channel, std::uint64_t credits);
        // Hands node `node`'s credits over to `into` (replacing what it held);
        // false, `into` untouched, when it has none.
        bool take(std::uint32_t node, List& into);
        void drop(std::uint32_t node);
        std::optional<std::uint32_t> some_node() const;  // one that has credits
        bool empty() const { return waiting_ == 0; }

    private:
        struct Lent {
            std::uint32_t node = 0;
            List credits;
        };
        std::vector<Lent> nodes_;  // sorted by node
        std::size_t waiting_ = 0;  // entries with credits
    };
    UnsentCredits lent_unsent_;
    std::atomic<bool> credits_unsent_{false};  // !lent_unsent_.empty(), for a look without the lock
    void unsent_changed();                     // under the lock, after lent_unsent_ changed
    bool draining_ = false;        // a thread is sending outbox_ and answers_ (finish)
};

}  // namespace polymer
