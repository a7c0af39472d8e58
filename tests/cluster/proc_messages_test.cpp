// Protocol version 7's payloads (proc-start, proc-event, proc-answer): every
// field travels whole, every prefix and a trailing byte are refused naming
// the message, enum values out of range are refused naming the field, and a
// procedure's region writes too large for one frame are spread over several.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "cluster/frame.h"
#include "cluster/messages.h"
#include "cluster/proc_frames.h"

using namespace polymer;
using namespace polymer::cluster;

namespace {

std::vector<std::byte> bytes_of(std::initializer_list<int> v) {
    std::vector<std::byte> out;
    for (int b : v) out.push_back(static_cast<std::byte>(b));
    return out;
}

AwayStart a_start() {
    AwayStart s;
    s.id = 3;
    s.entry_pc = 41;
    s.exec = ExecMode::Spec;
    s.rob_size = 16;
    s.kernel_steps = 999;
    s.max_steps = 1ull << 40;
    s.int_regs.assign(32, 0);
    s.int_regs[1] = -5;
    s.int_regs[31] = std::int64_t{1} << 62;
    s.float_regs.assign(32, 0.0);
    s.float_regs[2] = -0.0;
    s.float_regs[3] = 1.5;
    s.region_lengths = {4096, 0, 7};
    s.args = {"one", "", "three"};
    return s;
}

AwayEvent a_send() {
    AwayEvent e;
    e.kind = AwayEvent::Kind::Send;
    e.pc = 12;
    e.steps = 1234567;
    e.index = 2;
    e.message.kind = MessageKind::Slice;
    e.message.type = ElemType::F32;
    e.message.elements = bytes_of({1, 2, 3, 4, 5, 6, 7, 8});
    e.writes = {RegionWrite{1, 64, bytes_of({9, 8, 7})}, RegionWrite{0, 0, {}}};
    e.lengths = {RegionLength{1, 100}, RegionLength{3, 0}};
    return e;
}

AwayAnswer an_answer() {
    AwayAnswer a;
    a.kind = AwayAnswer::Kind::Done;
    a.writes = {RegionWrite{5, 1ull << 33, bytes_of({1, 1, 2, 3, 5})}};
    a.lengths = {RegionLength{5, 1ull << 40}};
    a.message.kind = MessageKind::Float;
    a.message.bits = 0x400921fb54442d18ull;
    a.r1 = -77;
    a.f1 = 2.25;
    a.text = "";
    return a;
}

template <class T>
void expect_every_prefix_refused(const Bytes& full, Result<T> (*decode)(Payload), const std::string& message) {
    ASSERT_TRUE(decode(full));
    for (std::size_t n = 0; n < full.size(); ++n) {
        auto r = decode(std::span<const std::uint8_t>(full.data(), n));
        ASSERT_FALSE(r) << "prefix of " << n << " bytes accepted";
        EXPECT_NE(r.error().find(message + " payload"), std::string::npos) << r.error();
    }
    Bytes longer = full;
    longer.push_back(0);
    auto r = decode(longer);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("unexpected bytes"), std::string::npos) << r.error();
}

void expect_refused(const Result<AwayEvent>& r, const std::string& text) {
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().find(text), std::string::npos) << r.error();
}

}  // namespace

