// KeptChannel and ViewClock (vm/procs/kept_channel.h): the rules of a
// channel kept on a node, without threads or wires.
#include <gtest/gtest.h>

#include "vm/procs/kept_channel.h"
#include "vm/procs/node_channels.h"

namespace polymer {
namespace {

Message int_message(std::uint64_t v) {
    Message m;
    m.bits = v;
    return m;
}

constexpr ChannelParty kSender{1, 5};
constexpr ChannelParty kOtherSender{0, 2};
constexpr ChannelParty kReceiver{2, 7};
constexpr ChannelParty kOtherReceiver{1, 9};

TEST(ViewClock, RaisesMergesAndCovers) {
    ViewClock a, b;
    EXPECT_TRUE(a.covers(b));
    a.raise(3, 2);
    a.raise(3, 1);  // never lowers
    EXPECT_EQ(a.of(3), 2u);
    EXPECT_EQ(a.of(4), 0u);
    b.raise(ViewClock::kHomeWrites, 1);
    EXPECT_FALSE(a.covers(b));
    EXPECT_TRUE(b.covers(ViewClock{}));
    a.merge(b);
    EXPECT_TRUE(a.covers(b));
    EXPECT_EQ(a.entries().size(), 2u);
    EXPECT_EQ(a.entries().front().first, 3u);  // sorted by procedure
    b.raise(3, 3);
    EXPECT_FALSE(a.covers(b));
}

TEST(ViewClock, RefusesUnsortedOrZeroEntriesFromTheWire) {
    ViewClock c;
    EXPECT_FALSE(c.assign({{4, 1}, {2, 1}}));
    EXPECT_FALSE(c.assign({{2, 1}, {2, 3}}));
    EXPECT_FALSE(c.assign({{2, 0}}));
    EXPECT_TRUE(c.entries().empty());
    EXPECT_TRUE(c.assign({{2, 1}, {4, 7}}));
    EXPECT_EQ(c.of(4), 7u);
}

TEST(KeptChannel, ASendIntoRoomIsAcceptedAndWaitsForItsReceiver) {
    KeptChannel ch(0, 1);
    KeptChannel::Effects fx;
    EXPECT_EQ(ch.offer(kSender, 0, int_message(11), {}, fx), "");
    ASSERT_EQ(fx.accepted.size(), 1u);
    EXPECT_EQ(fx.accepted[0].to, kSender);
    EXPECT_EQ(fx.accepted[0].seq, 0u);
    EXPECT_TRUE(fx.delivered.empty());
    EXPECT_EQ(ch.held(), 1u);
    fx = {};
    ch.want(kReceiver, fx);
    ASSERT_EQ(fx.delivered.size(), 1u);
    EXPECT_EQ(fx.delivered[0].to, kReceiver);
    EXPECT_EQ(fx.delivered[0].message.message.bits, 11u);
    EXPECT_EQ(fx.delivered[0].message.from, kSender);
    EXPECT_EQ(ch.held(), 0u);
}

TEST(KeptChannel, AWaitingReceiverTakesTheFirstSendAtOnce) {
    KeptChannel ch(0, 1);
    KeptChannel::Effects fx;
    ch.want(kReceiver, fx);
    EXPECT_TRUE(fx.delivered.empty());
    ASSERT_EQ(ch.receivers().size(), 1u);
    ViewClock c;
    c.raise(5, 2);
    EXPECT_EQ(ch.offer(kSender, 0, int_message(3), c, fx), "");
    ASSERT_EQ(fx.accepted.size(), 1u);
    ASSERT_EQ(fx.delivered.size(), 1u);
    EXPECT_EQ(fx.delivered[0].message.clock, c);  // the sender's view travels with it
    EXPECT_TRUE(ch.receivers().empty());
}

TEST(KeptChannel, AFullChannelHoldsTheSendUntilATakeMakesRoom) {
    KeptChannel ch(0, 2);
    KeptChannel::Effects fx;
    ch.offer(kSender, 0, int_message(1), {}, fx);
    ch.offer(kSender, 1, int_message(2), {}, fx);
    EXPECT_EQ(fx.accepted.size(), 2u);
    fx = {};
    ch.offer(kOtherSender, 0, int_message(3), {}, fx);
    EXPECT_TRUE(fx.accepted.empty());  // it waits for room
    ASSERT_EQ(ch.senders().size(), 1u);
    EXPECT_EQ(ch.senders()[0], kOtherSender);
    EXPECT_EQ(ch.most_held(), 2u);
    ch.want(kReceiver, fx);
    ASSERT_EQ(fx.delivered.size(), 1u);
    EXPECT_EQ(fx.delivered[0].message.message.bits, 1u);
    ASSERT_EQ(fx.accepted.size(), 1u);  // the take made room for it
    EXPECT_EQ(fx.accepted[0].to, kOtherSender);
    EXPECT_EQ(ch.held(), 2u);
    fx = {};
    ch.want(kOtherReceiver, fx);
    ch.want(kReceiver, fx);
    ASSERT_EQ(fx.delivered.size(), 2u);
    EXPECT_EQ(fx.delivered[0].message.message.bits, 2u);  // first in, first out
    EXPECT_EQ(fx.delivered[0].to, kOtherReceiver);       // receivers in the order they asked
    EXPECT_EQ(fx.delivered[1].message.message.bits, 3u);
    EXPECT_EQ(ch.messages(), 3u);
    EXPECT_EQ(ch.bytes(), 24u);
}

TEST(KeptChannel, OneSendersMessagesGoInInItsOrderWhateverPathTheyCameBy) {
    KeptChannel ch(0, 4);
    ch.expect(kSender.proc, 3);  // three went through the home before
    KeptChannel::Effects fx;
    EXPECT_EQ(ch.offer(kSender, 4, int_message(40), {}, fx), "");  // direct, ahead of the forwarded one
    EXPECT_TRUE(fx.accepted.empty());
    EXPECT_EQ(ch.held(), 0u);
    EXPECT_EQ(ch.offer(kSender, 3, int_message(30), {}, fx), "");
    ASSERT_EQ(fx.accepted.size(), 2u);
    EXPECT_EQ(fx.accepted[0].seq, 3u);
    EXPECT_EQ(fx.accepted[1].seq, 4u);
    ch.want(kReceiver, fx);
    ASSERT_EQ(fx.delivered.size(), 1u);
    EXPECT_EQ(fx.delivered[0].message.message.bits, 30u);
    EXPECT_NE(ch.offer(kSender, 4, int_message(41), {}, fx), "");  // twice: a protocol fault
    EXPECT_NE(ch.offer(kSender, 1, int_message(10), {}, fx), "");
}

TEST(KeptChannel, ForgettingAPartyDropsItsWaitsButKeepsWhatItSent) {
    KeptChannel ch(0, 1);
    KeptChannel::Effects fx;
    ch.offer(kSender, 0, int_message(1), {}, fx);
    ch.offer(kOtherSender, 0, int_message(2), {}, fx);  // waits for room
    ch.forget(kOtherSender, fx);
    EXPECT_TRUE(ch.senders().empty());
    ch.forget_node(kSender.node, fx);  // what it sent is in, and stays
    EXPECT_EQ(ch.held(), 1u);
    fx = {};
    ch.want(kReceiver, fx);
    ASSERT_EQ(fx.delivered.size(), 1u);
    EXPECT_EQ(fx.delivered[0].message.message.bits, 1u);
    ch.want(kOtherReceiver, fx);
    ch.forget_node(kOtherReceiver.node, fx);
    EXPECT_TRUE(ch.receivers().empty());
}

// Credits (kept_channel.h): kept on node 2, sent to from node 1.
constexpr std::uint32_t kKeeperNode = 2;

TEST(KeptChannelCredits, TheOneSendingNodeIsLentTheRoomAndSendsOnItUnanswered) {
    KeptChannel ch(0, 2, kKeeperNode);
    KeptChannel::Effects fx;
    EXPECT_EQ(ch.offer(kSender, 0, int_message(1), {}, fx), "");
    ASSERT_EQ(fx.accepted.size(), 1u);
    ASSERT_EQ(fx.granted.size(), 1u);  // the room left: one message
    EXPECT_EQ(fx.granted[0].node, kSender.node);
    EXPECT_EQ(fx.granted[0].credits, 1u);
    EXPECT_EQ(ch.credits_out(), 1u);
    fx = {};
    EXPECT_EQ(ch.offer(kSender, 1, int_message(2), {}, fx, /*on_credit=*/true), "");
    EXPECT_TRUE(fx.accepted.empty());  // nobody waits for an answer
    EXPECT_TRUE(fx.granted.empty());   // full: nothing to lend
    EXPECT_EQ(ch.held(), 2u);
    EXPECT_EQ(ch.credits_out(), 0u);
    // A third send on credit would pass the capacity: refused.
    EXPECT_NE(ch.offer(kSender, 2, int_message(3), {}, fx, true), "");
    ch.want(kReceiver, fx);  // a message taken: its room is lent again
    ASSERT_EQ(fx.delivered.size(), 1u);
    EXPECT_EQ(fx.delivered[0].message.message.bits, 1u);
    ASSERT_EQ(fx.granted.size(), 1u);
    EXPECT_EQ(fx.granted[0].credits, 1u);
    EXPECT_EQ(ch.messages(), 2u);
}

TEST(KeptChannelCredits, ASendFromElsewhereRevokesTheCreditsAndWaitsForTheirRoom) {
    KeptChannel ch(0, 1, kKeeperNode);
    KeptChannel::Effects fx;
    ch.want(kReceiver, fx);
    ch.offer(kSender, 0, int_message(1), {}, fx);  // taken at once: the room is lent to node 1
    ASSERT_EQ(fx.granted.size(), 1u);
    fx = {};
    ch.offer(kOtherSender, 0, int_message(2), {}, fx);  // from the home: the lending ends
    ASSERT_EQ(fx.revoked.size(), 1u);
    EXPECT_EQ(fx.revoked[0], kSender.node);
    EXPECT_TRUE(fx.accepted.empty());  // its room is node 1's until it comes back
    fx = {};
    EXPECT_NE(ch.take_back(kSender.node, 2, fx), "");  // more than it was lent
    EXPECT_EQ(ch.take_back(kSender.node, 1, fx), "");
    ASSERT_EQ(fx.accepted.size(), 1u);
    EXPECT_EQ(fx.accepted[0].to, kOtherSender);
    EXPECT_TRUE(fx.granted.empty());  // never again
    fx = {};
    ch.want(kReceiver, fx);
    EXPECT_TRUE(fx.granted.empty());
    EXPECT_NE(ch.offer(kSender, 1, int_message(3), {}, fx, true), "");  // no credit any more
}

TEST(KeptChannelCredits, ASendOnCreditThatCrossedTheRevokeStillGoesIn) {
    KeptChannel ch(0, 1, kKeeperNode);
    KeptChannel::Effects fx;
    ch.offer(kSender, 0, int_message(1), {}, fx);
    ch.want(kReceiver, fx);  // taken: one credit out
    ASSERT_EQ(ch.credits_out(), 1u);
    fx = {};
    ch.offer(kOtherSender, 0, int_message(2), {}, fx);
    ASSERT_EQ(fx.revoked.size(), 1u);
    EXPECT_EQ(ch.offer(kSender, 1, int_message(3), {}, fx, true), "");  // used before the revoke came
    EXPECT_EQ(ch.take_back(kSender.node, 0, fx), "");                  // nothing left to return
    EXPECT_TRUE(fx.accepted.empty());  // the credited one holds the room
    fx = {};
    ch.want(kReceiver, fx);
    ASSERT_EQ(fx.delivered.size(), 1u);
    EXPECT_EQ(fx.delivered[0].message.message.bits, 3u);
    ASSERT_EQ(fx.accepted.size(), 1u);  // then the home's send goes in
    EXPECT_EQ(fx.accepted[0].to, kOtherSender);
}

TEST(KeptChannelCredits, ASendThatLeftBeforeItsNodesCreditArrivedTakesTheCredit) {
    KeptChannel ch(0, 1, kKeeperNode);
    KeptChannel::Effects fx;
    ch.offer(kSender, 0, int_message(1), {}, fx);
    ch.want(kReceiver, fx);  // taken: a credit on its way to node 1
    ASSERT_EQ(ch.credits_out(), 1u);
    fx = {};
    // Node 1's next send left without it: it must not wait for the room lent to its own node.
    EXPECT_EQ(ch.offer(kSender, 1, int_message(2), {}, fx), "");
    ASSERT_EQ(fx.accepted.size(), 1u);
    EXPECT_TRUE(fx.accepted[0].on_credit);  // its node counts one credit less
    EXPECT_EQ(ch.credits_out(), 0u);
    EXPECT_EQ(ch.held(), 1u);
}

TEST(KeptChannelCredits, ALostNodesCreditsGoToTheSendsWaiting) {
    KeptChannel ch(0, 1, kKeeperNode);
    KeptChannel::Effects fx;
    ch.offer(kSender, 0, int_message(1), {}, fx);
    ch.want(kReceiver, fx);
    fx = {};
    ch.offer(kOtherSender, 0, int_message(2), {}, fx);
    EXPECT_TRUE(fx.accepted.empty());
    ch.forget_node(kSender.node, fx);
    ASSERT_EQ(fx.accepted.size(), 1u);
    EXPECT_EQ(ch.credits_out(), 0u);
}

TEST(KeptChannelCredits, TheKeepersOwnNodeAndAKeeperWithoutCreditsLendNothing) {
    KeptChannel local(0, 4, kKeeperNode);
    KeptChannel::Effects fx;
    local.offer(ChannelParty{kKeeperNode, 3}, 0, int_message(1), {}, fx);
    EXPECT_TRUE(fx.granted.empty());
    KeptChannel plain(0, 4);
    plain.offer(kSender, 0, int_message(1), {}, fx);
    EXPECT_TRUE(fx.granted.empty());
}

TEST(KeptChannelCredits, AForgottenSenderOnCreditGivesItsRoomBack) {
    KeptChannel ch(0, 1, kKeeperNode);
    KeptChannel::Effects fx;
    ch.offer(kSender, 0, int_message(1), {}, fx);
    ch.want(kReceiver, fx);  // one credit out
    fx = {};
    // Send 2 on credit comes before send 1 (the home forwards that one): it waits.
    EXPECT_EQ(ch.offer(kSender, 2, int_message(3), {}, fx, true), "");
    EXPECT_EQ(ch.held(), 0u);
    ch.forget(kSender, fx);  // stopped: its early send goes, and its room is lent to its node again
    ASSERT_EQ(fx.granted.size(), 1u);
    EXPECT_EQ(ch.credits_out(), 1u);
    fx = {};
    ch.offer(kOtherSender, 0, int_message(9), {}, fx);
    EXPECT_TRUE(fx.accepted.empty());
    EXPECT_EQ(ch.take_back(kSender.node, 1, fx), "");
    ASSERT_EQ(fx.accepted.size(), 1u);
    EXPECT_EQ(fx.accepted[0].to, kOtherSender);
}

// NodeChannels (vm/procs/node_channels.h) on node 2, keeping `in`: what it
// puts on the wire, recorded.
struct RecordedNode {
    std::vector<std::pair<std::uint32_t, ChannelFrame>> wire;
    std::vector<ChannelFrame> answers;  // to procedure #7 here
    NodeChannels node{kKeeperNode, [this](std::uint32_t to, ChannelFrame f) {
                          wire.emplace_back(to, std::move(f));
                          return std::string();
                      }};
    RecordedNode() {
        node.keep(0, 1, {});
        node.attach(7, [this](ChannelFrame f) { answers.push_back(std::move(f)); });
    }
    // The frames to participant `to`: their kinds, and the credits each carried.
    std::vector<std::pair<ChannelFrame::Kind, std::uint64_t>> to(std::uint32_t where) const {
        std::vector<std::pair<ChannelFrame::Kind, std::uint64_t>> out;
        for (const auto& [t, f] : wire)
            if (t == where) {
                std::uint64_t credits = 0;
                for (const auto& [channel, n] : f.credits) credits += n;
                out.emplace_back(f.kind, credits);
            }
        return out;
    }
};

ChannelFrame send_from_node_1(std::uint64_t seq, ChannelFrame::Kind kind = ChannelFrame::Kind::Send) {
    ChannelFrame f;
    f.kind = kind;
    f.channel = 0;
    f.party = kSender;
    f.seq = seq;
    f.message = int_message(seq);
    return f;
}

using K = ChannelFrame::Kind;
using Sent = std::vector<std::pair<K, std::uint64_t>>;

TEST(NodeChannelsCredits, ACreditGoesWithTheNextFrameToItsNodeOrWhenAProcedureHereWaits) {
    RecordedNode n;
    n.node.want(0, 7, 0);  // procedure #7 here waits on `in`
    EXPECT_EQ(n.node.receive(1, send_from_node_1(0)), "");
    ASSERT_EQ(n.answers.size(), 1u);  // delivered here
    // The take lent its room to node 1: the acceptance carries the credit.
    EXPECT_EQ(n.to(1), (Sent{{K::Accepted, 1}}));
    n.node.want(0, 7, 0);
    EXPECT_EQ(n.node.receive(1, send_from_node_1(1, K::SendOnCredit)), "");  // unanswered
    ASSERT_EQ(n.answers.size(), 2u);
    EXPECT_EQ(n.to(1).size(), 1u);  // the room it made is lent, and the credit waits for company
    n.node.keeper_is(1, 1);  // channel 1 is kept on node 1: #7 sends there
    n.node.send(1, 7, 0, 0, int_message(5), {});
    EXPECT_EQ(n.to(1), (Sent{{K::Accepted, 1}, {K::Send, 1}}));  // #7's send carries it
    n.node.want(0, 7, 0);
    EXPECT_EQ(n.node.receive(1, send_from_node_1(2, K::SendOnCredit)), "");
    n.node.send_lent_credits();  // #7 waits now: the credit goes alone
    EXPECT_EQ(n.to(1), (Sent{{K::Accepted, 1}, {K::Send, 1}, {K::Credit, 1}}));
    EXPECT_EQ(n.node.receive(1, send_from_node_1(3, K::SendOnCredit)), "");  // nobody takes it: the channel is full
    // A send on credit node 1 does not hold is refused.
    EXPECT_NE(n.node.receive(1, send_from_node_1(4, K::SendOnCredit)), "");
}

TEST(NodeChannelsCredits, ASendTakingACreditStillOnItsWayIsAnsweredWithIt) {
    RecordedNode n;
    n.node.want(0, 7, 0);
    EXPECT_EQ(n.node.receive(1, send_from_node_1(0)), "");  // taken: one credit lent, sent with the acceptance
    n.node.want(0, 7, 0);
    n.node.want(0, 8, 0);  // procedure #8 (not attached) waits too
    EXPECT_EQ(n.node.receive(1, send_from_node_1(1, K::SendOnCredit)), "");  // to #7: lent again, not sent yet
    EXPECT_EQ(n.node.receive(1, send_from_node_1(2)), "");  // node 1 sent without it: to #8
    // The answer that takes a credit back carries it, and the one #8's take
    // lent: node 1 adds two, then takes one, and holds what the keeper lent.
    EXPECT_EQ(n.to(1), (Sent{{K::Accepted, 1}, {K::AcceptedOnCredit, 2}}));
}

// Credits lent to one node on several channels wait together and go in one
// frame, ascending by channel (as the wire requires); once the node is lost,
// nothing more goes to it.
TEST(NodeChannelsCredits, CreditsOfSeveralChannelsGoTogetherAndNoneToALostNode) {
    RecordedNode n;
    n.node.keep(2, 1, {});
    auto send_on = [](std::uint32_t channel, std::uint64_t seq, K kind) {
        ChannelFrame f = send_from_node_1(seq, kind);
        f.channel = channel;
        return f;
    };
    for (std::uint32_t channel : {2u, 0u}) {  // each take lends its room; the acceptance carries it
        n.node.want(channel, 7, 0);
        EXPECT_EQ(n.node.receive(1, send_on(channel, 0, K::Send)), "");
    }
    for (std::uint32_t channel : {2u, 0u}) {  // taken on credit: the room lent again waits
        n.node.want(channel, 7, 0);
        EXPECT_EQ(n.node.receive(1, send_on(channel, 1, K::SendOnCredit)), "");
    }
    EXPECT_EQ(n.to(1), (Sent{{K::Accepted, 1}, {K::Accepted, 1}}));
    n.node.send_lent_credits();
    ASSERT_EQ(n.to(1).size(), 3u);
    EXPECT_EQ(n.wire.back().second.kind, K::Credit);
    EXPECT_EQ(n.wire.back().second.credits, (std::vector<std::pair<std::uint32_t, std::uint64_t>>{{0, 1}, {2, 1}}));

    n.node.want(0, 7, 0);
    EXPECT_EQ(n.node.receive(1, send_on(0, 2, K::SendOnCredit)), "");  // lent again, not sent
    n.node.lost(1, "the test lost it");
    n.node.send_lent_credits();
    EXPECT_EQ(n.to(1).size(), 3u) << "credits went to a lost node";
}

TEST(NodeChannelsCredits, CreditsFromANodeThatDoesNotKeepTheChannelAreRefused) {
    RecordedNode n;
    n.node.keeper_is(1, 1);
    ChannelFrame f;
    f.kind = K::Credit;
    f.party = {kKeeperNode, ChannelFrame::kNoProcedure};
    f.credits = {{1, 4}};
    EXPECT_NE(n.node.receive(3, ChannelFrame(f)), "");  // channel 1 is node 1's
    EXPECT_EQ(n.node.receive(1, std::move(f)), "");
}

// NodeChannels sending: frames go out in the order they were made, those
// made while one thread sends included, and a frame that cannot go fails the
// procedure that waits for its answer.
TEST(NodeChannelsWire, AFrameMadeWhileFramesGoOutGoesAfterThemInOrder) {
    std::vector<std::pair<std::uint32_t, std::uint64_t>> sent;  // (channel, seq) in wire order
    NodeChannels* self = nullptr;
    NodeChannels node{kKeeperNode, [&](std::uint32_t, ChannelFrame f) {
                          sent.emplace_back(f.channel, f.seq);
                          // The first frame out makes more while it goes (as another
                          // thread's operation would): they wait for this round.
                          if (sent.size() == 1)
                              for (std::uint64_t seq = 0; seq < 40; ++seq) self->send(2, 8, 0, seq, int_message(seq), {});
                          return std::string();
                      }};
    self = &node;
    node.keeper_is(1, 1);
    node.keeper_is(2, 3);
    node.attach(7, [](ChannelFrame) {});
    node.attach(8, [](ChannelFrame) {});
    node.send(1, 7, 0, 0, int_message(1), {});
    ASSERT_EQ(sent.size(), 41u);
    EXPECT_EQ(sent[0], (std::pair<std::uint32_t, std::uint64_t>{1, 0}));
    for (std::uint64_t seq = 0; seq < 40; ++seq) EXPECT_EQ(sent[1 + seq], (std::pair<std::uint32_t, std::uint64_t>{2, seq}));
    // And the next operation's frame goes out alone, after them.
    node.send(1, 7, 0, 1, int_message(2), {});
    ASSERT_EQ(sent.size(), 42u);
    EXPECT_EQ(sent.back(), (std::pair<std::uint32_t, std::uint64_t>{1, 1}));
}

TEST(NodeChannelsWire, AFrameThatCannotGoFailsTheProcedureThatWaitsForItsAnswer) {
    std::string refusal = "connection reset";
    int wired = 0;
    NodeChannels node{kKeeperNode, [&](std::uint32_t, ChannelFrame) {
                          ++wired;
                          return refusal;
                      }};
    std::vector<ChannelFrame> answers;
    node.keeper_is(1, 1);
    node.attach(7, [&](ChannelFrame f) { answers.push_back(std::move(f)); });
    EXPECT_EQ(node.send(1, 7, 0, 0, int_message(1), {}), NodeChannels::Sent::Waits);
    ASSERT_EQ(answers.size(), 1u);
    EXPECT_EQ(answers[0].kind, ChannelFrame::Kind::Failed);
    EXPECT_EQ(answers[0].party, (ChannelParty{kKeeperNode, 7}));
    EXPECT_EQ(answers[0].text, "its keeper, node 1, cannot be reached: connection reset");
    // Its recv's want fails the same way; nothing is counted as sent.
    node.want(1, 7, 0);
    ASSERT_EQ(answers.size(), 2u);
    EXPECT_EQ(answers[1].kind, ChannelFrame::Kind::Failed);
    for (const auto& [to, frames] : node.snapshot().sent) EXPECT_EQ(frames, 0u) << "to " << to;
    EXPECT_TRUE(node.snapshot().blocked.empty());
    // A lost keeper: the frame is not even put on the wire.
    node.lost(1, "it stopped answering");
    const int before = wired;
    node.send(1, 7, 0, 1, int_message(2), {});
    EXPECT_EQ(wired, before);
    ASSERT_EQ(answers.size(), 3u);
    EXPECT_EQ(answers[2].text, "its keeper, node 1, cannot be reached: it stopped answering");
}

}  // namespace
}  // namespace polymer
