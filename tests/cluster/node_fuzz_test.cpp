// Garbage against a live node: random bytes, mutated and truncated frames,
// before and after the handshake. The node must neither crash nor hang, and
// must keep serving a good client.
#include <gtest/gtest.h>

#include <random>

#include "cluster/node_client.h"
#include "node_process.h"

using namespace polymer::cluster;
using namespace polymer::cluster::testing;

namespace {

// Frames a real peer sends, to mutate.
std::vector<Bytes> seed_frames() {
    std::vector<Bytes> s;
    s.push_back(encode_frame(Frame{MsgType::Hello, 1, encode(Hello{kProtocolVersion, "fuzz"})}));
    s.push_back(encode_frame(Frame{MsgType::Response, 2, encode(Response{})}));
    s.push_back(encode_frame(Frame{MsgType::RegionPut, 3, encode(RegionPut{1, 1, 64, 8, Bytes(16, 0x5A)})}));
    s.push_back(encode_frame(Frame{MsgType::RegionGet, 4, encode(RegionGet{1, 1, 0, 64})}));
    LaunchChunk l;
    l.count = 10;
    l.end = 10;
    l.args = {Binding{}, Binding{Binding::Kind::Uniform, 0, 0, 1}};
    s.push_back(encode_frame(Frame{MsgType::Launch, 5, encode(l)}));
    l.keep_outputs = true;  // version 5's flag byte
    s.push_back(encode_frame(Frame{MsgType::Launch, 8, encode(l)}));
    l.fetches = {HaloFetch{"127.0.0.1", 1, 1, 1, 1, 1, 0, 8}};  // version 6's halo fetches, last in the payload
    s.push_back(encode_frame(Frame{MsgType::Launch, 9, encode(l)}));
    s.push_back(encode_frame(Frame{MsgType::ModuleUpload, 6, encode(ModuleUpload{{}, Bytes(40, 1)})}));
    s.push_back(encode_frame(Frame{MsgType::Cancel, 7, encode(Cancel{5})}));
    // (Not peer-access: an unknown ticket closes the connection, by design.)
    s.push_back(encode_frame(Frame{MsgType::PeerTicket, 10, encode(PeerTicket{})}));
    // Version 7: a procedure's start (no module: unknown-module) and an answer to it.
    ProcStart start;
    start.start.int_regs.assign(32, 1);
    start.start.float_regs.assign(32, 0.5);
    start.start.region_lengths = {4};
    s.push_back(encode_frame(Frame{MsgType::ProcStart, 11, encode(start)}));
    polymer::AwayAnswer answer;
    answer.writes.push_back({0, 0, std::vector<std::byte>(8, std::byte{1})});
    s.push_back(encode_frame(Frame{MsgType::ProcAnswer, 11, encode(answer)}));
    return s;
}

// Flips bits, overwrites bytes, truncates or appends noise.
Bytes mutate(Bytes b, std::mt19937& rng) {
    std::uniform_int_distribution<int> pick(0, 4);
    const int how = pick(rng);
    if (how == 0) {
        b.resize(std::uniform_int_distribution<std::size_t>(0, b.size())(rng));
    } else if (how == 1) {
        Bytes noise(std::uniform_int_distribution<std::size_t>(1, 200)(rng));
        for (auto& x : noise) x = static_cast<std::uint8_t>(rng());
        return noise;
    } else {
        const int flips = std::uniform_int_distribution<int>(1, 4)(rng);
        for (int i = 0; i < flips && !b.empty(); ++i) {
            std::size_t at = std::uniform_int_distribution<std::size_t>(0, b.size() - 1)(rng);
            if (how == 2) b[at] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
            else b[at] = static_cast<std::uint8_t>(rng());
        }
        if (how == 4) b.insert(b.end(), 3, 0xFF);
    }
    return b;
}

// Fixes the checksum of a mutated frame so the payload parser sees the damage.
void reseal(Bytes& b) {
    if (b.size() < kFrameHeaderSize) return;
    HeaderCheck c = decode_header(std::span<const std::uint8_t, kFrameHeaderSize>(b.data(), kFrameHeaderSize));
    if (c.fault != FrameFault::None || c.header.payload_length != b.size() - kFrameHeaderSize) return;
    Frame f{c.header.type, c.header.request_id, Bytes(b.begin() + kFrameHeaderSize, b.end())};
    b = encode_frame(f);
}

}  // namespace

TEST(NodeFuzz, GarbageStreamsNeverCrashOrHangTheNode) {
    TempTokenFile token(kSecret);
    // 200 connections in a burst from one address: past the node's default
    // connection rate, which hostile_peer_test.cpp tests on its own.
    NodeProcess node(token.path(), {"--heartbeat-ms", "50", "--heartbeat-timeout-ms", "500", "--max-connection-rate", "100000",
                                    "--connection-burst", "100000"});
    ASSERT_NE(node.port(), 0);
    std::mt19937 rng(20261125);
    const auto seeds = seed_frames();
    // Unauthenticated: a fresh connection per garbage stream.
    for (int i = 0; i < 200; ++i) {
        RawPeer raw(node.port());
        Bytes b = mutate(seeds[rng() % seeds.size()], rng);
        if (i % 2) reseal(b);
        raw.send_bytes(b);
        raw.close();
    }
    // Authenticated: well-framed messages with mutated payloads (bit flips,
    // truncations, noise) on one connection; each gets an answer and the
    // connection stays usable.
    int reconnects = 0;
    auto raw = std::make_unique<RawPeer>(node.port());
    ASSERT_TRUE(raw->handshake(kSecret));
    for (int i = 0; i < 300; ++i) {
        const Bytes& seed = seeds[2 + rng() % (seeds.size() - 2)];
        HeaderCheck h = decode_header(std::span<const std::uint8_t, kFrameHeaderSize>(seed.data(), kFrameHeaderSize));
        Bytes payload = mutate(Bytes(seed.begin() + kFrameHeaderSize, seed.end()), rng);
        raw->send(h.header.type, 2000 + i, payload);
        // Follow each with a probe whose answer proves the stream is still in step.
        raw->send(MsgType::HaveModule, 1000 + i, encode(ModuleHash{}));
        std::optional<Frame> f;
        do {
            f = raw->read_reply();
        } while (f && f->request_id != static_cast<std::uint64_t>(1000 + i));
        if (!f) {  // not expected: payload faults keep the connection
            ++reconnects;
            raw = std::make_unique<RawPeer>(node.port());
            ASSERT_TRUE(raw->handshake(kSecret));
        }
    }
    EXPECT_EQ(reconnects, 0);
    ASSERT_TRUE(node.alive()) << node.log();
    auto client = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
    ASSERT_TRUE(client) << client.error();
    ASSERT_TRUE(client.value()->put_region(9, 1, 4, 0, Bytes{1, 2, 3, 4}));
    EXPECT_EQ(client.value()->get_region(9, 1, 0, 4).value(), (Bytes{1, 2, 3, 4}));
}