TEST(ProcMessages, ProcStartRoundTripsEveryField) {
    Sha256 hash{};
    hash[0] = 0xab;
    hash[31] = 0xcd;
    const Bytes full = encode(ProcStart{hash, a_start(), {NodeAddress{"10.0.0.7", 7447}, NodeAddress{"::1", 1}}});
    auto back = decode_proc_start(full);
    ASSERT_TRUE(back) << back.error();
    const AwayStart& s = back.value().start;
    const AwayStart want = a_start();
    EXPECT_EQ(back.value().module, hash);
    EXPECT_EQ(s.id, want.id);
    EXPECT_EQ(s.entry_pc, want.entry_pc);
    EXPECT_EQ(s.exec, ExecMode::Spec);
    EXPECT_EQ(s.rob_size, want.rob_size);
    EXPECT_EQ(s.kernel_steps, want.kernel_steps);
    EXPECT_EQ(s.max_steps, want.max_steps);
    EXPECT_EQ(s.int_regs, want.int_regs);
    ASSERT_EQ(s.float_regs.size(), 32u);
    EXPECT_TRUE(std::signbit(s.float_regs[2]));
    EXPECT_EQ(s.float_regs[3], 1.5);
    EXPECT_EQ(s.region_lengths, want.region_lengths);
    EXPECT_EQ(s.args, want.args);
    ASSERT_EQ(back.value().cluster.size(), 2u);
    EXPECT_EQ(back.value().cluster[0].host, "10.0.0.7");
    EXPECT_EQ(back.value().cluster[0].port, 7447);
    EXPECT_EQ(back.value().cluster[1].host, "::1");
    EXPECT_EQ(encode(back.value()), full);
    expect_every_prefix_refused(full, &decode_proc_start, "proc-start");
    // No cluster: the count alone.
    EXPECT_EQ(encode(ProcStart{hash, a_start(), {}}).size(), full.size() - (4 + 8 + 2) - (4 + 3 + 2));  // two (host, port) entries

    // More nodes than a node dials for one procedure.
    ProcStart many{hash, a_start(), std::vector<NodeAddress>(kMaxProcClusterNodes + 1, NodeAddress{"h", 1})};
    auto refused = decode_proc_start(encode(many));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("names 1025 cluster nodes, more than 1024"), std::string::npos) << refused.error();
    many.cluster.pop_back();
    EXPECT_TRUE(decode_proc_start(encode(many)));

    Bytes bad = full;
    bad[32 + 8] = 4;  // the exec mode, after the hash, the id and the entry pc
    auto r = decode_proc_start(bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("exec mode is 4"), std::string::npos) << r.error();
}

TEST(ProcMessages, ProcEventRoundTripsEachKind) {
    std::vector<AwayEvent> events;
    events.push_back(a_send());
    AwayEvent end;
    end.kind = AwayEvent::Kind::End;
    end.pc = 99;
    end.int_regs.assign(32, 7);
    end.float_regs.assign(32, 0.5);
    events.push_back(end);
    AwayEvent trap;
    trap.kind = AwayEvent::Kind::Trap;
    trap.trap = TrapKind::DivisionByZero;
    trap.pc = 5;
    trap.text = "r3 is 0";
    events.push_back(trap);
    AwayEvent spawn;
    spawn.kind = AwayEvent::Kind::Spawn;
    spawn.index = 17;
    spawn.value = -1;
    spawn.int_regs = {1, 2};
    events.push_back(spawn);
    AwayEvent output;
    output.kind = AwayEvent::Kind::Output;
    output.text = "hello\n";
    events.push_back(output);
    for (const AwayEvent& e : events) {
        const Bytes full = encode(e);
        auto back = decode_proc_event(full);
        ASSERT_TRUE(back) << back.error();
        EXPECT_EQ(back.value().kind, e.kind);
        EXPECT_EQ(back.value().pc, e.pc);
        EXPECT_EQ(back.value().steps, e.steps);
        EXPECT_EQ(back.value().index, e.index);
        EXPECT_EQ(back.value().value, e.value);
        EXPECT_EQ(back.value().text, e.text);
        EXPECT_EQ(back.value().trap, e.trap);
        EXPECT_EQ(back.value().int_regs, e.int_regs);
        EXPECT_EQ(back.value().float_regs, e.float_regs);
        EXPECT_EQ(back.value().message.kind, e.message.kind);
        EXPECT_EQ(back.value().message.type, e.message.type);
        EXPECT_EQ(back.value().message.elements, e.message.elements);
        ASSERT_EQ(back.value().writes.size(), e.writes.size());
        for (std::size_t i = 0; i < e.writes.size(); ++i) {
            EXPECT_EQ(back.value().writes[i].region, e.writes[i].region);
            EXPECT_EQ(back.value().writes[i].offset, e.writes[i].offset);
            EXPECT_EQ(back.value().writes[i].bytes, e.writes[i].bytes);
        }
        ASSERT_EQ(back.value().lengths.size(), e.lengths.size());
        for (std::size_t i = 0; i < e.lengths.size(); ++i) {
            EXPECT_EQ(back.value().lengths[i].region, e.lengths[i].region);
            EXPECT_EQ(back.value().lengths[i].length, e.lengths[i].length);
        }
        EXPECT_EQ(encode(back.value()), full);
        expect_every_prefix_refused(full, &decode_proc_event, "proc-event");
    }
}

