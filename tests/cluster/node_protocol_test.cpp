// The protocol against a live polymer-node: handshake, refusals, modules,
// regions, heartbeats, shutdown.
#include <gtest/gtest.h>

#include <thread>

#include "assembler/assembler.h"
#include "cluster/node_client.h"
#include "isa/encoding.h"
#include "isa/module_io.h"
#include "isa/opcodes.h"
#include "node_process.h"
#include "test_kernels.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;

namespace {

std::unique_ptr<NodeClient> connect_ok(NodeProcess& node, const std::string& secret = kSecret, ClientOptions o = {}) {
    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(secret), o);
    EXPECT_TRUE(c) << c.error();
    return c ? std::move(c).value() : nullptr;
}

Bytes module_bytes(const std::string& source) {
    AssembleResult r = assemble(source);
    EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : format_diagnostic(r.diagnostics[0]));
    return write_module(*r.module);
}

}  // namespace

TEST(NodeProtocol, HandshakeWithRightTokenAdvertisesCapabilities) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    ASSERT_NE(node.port(), 0) << node.log();
    auto client = connect_ok(node);
    ASSERT_TRUE(client);
    const Capabilities& caps = client->capabilities();
    EXPECT_EQ(caps.name, "test-node");
    EXPECT_EQ(caps.backend, "cpu");
    EXPECT_GT(caps.cores, 0u);
    EXPECT_GT(caps.memory_bytes, 0u);
    EXPECT_EQ(caps.max_memory, 1ull << 30);
    EXPECT_GT(caps.throughput, 0.0);
    EXPECT_TRUE(node.wait_for_log("authenticated"));
}

TEST(NodeProtocol, WrongTokenIsRefusedAndTheNodeKeepsServing) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto bad = NodeClient::connect("127.0.0.1", node.port(), bytes_of("not the right secret at all"));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("auth-failed"), std::string::npos) << bad.error();
    EXPECT_TRUE(node.wait_for_log("wrong token (HMAC mismatch)")) << node.log();
    auto good = connect_ok(node);
    ASSERT_TRUE(good);
    EXPECT_TRUE(good->have_module(Sha256{}));
}

TEST(NodeProtocol, RequestBeforeHandshakeIsRefused) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    RawPeer raw(node.port());
    raw.send(MsgType::RegionGet, 5, encode(RegionGet{1, 1, 0, 4}));
    auto reply = raw.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->type, MsgType::Error);
    EXPECT_EQ(error_code_of(*reply), ErrorCode::NotAuthenticated);
    EXPECT_TRUE(raw.closed_by_node());
    EXPECT_TRUE(node.wait_for_log("not-authenticated"));
}

TEST(NodeProtocol, ReplayedHandshakeResponseIsRefused) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    // Record a good response to one challenge, replay it against a new one.
    Bytes recorded;
    {
        RawPeer first(node.port());
        first.send(MsgType::Hello, 1, encode(Hello{kProtocolVersion, "rec"}));
        auto c = first.read_reply();
        ASSERT_TRUE(c && c->type == MsgType::Challenge);
        Nonce mine{};
        recorded = encode(Response{client_proof(bytes_of(kSecret), decode_challenge(c->payload).value().node_nonce, mine), mine});
        first.send(MsgType::Response, 2, recorded);
        auto w = first.read_reply();
        ASSERT_TRUE(w && w->type == MsgType::Welcome);
    }
    RawPeer replay(node.port());
    replay.send(MsgType::Hello, 1, encode(Hello{kProtocolVersion, "replay"}));
    ASSERT_TRUE(replay.read_reply());
    replay.send(MsgType::Response, 2, recorded);
    auto r = replay.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(error_code_of(*r), ErrorCode::AuthFailed);
}

TEST(NodeProtocol, WrongVersionIsRejected) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    {  // In the frame header.
        RawPeer raw(node.port());
        constexpr std::uint16_t kFuture = kProtocolVersion + 1;
        raw.send(MsgType::Hello, 1, encode(Hello{kFuture, "future"}), kFuture);
        auto r = raw.read_reply();
        ASSERT_TRUE(r);
        EXPECT_EQ(error_code_of(*r), ErrorCode::VersionMismatch);
        EXPECT_NE(decode_error(r->payload).value().message.find("version " + std::to_string(kFuture) + " is not supported"),
                  std::string::npos);
        EXPECT_TRUE(raw.closed_by_node());
    }
    // In the hello.
    ClientOptions o;
    o.version = kProtocolVersion + 1;
    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret), o);
    ASSERT_FALSE(c);
    EXPECT_NE(c.error().find("version-mismatch"), std::string::npos) << c.error();
    EXPECT_TRUE(connect_ok(node));
}

