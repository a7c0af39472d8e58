// The version-6 messages and fields of node-to-node transfers
// (docs/protocol.md): peer-ticket, peer-access, a launch's halo fetches and
// the welcome's peer port. Round trips, and every truncation refused.
#include <gtest/gtest.h>

#include "cluster/frame.h"
#include "cluster/messages.h"

using namespace polymer::cluster;

namespace {

LaunchChunk launch_with_fetches() {
    LaunchChunk l;
    l.module[0] = 0x5A;
    l.kernel = 1;
    l.count = 100;
    l.begin = 10;
    l.end = 20;
    l.args = {Binding{Binding::Kind::Region, 7, 3, 0}, Binding{Binding::Kind::Uniform, 0, 0, 42}};
    l.keep_outputs = true;
    l.fetches = {HaloFetch{"10.0.0.2", 7070, 7, 3, 7, 1ull << 62, 4096, 64},
                 HaloFetch{"node-b.example", 65535, 9, 1, 11, 2, 0, 1ull << 40}};
    return l;
}

// Every strict prefix of `full` is refused, naming the message; one byte more is too.
template <class Decode>
void expect_every_truncation_refused(const Bytes& full, Decode decode, const std::string& message) {
    ASSERT_TRUE(decode(full));
    for (std::size_t n = 0; n < full.size(); ++n) {
        auto r = decode(std::span<const std::uint8_t>(full.data(), n));
        ASSERT_FALSE(r) << message << ": prefix of " << n << " bytes accepted";
        EXPECT_NE(r.error().find(message + " payload"), std::string::npos) << r.error();
    }
    Bytes longer = full;
    longer.push_back(0);
    auto r = decode(longer);
    ASSERT_FALSE(r) << message << ": a trailing byte accepted";
    EXPECT_NE(r.error().find("unexpected bytes"), std::string::npos) << r.error();
}

TEST(PeerMessages, TicketAndAccessRoundTrip) {
    PeerTicket t;
    for (std::size_t i = 0; i < t.ticket.size(); ++i) t.ticket[i] = static_cast<std::uint8_t>(i * 7 + 1);
    const Bytes tb = encode(t);
    EXPECT_EQ(tb.size(), t.ticket.size());
    auto tback = decode_peer_ticket(tb);
    ASSERT_TRUE(tback) << tback.error();
    EXPECT_EQ(tback.value().ticket, t.ticket);

    PeerAccess a{t.ticket};
    auto aback = decode_peer_access(encode(a));
    ASSERT_TRUE(aback) << aback.error();
    EXPECT_EQ(aback.value().ticket, t.ticket);

    expect_every_truncation_refused(tb, &decode_peer_ticket, "peer-ticket");
    expect_every_truncation_refused(encode(a), &decode_peer_access, "peer-access");
}

TEST(PeerMessages, LaunchFetchesRoundTrip) {
    const LaunchChunk l = launch_with_fetches();
    auto back = decode_launch(encode(l));
    ASSERT_TRUE(back) << back.error();
    const LaunchChunk& m = back.value();
    EXPECT_TRUE(m.keep_outputs);
    ASSERT_EQ(m.args.size(), 2u);
    EXPECT_EQ(m.args[1].uniform, 42u);
    ASSERT_EQ(m.fetches.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        const HaloFetch& want = l.fetches[i];
        const HaloFetch& got = m.fetches[i];
        EXPECT_EQ(got.host, want.host);
        EXPECT_EQ(got.port, want.port);
        EXPECT_EQ(got.from_region, want.from_region);
        EXPECT_EQ(got.from_version, want.from_version);
        EXPECT_EQ(got.to_region, want.to_region);
        EXPECT_EQ(got.to_version, want.to_version);
        EXPECT_EQ(got.offset, want.offset);
        EXPECT_EQ(got.length, want.length);
    }
    expect_every_truncation_refused(encode(l), &decode_launch, "launch");
}

TEST(PeerMessages, HugeFetchCountDoesNotAllocate) {
    LaunchChunk l;
    Bytes b = encode(l);
    for (std::size_t i = b.size() - 12; i < b.size() - 8; ++i) b[i] = 0xFF;  // the fetch count, before the rounds
    auto r = decode_launch(b);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("fetches"), std::string::npos) << r.error();
    // A fetch whose host claims 4 GiB of bytes.
    l.fetches = {HaloFetch{"h", 1, 1, 1, 1, 1, 0, 8}};
    b = encode(l);
    const std::size_t host_length_at = b.size() - 63;  // u32 length, "h", port, six u64, then the rounds
    ASSERT_EQ(b[host_length_at], 1);
    for (std::size_t i = host_length_at; i < host_length_at + 4; ++i) b[i] = 0xFF;
    r = decode_launch(b);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("fetch 0"), std::string::npos) << r.error();
    EXPECT_NE(r.error().find("host"), std::string::npos) << r.error();
}