TEST(ProcMessages, ProcEventRefusesValuesOutOfRange) {
    const Bytes full = encode(a_send());
    Bytes b = full;
    b[0] = static_cast<std::uint8_t>(AwayEvent::Kind::Lost);  // the home's own
    expect_refused(decode_proc_event(b), "kind is 9");
    b[0] = 200;
    expect_refused(decode_proc_event(b), "kind is 200");

    AwayEvent e = a_send();
    Bytes m = encode(e);
    constexpr std::size_t kMessageAt = 1 + 4 + 8 + 4 + 8;  // kind, pc, steps, index, value
    m[kMessageAt] = 3;
    expect_refused(decode_proc_event(m), "message kind is 3");
    m = encode(e);
    m[kMessageAt + 9] = 6;  // the element type, after the kind and the bits
    expect_refused(decode_proc_event(m), "message element type is 6");

    e.message.elements.pop_back();  // 7 bytes of f32
    expect_refused(decode_proc_event(encode(e)), "not a whole number of 4-byte elements");
    e = a_send();
    e.message.kind = MessageKind::Int;
    expect_refused(decode_proc_event(encode(e)), "only a slice message carries elements");

    AwayEvent t;
    t.kind = AwayEvent::Kind::Trap;
    Bytes tb = encode(t);
    constexpr std::size_t kTrapFromEnd = 1 + 4 + 4 + 4;  // trap, then two empty register counts and an empty clock
    tb[tb.size() - kTrapFromEnd] = 250;
    expect_refused(decode_proc_event(tb), "trap is 250");
}

TEST(ProcMessages, HugeCountsDoNotAllocate) {
    AwayEvent e;
    Bytes b = encode(e);
    constexpr std::size_t kLengthsAt = 1 + 4 + 8 + 4 + 8 + 1 + 8 + 1 + 8;  // ... and the message
    constexpr std::size_t kWritesAt = kLengthsAt + 4;
    Bytes lb = b;
    for (std::size_t i = kLengthsAt; i < kLengthsAt + 4; ++i) lb[i] = 0xFF;
    expect_refused(decode_proc_event(lb), "lengths: 4294967295 entries");
    for (std::size_t i = kWritesAt; i < kWritesAt + 4; ++i) b[i] = 0xFF;
    expect_refused(decode_proc_event(b), "writes: 4294967295 entries");

    AwayAnswer a;
    Bytes ab = encode(a);
    ab[1 + 4 + 4 + 1 + 8 + 1 + 7] = 0x7F;  // the message's elements: a length near 2^63 (after kind, lengths, writes, message kind, bits, type)
    auto r = decode_proc_answer(ab);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("run past the end"), std::string::npos) << r.error();
}