TEST(NodeProtocol, OversizedFrameIsRejected) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    RawPeer raw(node.port());
    ASSERT_TRUE(raw.handshake(kSecret));
    auto bytes = encode_frame(Frame{MsgType::RegionPut, 3, {}});
    const std::uint32_t len = kMaxPayload + 1;
    for (int i = 0; i < 4; ++i) bytes[20 + i] = static_cast<std::uint8_t>(len >> (8 * i));
    raw.send_bytes(bytes);
    auto r = raw.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(error_code_of(*r), ErrorCode::FrameTooLarge);
    EXPECT_TRUE(raw.closed_by_node());
    EXPECT_TRUE(node.wait_for_log("over the limit of 67108864 bytes")) << node.log();
    EXPECT_TRUE(connect_ok(node));
}

TEST(NodeProtocol, CorruptChecksumIsRejected) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    RawPeer raw(node.port());
    ASSERT_TRUE(raw.handshake(kSecret));
    auto bytes = encode_frame(Frame{MsgType::RegionGet, 3, encode(RegionGet{1, 1, 0, 4})});
    bytes.back() ^= 0x40;
    raw.send_bytes(bytes);
    auto r = raw.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(error_code_of(*r), ErrorCode::BadChecksum);
    EXPECT_TRUE(raw.closed_by_node());
    EXPECT_TRUE(node.wait_for_log("checksum mismatch")) << node.log();
}

TEST(NodeProtocol, TruncatedPayloadGetsAnErrorAndTheConnectionStays) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    RawPeer raw(node.port());
    ASSERT_TRUE(raw.handshake(kSecret));
    Bytes p = encode(RegionGet{1, 1, 0, 4});
    p.resize(p.size() - 3);
    raw.send(MsgType::RegionGet, 4, p);
    auto r = raw.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(r->request_id, 4u);
    EXPECT_EQ(error_code_of(*r), ErrorCode::BadPayload);
    EXPECT_NE(decode_error(r->payload).value().message.find("length"), std::string::npos);
    // Still usable.
    raw.send(MsgType::HaveModule, 5, encode(ModuleHash{}));
    auto h = raw.read_reply();
    ASSERT_TRUE(h);
    EXPECT_EQ(h->type, MsgType::HaveModuleReply);
}

TEST(NodeProtocol, APeerStalledMidFrameDoesNotBlockOthers) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    RawPeer stalled(node.port());
    ASSERT_TRUE(stalled.handshake(kSecret));
    auto bytes = encode_frame(Frame{MsgType::RegionPut, 3, encode(RegionPut{1, 1, 64, 0, Bytes(64, 1)})});
    bytes.resize(kFrameHeaderSize + kRegionPutHeadBytes + 10);  // some of the slice has landed, then nothing
    stalled.send_bytes(bytes);
    auto client = connect_ok(node);
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->put_region(2, 1, 4, 0, Bytes{9, 8, 7, 6}));
    EXPECT_EQ(client->get_region(2, 1, 0, 4).value(), (Bytes{9, 8, 7, 6}));
}

// A region-put's bytes land in the region before the checksum is known: a
// corrupt one must not show up anywhere, least of all in another peer's
// region of the same id and version.
TEST(NodeProtocol, ACorruptSliceReachesNoOtherPeer) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto client = connect_ok(node);
    ASSERT_TRUE(client);
    ASSERT_TRUE(client->put_region(1, 1, 64, 0, Bytes(64, 1)));
    RawPeer raw(node.port());
    ASSERT_TRUE(raw.handshake(kSecret));
    raw.send(MsgType::RegionPut, 3, encode(RegionPut{1, 1, 64, 0, Bytes(64, 2)}));  // its own region 1
    auto ok = raw.read_reply();
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->type, MsgType::Ack);
    auto bytes = encode_frame(Frame{MsgType::RegionPut, 4, encode(RegionPut{1, 1, 64, 0, Bytes(64, 3)})});
    bytes.back() ^= 0x40;  // in the landed slice
    raw.send_bytes(bytes);
    auto r = raw.read_reply();
    ASSERT_TRUE(r);
    EXPECT_EQ(error_code_of(*r), ErrorCode::BadChecksum);
    EXPECT_TRUE(raw.closed_by_node());
    EXPECT_EQ(client->get_region(1, 1, 0, 64).value(), Bytes(64, 1));
}

