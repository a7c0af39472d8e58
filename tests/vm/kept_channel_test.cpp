// KeptChannel and ViewClock (vm/procs/kept_channel.h): the rules of a
// channel kept on a node, without threads or wires.
#include <gtest/gtest.h>

#include "vm/procs/kept_channel.h"

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
    ch.forget(kOtherSender);
    EXPECT_TRUE(ch.senders().empty());
    ch.forget_node(kSender.node);  // what it sent is in, and stays
    EXPECT_EQ(ch.held(), 1u);
    fx = {};
    ch.want(kReceiver, fx);
    ASSERT_EQ(fx.delivered.size(), 1u);
    EXPECT_EQ(fx.delivered[0].message.message.bits, 1u);
    ch.want(kOtherReceiver, fx);
    ch.forget_node(kOtherReceiver.node);
    EXPECT_TRUE(ch.receivers().empty());
}

}  // namespace
}  // namespace polymer