TEST(ProcMessages, ProcAnswerRoundTripsAndRefusesBadKinds) {
    const Bytes full = encode(an_answer());
    auto back = decode_proc_answer(full);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().kind, AwayAnswer::Kind::Done);
    ASSERT_EQ(back.value().writes.size(), 1u);
    EXPECT_EQ(back.value().writes[0].region, 5u);
    EXPECT_EQ(back.value().writes[0].offset, 1ull << 33);
    EXPECT_EQ(back.value().writes[0].bytes, bytes_of({1, 1, 2, 3, 5}));
    ASSERT_EQ(back.value().lengths.size(), 1u);
    EXPECT_EQ(back.value().lengths[0].region, 5u);
    EXPECT_EQ(back.value().lengths[0].length, 1ull << 40);
    EXPECT_EQ(back.value().message.kind, MessageKind::Float);
    EXPECT_EQ(back.value().message.bits, 0x400921fb54442d18ull);
    EXPECT_EQ(back.value().r1, -77);
    EXPECT_EQ(back.value().f1, 2.25);
    EXPECT_EQ(encode(back.value()), full);
    expect_every_prefix_refused(full, &decode_proc_answer, "proc-answer");
    AwayAnswer stop;
    stop.kind = AwayAnswer::Kind::Stop;
    stop.text = "the program ended";
    auto s = decode_proc_answer(encode(stop));
    ASSERT_TRUE(s);
    EXPECT_EQ(s.value().text, "the program ended");
    AwayAnswer moved;  // version 12: the channel is kept by node 2 now
    moved.kind = AwayAnswer::Kind::Moved;
    moved.r1 = 2;
    auto mv = decode_proc_answer(encode(moved));
    ASSERT_TRUE(mv) << mv.error();
    EXPECT_EQ(mv.value().kind, AwayAnswer::Kind::Moved);
    EXPECT_EQ(mv.value().r1, 2);
    Bytes bad = full;
    bad[0] = 4;
    auto r = decode_proc_answer(bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("kind is 4"), std::string::npos) << r.error();
}

// Writes too large for one frame go first, as Writes events in pieces under
// the limit, then the event itself; together they carry every byte, at its
// offset, in order.
TEST(ProcMessages, LargeWritesAreSpreadOverFrames) {
    constexpr std::size_t kLimit = 300;
    AwayEvent e = a_send();
    e.writes.clear();
    for (std::uint32_t region = 0; region < 3; ++region) {
        RegionWrite w{region, 1000 * region, {}};
        for (int i = 0; i < 250 + 100 * static_cast<int>(region); ++i) w.bytes.push_back(static_cast<std::byte>(i * 7 + region));
        e.writes.push_back(std::move(w));
    }
    auto payloads = proc_event_payloads(e, kLimit);
    ASSERT_TRUE(payloads) << payloads.error();
    ASSERT_GT(payloads.value().size(), 3u);
    std::vector<RegionWrite> got;
    for (std::size_t i = 0; i < payloads.value().size(); ++i) {
        const Bytes& p = payloads.value()[i];
        EXPECT_LE(p.size(), kLimit);
        auto d = decode_proc_event(p);
        ASSERT_TRUE(d) << d.error();
        const bool last = i + 1 == payloads.value().size();
        EXPECT_EQ(d.value().kind, last ? AwayEvent::Kind::Send : AwayEvent::Kind::Writes);
        if (last) {
            EXPECT_TRUE(d.value().writes.empty());
            EXPECT_EQ(d.value().message.elements, e.message.elements);
        }
        EXPECT_EQ(d.value().pc, e.pc);
        // The lengths travel in the first piece, before any write.
        EXPECT_EQ(d.value().lengths.size(), i == 0 ? e.lengths.size() : 0u) << "piece " << i;
        for (RegionWrite& w : d.value().writes) got.push_back(std::move(w));
    }
    // Put back together, region by region.
    for (const RegionWrite& want : e.writes) {
        std::vector<std::byte> joined;
        std::uint64_t next = want.offset;
        for (const RegionWrite& w : got) {
            if (w.region != want.region) continue;
            EXPECT_EQ(w.offset, next);
            next += w.bytes.size();
            joined.insert(joined.end(), w.bytes.begin(), w.bytes.end());
        }
        EXPECT_EQ(joined, want.bytes) << "region " << want.region;
    }

    // A Writes event needs no event after its pieces; a small one stays whole.
    AwayEvent only = e;
    only.kind = AwayEvent::Kind::Writes;
    auto pieces = proc_event_payloads(only, kLimit);
    ASSERT_TRUE(pieces);
    EXPECT_EQ(decode_proc_event(pieces.value().back()).value().kind, AwayEvent::Kind::Writes);
    EXPECT_EQ(proc_event_payloads(a_send(), kLimit).value().size(), 1u);

    // Answers the same way.
    AwayAnswer a = an_answer();
    a.writes[0].bytes.assign(1000, std::byte{3});
    auto answers = proc_answer_payloads(a, kLimit);
    ASSERT_TRUE(answers);
    EXPECT_GT(answers.value().size(), 3u);
    EXPECT_EQ(decode_proc_answer(answers.value().back()).value().kind, AwayAnswer::Kind::Done);
    EXPECT_EQ(decode_proc_answer(answers.value().front()).value().kind, AwayAnswer::Kind::Writes);
}