TEST(PeerMessages, WelcomeCarriesThePeerPort) {
    Welcome w;
    w.caps.name = "node";
    w.caps.backend = "cpu";
    w.caps.devices = {DeviceDesc{"llvmpipe", "cpu", 1 << 20}};
    w.caps.peer_port = 40123;
    const Bytes b = encode(w);
    auto back = decode_welcome(b);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().caps.peer_port, 40123);
    EXPECT_EQ(back.value().caps.devices.size(), 1u);
    // A version 5 welcome (no peer port) is truncated in version 6, and the
    // message names the field, not the last device.
    auto v5 = decode_welcome(std::span<const std::uint8_t>(b.data(), b.size() - 2));
    ASSERT_FALSE(v5);
    EXPECT_NE(v5.error().find("peer port"), std::string::npos) << v5.error();
    EXPECT_EQ(v5.error().find("device"), std::string::npos) << v5.error();
    expect_every_truncation_refused(b, &decode_welcome, "welcome");
}

TEST(PeerMessages, FrameTypesAreKnownInVersion6) {
    EXPECT_GE(kProtocolVersion, 6);
    EXPECT_TRUE(is_known_msg_type(static_cast<std::uint16_t>(MsgType::PeerTicket)));
    EXPECT_TRUE(is_known_msg_type(static_cast<std::uint16_t>(MsgType::PeerAccess)));
    EXPECT_FALSE(is_known_msg_type(static_cast<std::uint16_t>(MsgType::ChanInbox) + 1));  // the last type (version 14)
    EXPECT_STREQ(msg_type_name(MsgType::PeerTicket), "peer-ticket");
    EXPECT_STREQ(msg_type_name(MsgType::PeerAccess), "peer-access");
    EXPECT_STREQ(error_code_name(ErrorCode::PeerFetchFailed), "peer-fetch-failed");
    const Bytes f = encode_frame(Frame{MsgType::PeerAccess, 3, encode(PeerAccess{})});
    HeaderCheck c = decode_header(std::span<const std::uint8_t, kFrameHeaderSize>(f.data(), kFrameHeaderSize));
    EXPECT_EQ(c.fault, FrameFault::None) << c.message;
    EXPECT_EQ(c.header.type, MsgType::PeerAccess);
}

TEST(PeerMessages, RegionDropRoundTripsAndRefusesTruncation) {
    EXPECT_GE(kProtocolVersion, 10);
    EXPECT_STREQ(msg_type_name(MsgType::RegionDrop), "region-drop");
    const RegionDrop m{{1, 0xFFFF'FFFF'0000'0002ull, 3}};
    const Bytes b = encode(m);
    EXPECT_EQ(b.size(), 4u + 3 * 8);
    auto back = decode_region_drop(b);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value().regions, m.regions);
    auto none = decode_region_drop(encode(RegionDrop{}));
    ASSERT_TRUE(none) << none.error();
    EXPECT_TRUE(none.value().regions.empty());
    expect_every_truncation_refused(b, &decode_region_drop, "region-drop");
    // A count the payload cannot hold is refused before anything is reserved.
    Bytes lying = b;
    lying[3] = 0x7F;
    EXPECT_FALSE(decode_region_drop(lying));
}

}  // namespace