// Regions belong to the connection that put them: they are freed when it goes.
TEST(NodeProtocol, APeersRegionsGoWithItsConnection) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "64K"});
    {
        auto first = connect_ok(node);
        ASSERT_TRUE(first);
        ASSERT_TRUE(first->put_region(1, 1, 48 << 10, 0, Bytes(48 << 10)));
        auto second = connect_ok(node);
        ASSERT_TRUE(second);
        EXPECT_FALSE(second->put_region(2, 1, 48 << 10, 0, Bytes(48 << 10)));  // the first one's region is still there
    }
    auto closed = [&] {
        const std::string log = node.log();
        std::size_t n = 0;
        for (auto at = log.find("peer closed the connection"); at != std::string::npos; at = log.find("peer closed the connection", at + 1)) ++n;
        return n;
    };
    for (int i = 0; i < 250 && closed() < 2; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ASSERT_EQ(closed(), 2u) << node.log();
    auto third = connect_ok(node);
    ASSERT_TRUE(third);
    auto put = third->put_region(3, 1, 48 << 10, 0, Bytes(48 << 10));
    EXPECT_TRUE(put) << put.error() << node.log();
    EXPECT_FALSE(third->get_region(1, 1, 0, 4));  // not the first one's region, ever
}

TEST(NodeProtocol, ModuleUploadThenHaveModuleHits) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto client = connect_ok(node);
    ASSERT_TRUE(client);
    const Bytes pbc = module_bytes(kSaxpy);
    const Sha256 hash = sha256(pbc);
    auto before = client->have_module(hash);
    ASSERT_TRUE(before) << before.error();
    EXPECT_FALSE(before.value());
    auto up = client->upload_module(pbc);
    ASSERT_TRUE(up) << up.error();
    EXPECT_EQ(up.value(), hash);
    auto after = client->have_module(hash);
    ASSERT_TRUE(after);
    EXPECT_TRUE(after.value());
    // A second client does not see the first one's uploads (docs/security.md).
    auto other = connect_ok(node);
    EXPECT_FALSE(other->have_module(hash).value());
}

TEST(NodeProtocol, ModuleFailingVerificationIsRejected) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto client = connect_ok(node);
    ASSERT_TRUE(client);
    // A module that parses but jumps outside its procedure.
    AssembleResult a = assemble(kSaxpy);
    ASSERT_TRUE(a.ok());
    Module bad = *a.module;
    bad.code[bad.procs[0].start] = make_word(static_cast<std::uint8_t>(Op::Jmp), 0, 0, 0, 4000);
    const Bytes pbc = write_module(bad);
    ASSERT_TRUE(read_module(pbc));
    ASSERT_FALSE(load_module(pbc));
    auto up = client->upload_module(pbc);
    ASSERT_FALSE(up);
    EXPECT_NE(up.error().find("bad-module"), std::string::npos) << up.error();
    EXPECT_TRUE(node.wait_for_log("refused: ")) << node.log();
    EXPECT_FALSE(client->have_module(sha256(pbc)).value());
    // Garbage is refused too, and a hash that does not match its bytes.
    EXPECT_FALSE(client->upload_module(bytes_of("not a module")));
    EXPECT_TRUE(client->upload_module(module_bytes(kSaxpy)));
}

TEST(NodeProtocol, RegionPutGetRoundTripWithEdges) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto client = connect_ok(node);
    ASSERT_TRUE(client);
    Bytes data(1000);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7 + 1);
    ASSERT_TRUE(client->put_region(5, 1, data.size(), 0, data));
    auto all = client->get_region(5, 1, 0, 1000);
    ASSERT_TRUE(all) << all.error();
    EXPECT_EQ(all.value(), data);
    EXPECT_EQ(client->get_region(5, 1, 0, 1).value(), Bytes{data[0]});
    EXPECT_EQ(client->get_region(5, 1, 999, 1).value(), Bytes{data[999]});
    EXPECT_TRUE(client->get_region(5, 1, 1000, 0).value().empty());
    auto past = client->get_region(5, 1, 999, 2);
    ASSERT_FALSE(past);
    EXPECT_NE(past.error().find("out-of-range"), std::string::npos) << past.error();
    auto put_past = client->put_region(5, 1, 1000, 998, Bytes{1, 2, 3});
    ASSERT_FALSE(put_past);
    EXPECT_NE(put_past.error().find("runs past"), std::string::npos) << put_past.error();
    // A slice put into the middle keeps the rest.
    ASSERT_TRUE(client->put_region(5, 1, 1000, 10, Bytes{0xEE, 0xEE}));
    EXPECT_EQ(client->get_region(5, 1, 9, 4).value(), (Bytes{data[9], 0xEE, 0xEE, data[12]}));
    // Versions: the old one is gone once a new one is put.
    ASSERT_TRUE(client->put_region(5, 2, 8, 0, Bytes{1, 2, 3, 4, 5, 6, 7, 8}));
    auto old = client->get_region(5, 1, 0, 4);
    ASSERT_FALSE(old);
    EXPECT_NE(old.error().find("unknown-region"), std::string::npos) << old.error();
    EXPECT_FALSE(client->get_region(6, 1, 0, 4));
}