TEST(ProcMessages, AMessageOverTheLimitIsAnError) {
    AwayEvent e = a_send();
    e.message.elements.assign(400, std::byte{1});
    auto r = proc_event_payloads(e, 300);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("over the 300 bytes a frame carries"), std::string::npos) << r.error();
    AwayAnswer a = an_answer();
    a.message.kind = MessageKind::Slice;
    a.message.type = ElemType::U8;
    a.message.elements.assign(400, std::byte{1});
    EXPECT_FALSE(proc_answer_payloads(a, 300));
}

TEST(ProcMessages, FrameTypesOfVersion7) {
    EXPECT_GE(kProtocolVersion, 7);
    EXPECT_STREQ(msg_type_name(MsgType::ProcStart), "proc-start");
    EXPECT_STREQ(msg_type_name(MsgType::ProcEvent), "proc-event");
    EXPECT_STREQ(msg_type_name(MsgType::ProcAnswer), "proc-answer");
    EXPECT_TRUE(is_known_msg_type(22));
    EXPECT_TRUE(is_known_msg_type(24));
    EXPECT_TRUE(is_known_msg_type(25));  // region-drop, version 10
}

TEST(ProcMessages, FrameTypesOfVersion12) {
    EXPECT_GE(kProtocolVersion, 12);
    EXPECT_STREQ(msg_type_name(MsgType::ChanKeep), "chan-keep");
    EXPECT_STREQ(msg_type_name(MsgType::ChanKeeper), "chan-keeper");
    EXPECT_STREQ(msg_type_name(MsgType::ChanFrame), "chan-frame");
    EXPECT_STREQ(msg_type_name(MsgType::ChanSnapshot), "chan-snapshot");
    EXPECT_STREQ(msg_type_name(MsgType::ChanSnapshotReply), "chan-snapshot-reply");
    EXPECT_TRUE(is_known_msg_type(26));
    EXPECT_TRUE(is_known_msg_type(30));
}

TEST(ProcMessages, ChanInboxOfVersion14) {
    EXPECT_GE(kProtocolVersion, 14);
    EXPECT_STREQ(msg_type_name(MsgType::ChanInbox), "chan-inbox");
    EXPECT_TRUE(is_known_msg_type(31));
    EXPECT_FALSE(is_known_msg_type(32));
    auto back = decode_chan_inbox(encode(ChanInbox{3, 77}));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().sender, 3u);
    EXPECT_EQ(back.value().run, 77u);
    // The home (0) never dials a node's chan-inbox; a short payload is refused.
    EXPECT_FALSE(decode_chan_inbox(encode(ChanInbox{0, 77})));
    Bytes short_one = encode(ChanInbox{3, 77});
    short_one.pop_back();
    EXPECT_FALSE(decode_chan_inbox(short_one));
}

namespace {
ViewClock a_clock() {
    ViewClock c;
    c.raise(3, 2);
    c.raise(ViewClock::kHomeWrites, 5);
    return c;
}
}  // namespace

TEST(ProcMessages, ChannelFramesRoundTripAndRefuseWhatIsNotOneOfTheirs) {
    ChanFrameMsg m;
    m.sender = 2;
    m.run = 9;
    m.frame.kind = ChannelFrame::Kind::Deliver;
    m.frame.channel = 4;
    m.frame.party = {1, 7};
    m.frame.seq = 1ull << 40;
    m.frame.from = {2, 3};
    m.frame.message.kind = MessageKind::Float;
    m.frame.message.bits = 0x400921fb54442d18ull;
    m.frame.clock = a_clock();
    const Bytes full = encode(m);
    auto back = decode_chan_frame(full);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().sender, 2u);
    EXPECT_EQ(back.value().run, 9u);
    EXPECT_EQ(back.value().frame.kind, ChannelFrame::Kind::Deliver);
    EXPECT_EQ(back.value().frame.party, (ChannelParty{1, 7}));
    EXPECT_EQ(back.value().frame.from, (ChannelParty{2, 3}));
    EXPECT_EQ(back.value().frame.seq, 1ull << 40);
    EXPECT_EQ(back.value().frame.message.bits, 0x400921fb54442d18ull);
    EXPECT_EQ(back.value().frame.clock, a_clock());
    EXPECT_EQ(encode(back.value()), full);
    expect_every_prefix_refused(full, &decode_chan_frame, "chan-frame");
    Bytes bad = full;
    bad[4 + 8] = static_cast<std::uint8_t>(ChannelFrame::Kind::Failed);  // made where it arrives, never sent
    auto r = decode_chan_frame(bad);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("kind is 9"), std::string::npos) << r.error();
    // Version 13's credit kinds travel.
    for (ChannelFrame::Kind k : {ChannelFrame::Kind::SendOnCredit, ChannelFrame::Kind::Credit, ChannelFrame::Kind::Revoke,
                                 ChannelFrame::Kind::Return, ChannelFrame::Kind::AcceptedOnCredit}) {
        ChanFrameMsg c = m;
        c.frame.kind = k;
        c.frame.credits = {{0, 1}, {4, 3}};  // lent to the node it goes to, carried along
        const Bytes wire = encode(c);
        auto got = decode_chan_frame(wire);
        ASSERT_TRUE(got) << got.error();
        EXPECT_EQ(got.value().frame.kind, k);
        EXPECT_EQ(got.value().frame.credits, c.frame.credits);
        expect_every_prefix_refused(wire, &decode_chan_frame, "chan-frame");
    }
    ChanFrameMsg twice = m;
    twice.frame.credits = {{4, 1}, {4, 2}};
    r = decode_chan_frame(encode(twice));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("each channel once, ascending"), std::string::npos) << r.error();
    twice.frame.credits = {{4, 0}};
    EXPECT_FALSE(decode_chan_frame(encode(twice)));
    // A clock out of order (the wire's entries: procedure u32, releases u64).
    Bytes unsorted = full;
    const std::size_t clock_at = full.size() - 4 - 2 * 12;  // before the credits count (none)
    std::swap_ranges(unsorted.begin() + clock_at, unsorted.begin() + clock_at + 12, unsorted.begin() + clock_at + 12);
    r = decode_chan_frame(unsorted);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("not sorted by procedure"), std::string::npos) << r.error();
}