TEST(NodeProtocol, LargeRegionCrossesInSeveralFrames) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto client = connect_ok(node);
    ASSERT_TRUE(client);
    Bytes data(kMaxSliceBytes + 4096);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i ^ (i >> 11));
    auto put = client->put_region(1, 1, data.size(), 0, data);
    ASSERT_TRUE(put) << put.error();
    auto back = client->get_region(1, 1, 0, data.size());
    ASSERT_TRUE(back) << back.error();
    EXPECT_TRUE(back.value() == data);
}

TEST(NodeProtocol, ClientDetectsAStoppedNodeByHeartbeatTimeout) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--heartbeat-ms", "50"});
    ClientOptions o;
    o.heartbeat_interval = std::chrono::milliseconds(50);
    o.heartbeat_timeout = std::chrono::milliseconds(300);
    auto client = connect_ok(node, kSecret, o);
    ASSERT_TRUE(client);
    node.signal(SIGSTOP);
    auto r = client->get_region(1, 1, 0, 4);  // blocks until the watchdog gives up
    node.signal(SIGCONT);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("heartbeat timeout"), std::string::npos) << r.error();
    EXPECT_NE(client->failure().find("hung or unreachable"), std::string::npos);
}

// Between calls nobody waits on the socket (the callers read their own
// replies); the client's watchdog takes in the node's heartbeats meanwhile,
// so an idle connection neither times out here nor at the node.
TEST(NodeProtocol, AnIdleClientStaysConnected) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--heartbeat-ms", "50", "--heartbeat-timeout-ms", "300"});
    ClientOptions o;
    o.heartbeat_interval = std::chrono::milliseconds(50);
    o.heartbeat_timeout = std::chrono::milliseconds(300);
    auto client = connect_ok(node, kSecret, o);
    ASSERT_TRUE(client);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));  // four timeouts' worth of idling
    EXPECT_EQ(client->failure(), "");
    auto have = client->have_module(Sha256{});
    ASSERT_TRUE(have) << have.error();
    EXPECT_FALSE(have.value());
    EXPECT_FALSE(node.log().find("nothing received") != std::string::npos) << node.log();
}

TEST(NodeProtocol, NodeDropsASilentPeer) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--heartbeat-ms", "50", "--heartbeat-timeout-ms", "200"});
    RawPeer raw(node.port());
    raw.send(MsgType::Hello, 1, encode(Hello{kProtocolVersion, "silent"}));
    auto challenge = raw.read_reply();
    ASSERT_TRUE(challenge && challenge->type == MsgType::Challenge);
    EXPECT_TRUE(raw.closed_by_node());  // never answers the challenge
    EXPECT_TRUE(node.wait_for_log("handshake unfinished")) << node.log();
}

TEST(NodeProtocol, SigtermShutsDownCleanly) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto client = connect_ok(node);
    ASSERT_TRUE(client);
    node.signal(SIGTERM);
    const int status = node.wait_exit();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << node.log();
    EXPECT_TRUE(node.wait_for_log("stopped"));
    EXPECT_FALSE(client->have_module(Sha256{}));
}

TEST(NodeProtocol, StartsOnlyWithAUsableTokenFile) {
    TempTokenFile weak("short");
    NodeProcess node(weak.path());
    EXPECT_EQ(node.port(), 0);
    const int status = node.wait_exit();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);  // cannot serve (src/tools/exit_status.h)
    EXPECT_NE(node.log().find("at least 16 are needed"), std::string::npos) << node.log();
}