TEST(ProcMessages, ChanKeepKeeperAndSnapshotRoundTrip) {
    ChanKeep k{3, 2, {{1, 5}, {4, 1}}, {}};
    k.queued.push_back(KeptMessage{{1, 1}, {}, a_clock()});
    const Bytes full = encode(k);
    auto back = decode_chan_keep(full);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().channel, 3u);
    EXPECT_EQ(back.value().capacity, 2u);
    EXPECT_EQ(back.value().expects, k.expects);
    ASSERT_EQ(back.value().queued.size(), 1u);
    EXPECT_EQ(back.value().queued[0].clock, a_clock());
    EXPECT_TRUE(back.value().lend);
    EXPECT_EQ(encode(back.value()), full);
    expect_every_prefix_refused(full, &decode_chan_keep, "chan-keep");
    k.lend = false;  // version 13: a keeper that lends no credits
    auto no_credits = decode_chan_keep(encode(k));
    ASSERT_TRUE(no_credits) << no_credits.error();
    EXPECT_FALSE(no_credits.value().lend);
    Bytes bad_lend = full;
    bad_lend.back() = 2;
    auto bl = decode_chan_keep(bad_lend);
    ASSERT_FALSE(bl);
    EXPECT_NE(bl.error().find("lend is 2"), std::string::npos) << bl.error();
    k.capacity = 0;
    k.queued.clear();
    auto r = decode_chan_keep(encode(k));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("capacity is at least 1"), std::string::npos) << r.error();
    k.capacity = 1;
    k.queued.assign(2, KeptMessage{});
    r = decode_chan_keep(encode(k));
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("2 queued messages in a channel of capacity 1"), std::string::npos) << r.error();

    const Bytes kb = encode(ChanKeeper{3, 2});
    ASSERT_TRUE(decode_chan_keeper(kb));
    expect_every_prefix_refused(kb, &decode_chan_keeper, "chan-keeper");
    auto home = decode_chan_keeper(encode(ChanKeeper{3, 0}));
    ASSERT_FALSE(home);
    EXPECT_NE(home.error().find("not the home"), std::string::npos) << home.error();

    ChannelSnapshot s;
    s.blocked = {{7, 3, 12, true}};
    s.sent = {{0, 4}, {2, 9}};
    s.received = {{2, 8}};
    s.kept = {{3, 51, 408, 1, 0}};
    const Bytes sb = encode(s);
    auto sback = decode_chan_snapshot_reply(sb);
    ASSERT_TRUE(sback) << sback.error();
    ASSERT_EQ(sback.value().blocked.size(), 1u);
    EXPECT_EQ(sback.value().blocked[0].pc, 12u);
    EXPECT_TRUE(sback.value().blocked[0].sending);
    EXPECT_EQ(sback.value().sent, s.sent);
    EXPECT_EQ(sback.value().received, s.received);
    ASSERT_EQ(sback.value().kept.size(), 1u);
    EXPECT_EQ(sback.value().kept[0].messages, 51u);
    EXPECT_EQ(encode(sback.value()), sb);
    expect_every_prefix_refused(sb, &decode_chan_snapshot_reply, "chan-snapshot-reply");
}

TEST(ProcMessages, AnAcquireCarriesItsClockAndAStartItsNodesAndKeepers) {
    AwayEvent acquire;
    acquire.kind = AwayEvent::Kind::Acquire;
    acquire.clock = a_clock();
    auto back = decode_proc_event(encode(acquire));
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().kind, AwayEvent::Kind::Acquire);
    EXPECT_EQ(back.value().clock, a_clock());

    ProcStart p{Sha256{}, a_start(), {}};
    p.start.keepers = {{0, 2}, {3, 1}};
    p.self = 2;
    p.nodes = {NodeAddress{"10.0.0.1", 7447}, NodeAddress{"10.0.0.2", 7448}};
    p.run = 5;
    auto start = decode_proc_start(encode(p));
    ASSERT_TRUE(start) << start.error();
    EXPECT_EQ(start.value().start.keepers, p.start.keepers);
    EXPECT_EQ(start.value().self, 2u);
    ASSERT_EQ(start.value().nodes.size(), 2u);
    EXPECT_EQ(start.value().nodes[1].port, 7448);
    EXPECT_EQ(start.value().run, 5u);
}
