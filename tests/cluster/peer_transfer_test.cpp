// Node-to-node transfers (protocol version 6, docs/protocol.md "Node-to-node
// transfers") between real polymer-node processes on loopback, the test
// acting as the home: a launch on node A fetches its halo from node B,
// straight, with the home's peer ticket; what a peer session may do; the
// ticket's lifetime; failed fetches; --tls; another token.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "assembler/assembler.h"
#include "cluster/node_client.h"
#include "isa/module_io.h"
#include "node_process.h"
#include "test_kernels.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;

namespace {

// y[i] = x[i]: the chunk's output is its input, so the result shows what the
// node held in x when the chunk ran.
const char* const kCopy =
    ".module copy\n"
    ".kernel copy (in x: f32[i], out y: f32[i])\n"
    "        gid     r0\n"
    "        ldf     f0, x[r0]\n"
    "        stf     y[r0], f0\n"
    ".end\n"
    ".proc main\n        halt\n.end\n";

// Over three slices of PeerLink::kSliceBytes, the last one partial.
constexpr std::size_t kElems = (3u << 20) / 4 + 123;
constexpr std::uint64_t kX = 1, kY = 2;  // region ids

std::vector<float> pattern(std::size_t n, float base) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = base + static_cast<float>(i);
    return v;
}

Nonce ticket_of(std::uint8_t seed) {
    Nonce t{};
    for (std::size_t i = 0; i < t.size(); ++i) t[i] = static_cast<std::uint8_t>(seed + 3 * i);
    return t;
}

std::unique_ptr<NodeClient> connect_to(const NodeProcess& node, const std::string& secret = kSecret, bool tls = false) {
    ClientOptions o;
    o.tls = tls;
    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(secret), o);
    EXPECT_TRUE(c) << c.error();
    return c ? std::move(c).value() : nullptr;
}

// Two nodes of one home: B holds x; A has the copy kernel, an x of the same
// size that no one put bytes in, and y.
struct TwoNodes {
    TempTokenFile token{kSecret};
    NodeProcess a, b;
    std::unique_ptr<NodeClient> home_a, home_b;
    Sha256 copy{};
    std::vector<float> x = pattern(kElems, 0.25f);

    explicit TwoNodes(std::vector<std::string> args = {}, bool tls = false) : a(token.path(), args), b(token.path(), args) {
        home_a = connect_to(a, kSecret, tls);
        home_b = connect_to(b, kSecret, tls);
        if (!home_a || !home_b) return;
        AssembleResult m = assemble(kCopy);
        EXPECT_TRUE(m.ok());
        copy = home_a->upload_module(write_module(*m.module)).value();
        EXPECT_TRUE(home_b->put_region(kX, 1, kElems * 4, 0, floats(x)));
        EXPECT_TRUE(home_a->put_region(kX, 1, kElems * 4, 0, {}));
        EXPECT_TRUE(home_a->put_region(kY, 1, kElems * 4, 0, {}));
    }
    bool up() const { return home_a && home_b; }
    void give_tickets(const Nonce& t) {
        auto ra = home_a->send_peer_ticket(t);
        EXPECT_TRUE(ra) << ra.error();
        auto rb = home_b->send_peer_ticket(t);
        EXPECT_TRUE(rb) << rb.error();
    }
    // Lanes [begin, end) of y = x on A, x's bytes [lo, hi) fetched from host:port first.
    LaunchChunk copy_chunk(std::uint64_t begin, std::uint64_t end, std::uint64_t lo, std::uint64_t hi, std::uint16_t port) const {
        LaunchChunk l;
        l.module = copy;
        l.count = kElems;
        l.begin = begin;
        l.end = end;
        l.args = {Binding{Binding::Kind::Region, kX, 1, 0}, Binding{Binding::Kind::Region, kY, 1, 0}};
        l.fetches = {HaloFetch{"127.0.0.1", port, kX, 1, kX, 1, lo, hi - lo}};
        return l;
    }
    LaunchChunk whole_copy() const { return copy_chunk(0, kElems, 0, kElems * 4, b.port()); }
};

std::vector<float> floats_of(const OutputSlice& s) {
    std::vector<float> v(s.data.size() / 4);
    if (!v.empty()) std::memcpy(v.data(), s.data.data(), s.data.size());
    return v;
}

// The launch's error and its code (set when the node answered with an error frame).
struct Failed {
    std::string message;
    std::optional<ErrorCode> code;
};
Failed launch_failure(NodeClient& c, const LaunchChunk& l) {
    Failed f;
    auto r = c.wait_launch(c.start_launch(l), &f.code);
    EXPECT_FALSE(r) << "the launch succeeded";
    if (!r) f.message = r.error();
    return f;
}

// A raw connection to `node` that presents `ticket` after the handshake.
std::optional<Frame> present(RawPeer& raw, const Nonce& ticket, const std::string& secret = kSecret) {
    if (!raw.handshake(secret)) return std::nullopt;
    raw.send(MsgType::PeerAccess, 3, encode(PeerAccess{ticket}));
    return raw.read_reply();
}

}  // namespace

TEST(PeerTransfer, CapabilitiesCarryTheListeningPort) {
    TempTokenFile token{kSecret};
    NodeProcess node(token.path());
    auto home = connect_to(node);
    ASSERT_TRUE(home);
    EXPECT_NE(node.port(), 0);
    EXPECT_EQ(home->capabilities().peer_port, node.port());
}

// The acceptance case: x's bytes go from B to A node to node, never through
// the home, and A's chunk reads them.
TEST(PeerTransfer, LaunchFetchesItsInputFromAnotherNode) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(1));
    auto r = n.home_a->launch(n.whole_copy());
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r.value().outputs.size(), 1u);
    EXPECT_EQ(floats_of(r.value().outputs[0]), n.x);
    EXPECT_TRUE(n.b.wait_for_log("reads the regions of home")) << n.b.log();
    // A second launch reuses the link (one peer session on B for this home).
    auto again = n.home_a->launch(n.copy_chunk(10, 20, 40, 80, n.b.port()));
    ASSERT_TRUE(again) << again.error();
    const std::string log = n.b.log();
    std::size_t sessions = 0;
    for (std::size_t at = log.find("reads the regions of home"); at != std::string::npos;
         at = log.find("reads the regions of home", at + 1))
        ++sessions;
    EXPECT_EQ(sessions, 1u) << log;
}

// Fetched bytes count as the version's, as put bytes do: on recycled
// storage (the next version of a region, same size) a later get returns
// them, not zeros, and the bytes nobody put or fetched read as zeros.
TEST(PeerTransfer, FetchedBytesAreDefinedLikePutOnes) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(2));
    // x version 2 on A recycles version 1's storage; fill version 1 with junk first.
    ASSERT_TRUE(n.home_a->put_region(kX, 1, kElems * 4, 0, Bytes(kElems * 4, 0xEE)));
    ASSERT_TRUE(n.home_a->put_region(kX, 2, kElems * 4, 0, {}));
    LaunchChunk l = n.copy_chunk(0, 100, 4000, 4000 + 1600, n.b.port());  // the halo is outside the chunk's lanes
    l.args[0].version = 2;
    l.fetches[0].to_version = 2;
    auto r = n.home_a->launch(l);
    ASSERT_TRUE(r) << r.error();
    auto got = n.home_a->get_region(kX, 2, 0, kElems * 4);
    ASSERT_TRUE(got) << got.error();
    std::vector<float> back(kElems);
    std::memcpy(back.data(), got.value().data(), kElems * 4);
    for (std::size_t i = 0; i < kElems; ++i) {
        const float want = i >= 1000 && i < 1400 ? n.x[i] : 0.0f;
        ASSERT_EQ(back[i], want) << "element " << i;
    }
}

TEST(PeerTransfer, FetchesOverTls) {
    TwoNodes n({"--tls"}, /*tls=*/true);
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(3));
    auto r = n.home_a->launch(n.whole_copy());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(floats_of(r.value().outputs[0]), n.x);
}

TEST(PeerTransfer, UnknownTicketIsRefusedAndClosed) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(4));
    RawPeer raw(n.b.port());
    auto reply = present(raw, ticket_of(5));
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->type, MsgType::Error);
    EXPECT_EQ(error_code_of(*reply), ErrorCode::AuthFailed);
    EXPECT_NE(decode_error(reply->payload).value().message.find("unknown peer ticket"), std::string::npos);
    EXPECT_TRUE(raw.closed_by_node());
    // A launch on A that presents a ticket B does not know fails its fetch, naming why.
    ASSERT_TRUE(n.home_a->send_peer_ticket(ticket_of(6)));
    Failed f = launch_failure(*n.home_a, n.whole_copy());
    EXPECT_EQ(f.code, ErrorCode::PeerFetchFailed) << f.message;
    EXPECT_NE(f.message.find("unknown peer ticket"), std::string::npos) << f.message;
}

// A peer session reads the home's regions and nothing else.
TEST(PeerTransfer, PeerSessionMayOnlyGet) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(7));
    RawPeer raw(n.b.port());
    auto ack = present(raw, ticket_of(7));
    ASSERT_TRUE(ack);
    ASSERT_EQ(ack->type, MsgType::Ack);
    raw.send(MsgType::RegionGet, 4, encode(RegionGet{kX, 1, 8, 16}));
    auto data = raw.read_reply();
    ASSERT_TRUE(data);
    ASSERT_EQ(data->type, MsgType::RegionData);
    auto d = decode_region_data(data->payload);
    ASSERT_TRUE(d) << d.error();
    const Bytes xb = floats(n.x);
    EXPECT_EQ(d.value().data, Bytes(xb.begin() + 8, xb.begin() + 24));

    AssembleResult m = assemble(kCopy);
    const Bytes pbc = write_module(*m.module);
    LaunchChunk l = n.whole_copy();
    l.fetches.clear();
    const std::pair<MsgType, Bytes> refused[] = {
        {MsgType::RegionPut, encode(RegionPut{kX, 1, kElems * 4, 0, {1, 2, 3, 4}})},
        {MsgType::Launch, encode(l)},
        {MsgType::ModuleUpload, encode(ModuleUpload{sha256(pbc), pbc})},
        {MsgType::HaveModule, encode(ModuleHash{n.copy})},
        {MsgType::PeerAccess, encode(PeerAccess{ticket_of(7)})},
        {MsgType::PeerTicket, encode(PeerTicket{ticket_of(8)})},
        {MsgType::Cancel, encode(Cancel{4})},
    };
    std::uint64_t id = 10;
    for (const auto& [type, payload] : refused) {
        raw.send(type, ++id, payload);
        auto e = raw.read_reply();
        ASSERT_TRUE(e) << msg_type_name(type);
        ASSERT_EQ(e->type, MsgType::Error) << msg_type_name(type);
        EXPECT_EQ(e->request_id, id);
        EXPECT_EQ(error_code_of(*e), ErrorCode::NotAuthenticated) << msg_type_name(type);
        const std::string why = decode_error(e->payload).value().message;
        EXPECT_NE(why.find("may only region-get"), std::string::npos) << why;
        EXPECT_NE(why.find(msg_type_name(type)), std::string::npos) << why;
    }
    // Nothing changed: B's x is still the home's.
    auto x = n.home_b->get_region(kX, 1, 0, kElems * 4);
    ASSERT_TRUE(x) << x.error();
    EXPECT_EQ(x.value(), floats(n.x));
    // Still a working peer session after all that.
    raw.send(MsgType::RegionGet, 99, encode(RegionGet{kX, 1, 0, 4}));
    auto still = raw.read_reply();
    ASSERT_TRUE(still);
    EXPECT_EQ(still->type, MsgType::RegionData);
}

// Peer-access is a connection's first request: a home cannot turn into
// another home's peer session half-way.
TEST(PeerTransfer, PeerAccessOnlyAsTheFirstRequest) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(9));
    RawPeer raw(n.b.port());
    ASSERT_TRUE(raw.handshake(kSecret));
    raw.send(MsgType::HaveModule, 3, encode(ModuleHash{}));
    auto have = raw.read_reply();
    ASSERT_TRUE(have);
    EXPECT_EQ(have->type, MsgType::HaveModuleReply);
    raw.send(MsgType::PeerAccess, 4, encode(PeerAccess{ticket_of(9)}));
    auto e = raw.read_reply();
    ASSERT_TRUE(e);
    ASSERT_EQ(e->type, MsgType::Error);
    EXPECT_NE(decode_error(e->payload).value().message.find("first request"), std::string::npos);
    raw.send(MsgType::RegionGet, 5, encode(RegionGet{kX, 1, 0, 4}));  // its own regions: none
    auto g = raw.read_reply();
    ASSERT_TRUE(g);
    EXPECT_EQ(error_code_of(*g), ErrorCode::UnknownRegion);
}

// The ticket dies with the home's session, and so do the peer sessions that presented it.
TEST(PeerTransfer, TicketDiesWithTheHomesSession) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(10));
    RawPeer before(n.b.port());
    auto ack = present(before, ticket_of(10));
    ASSERT_TRUE(ack);
    ASSERT_EQ(ack->type, MsgType::Ack);
    const auto left = std::chrono::steady_clock::now();
    n.home_b.reset();
    EXPECT_TRUE(before.closed_by_node());
    // At once, not at the heartbeat timeout (5 s: this raw peer sends no heartbeats).
    EXPECT_LT(std::chrono::steady_clock::now() - left, std::chrono::milliseconds(2500));
    // The node notices the home's close on its io thread: retry briefly.
    std::optional<Frame> reply;
    for (int i = 0; i < 50; ++i) {
        RawPeer after(n.b.port());
        reply = present(after, ticket_of(10));
        if (reply && reply->type == MsgType::Error) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(reply);
    ASSERT_EQ(reply->type, MsgType::Error);
    EXPECT_EQ(error_code_of(*reply), ErrorCode::AuthFailed);
}

// A second ticket replaces the first; another home's ticket is not this one's to take.
TEST(PeerTransfer, SecondTicketReplacesTheFirst) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(11));
    n.give_tickets(ticket_of(12));
    RawPeer old_one(n.b.port());
    auto refused = present(old_one, ticket_of(11));
    ASSERT_TRUE(refused);
    EXPECT_EQ(error_code_of(*refused), ErrorCode::AuthFailed);
    RawPeer new_one(n.b.port());
    auto ack = present(new_one, ticket_of(12));
    ASSERT_TRUE(ack);
    EXPECT_EQ(ack->type, MsgType::Ack);
    auto other_home = connect_to(n.b);
    ASSERT_TRUE(other_home);
    auto taken = other_home->send_peer_ticket(ticket_of(12));
    ASSERT_FALSE(taken);
    EXPECT_NE(taken.error().find("another home's"), std::string::npos) << taken.error();
}

// A fetch from a node that is gone fails the launch with peer-fetch-failed,
// naming the peer, the region and the bytes; A goes on serving.
TEST(PeerTransfer, FetchFromADeadPeerFailsTheLaunchOnly) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(13));
    const std::uint16_t dead = n.b.port();
    n.b.signal(SIGKILL);
    n.b.wait_exit();
    Failed f = launch_failure(*n.home_a, n.copy_chunk(0, 100, 0, 400, dead));
    EXPECT_EQ(f.code, ErrorCode::PeerFetchFailed) << f.message;
    EXPECT_NE(f.message.find("peer-fetch-failed"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("127.0.0.1:" + std::to_string(dead)), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("region 1 version 1, bytes [0, 400)"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("cannot connect"), std::string::npos) << f.message;
    EXPECT_TRUE(n.a.alive());
    LaunchChunk plain = n.copy_chunk(0, 100, 0, 0, dead);
    plain.fetches.clear();
    auto r = n.home_a->launch(plain);
    ASSERT_TRUE(r) << r.error();
    // A lost node is not a refusal: no code.
    std::optional<ErrorCode> code;
    n.a.signal(SIGKILL);
    auto lost = n.home_a->wait_launch(n.home_a->start_launch(plain), &code);
    EXPECT_FALSE(lost);
    EXPECT_FALSE(code.has_value());
}

// Peers of a cluster share one token: a node with another token fails the
// handshake, and the launch says so.
TEST(PeerTransfer, PeerWithAnotherTokenFailsAuthentication) {
    TempTokenFile token{kSecret}, other{"another token, not the cluster's 42"};
    NodeProcess a(token.path()), b(other.path());
    auto home_a = connect_to(a);
    auto home_b = connect_to(b, "another token, not the cluster's 42");
    ASSERT_TRUE(home_a && home_b);
    AssembleResult m = assemble(kCopy);
    const Sha256 copy = home_a->upload_module(write_module(*m.module)).value();
    ASSERT_TRUE(home_b->put_region(kX, 1, 64, 0, Bytes(64, 1)));
    ASSERT_TRUE(home_a->put_region(kX, 1, 64, 0, {}));
    ASSERT_TRUE(home_a->put_region(kY, 1, 64, 0, {}));
    ASSERT_TRUE(home_a->send_peer_ticket(ticket_of(14)));
    ASSERT_TRUE(home_b->send_peer_ticket(ticket_of(14)));
    LaunchChunk l;
    l.module = copy;
    l.count = l.end = 16;
    l.args = {Binding{Binding::Kind::Region, kX, 1, 0}, Binding{Binding::Kind::Region, kY, 1, 0}};
    l.fetches = {HaloFetch{"127.0.0.1", b.port(), kX, 1, kX, 1, 0, 64}};
    Failed f = launch_failure(*home_a, l);
    EXPECT_EQ(f.code, ErrorCode::PeerFetchFailed) << f.message;
    EXPECT_NE(f.message.find("auth-failed"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("wrong token"), std::string::npos) << f.message;
}

// A launch's fetches are checked before anything is dialled.
TEST(PeerTransfer, BadFetchesAreRefused) {
    TwoNodes n;
    ASSERT_TRUE(n.up());
    auto expect_refused = [&](const LaunchChunk& l, ErrorCode code, const std::string& text) {
        Failed f = launch_failure(*n.home_a, l);
        EXPECT_EQ(f.code, code) << f.message;
        EXPECT_NE(f.message.find(text), std::string::npos) << f.message;
    };
    expect_refused(n.whole_copy(), ErrorCode::BadLaunch, "sent no peer-ticket");
    n.give_tickets(ticket_of(15));
    LaunchChunk l = n.whole_copy();
    l.fetches[0].to_region = 9;
    expect_refused(l, ErrorCode::UnknownRegion, "region 9 version 1 is not on this node");
    l = n.whole_copy();
    l.fetches[0].offset = 8;
    expect_refused(l, ErrorCode::OutOfRange, "run past region 1");
    l = n.whole_copy();
    l.fetches[0].port = 0;
    expect_refused(l, ErrorCode::BadLaunch, "is not a node's address");
    l = n.whole_copy();
    l.fetches[0].from_version = 5;
    Failed f = launch_failure(*n.home_a, l);
    EXPECT_EQ(f.code, ErrorCode::PeerFetchFailed) << f.message;
    EXPECT_NE(f.message.find("unknown-region"), std::string::npos) << f.message;
    // All refused, and the node still fetches.
    auto r = n.home_a->launch(n.whole_copy());
    ASSERT_TRUE(r) << r.error();
}

// Fetched bytes count against the fetching node's --max-memory as put ones
// do, held before the fetch starts: a launch whose fetches and outputs
// would pass it is refused before anything moves.
TEST(PeerTransfer, FetchedBytesCountAgainstTheNodesMemory) {
    TwoNodes n({"--max-memory", "8M"});
    ASSERT_TRUE(n.up());
    n.give_tickets(ticket_of(21));
    const std::uint64_t half = kElems / 2;
    auto r = n.home_a->launch(n.copy_chunk(0, half, 0, half * 4, n.b.port()));  // half of y written, half of x fetched
    ASSERT_TRUE(r) << r.error();
    ASSERT_TRUE(n.home_a->put_region(7, 1, 2 << 20, 0, Bytes(2 << 20, 1)));  // 5 MiB held on A in all
    // The other halves: 3 MiB more.
    Failed f = launch_failure(*n.home_a, n.copy_chunk(half, kElems, half * 4, kElems * 4, n.b.port()));
    EXPECT_EQ(f.code, ErrorCode::OutOfMemory) << f.message;
    EXPECT_NE(f.message.find("kernel 'copy': region 1 version 1 (holds 1.5 MiB of its 3.0 MiB here), bytes [1.5 MiB, 3.0 MiB): "
                             "1.5 MiB more would pass this node's memory limit of 8 MiB (--max-memory"),
              std::string::npos)
        << f.message;
    // Nothing was fetched: the end of x on A still reads as zeros.
    auto x = n.home_a->get_region(kX, 1, kElems * 4 - 4, 4);
    ASSERT_TRUE(x) << x.error();
    EXPECT_EQ(x.value(), Bytes(4, 0));
    EXPECT_TRUE(n.a.alive());
}

// A peer's get of bytes a running chunk of that home writes waits for the
// chunk, as the home's own get does: A's halo is B's finished output, never
// the zeros B held before.
TEST(PeerTransfer, FetchWaitsForTheChunkThatWritesIt) {
    // z[i] = n after n loop iterations on B; y = x (i32) on A.
    const std::string kSpinAndCopy =
        ".module spin\n" + kSpinKernel +
        ".kernel copy (in x: i32[i], out y: i32[i])\n"
        "        gid     r0\n"
        "        ld      r1, x[r0]\n"
        "        st      y[r0], r1\n"
        ".end\n"
        ".proc main\n        halt\n.end\n";
    constexpr std::uint64_t kLanes = 16, kZ = 3;
    constexpr std::uint32_t kSpins = 5'000'000;
    TempTokenFile token{kSecret};
    NodeProcess a(token.path()), b(token.path());
    auto home_a = connect_to(a), home_b = connect_to(b);
    ASSERT_TRUE(home_a && home_b);
    AssembleResult m = assemble(kSpinAndCopy.c_str());
    ASSERT_TRUE(m.ok());
    const Bytes pbc = write_module(*m.module);
    const Sha256 hash = home_a->upload_module(pbc).value();
    ASSERT_TRUE(home_b->upload_module(pbc));
    ASSERT_TRUE(home_b->put_region(kZ, 1, kLanes * 4, 0, {}));
    ASSERT_TRUE(home_a->put_region(kX, 1, kLanes * 4, 0, {}));
    ASSERT_TRUE(home_a->put_region(kY, 1, kLanes * 4, 0, {}));
    ASSERT_TRUE(home_a->send_peer_ticket(ticket_of(16)));
    ASSERT_TRUE(home_b->send_peer_ticket(ticket_of(16)));

    LaunchChunk spin;
    spin.module = hash;
    spin.kernel = 0;
    spin.count = spin.end = kLanes;
    spin.args = {Binding{Binding::Kind::Region, kZ, 1, 0}, Binding{Binding::Kind::Uniform, 0, 0, kSpins}};
    spin.max_iterations = 2 * kSpins;
    spin.keep_outputs = true;
    const std::uint64_t spinning = home_b->start_launch(spin);
    ASSERT_TRUE(home_b->have_module(hash));  // B has taken the launch in (its frames are handled in order)

    LaunchChunk copy;
    copy.module = hash;
    copy.kernel = 1;
    copy.count = copy.end = kLanes;
    copy.args = {Binding{Binding::Kind::Region, kX, 1, 0}, Binding{Binding::Kind::Region, kY, 1, 0}};
    copy.fetches = {HaloFetch{"127.0.0.1", b.port(), kZ, 1, kX, 1, 0, kLanes * 4}};
    const std::uint64_t copying = home_a->start_launch(copy);
    EXPECT_FALSE(home_b->wait_launch_for(spinning, std::chrono::milliseconds(0)).has_value()) << "the spin finished first";
    auto spun = home_b->wait_launch(spinning);
    ASSERT_TRUE(spun) << spun.error();
    auto copied = home_a->wait_launch(copying);
    ASSERT_TRUE(copied) << copied.error();
    ASSERT_EQ(copied.value().outputs.size(), 1u);
    std::vector<std::int32_t> y(kLanes);
    ASSERT_EQ(copied.value().outputs[0].data.size(), kLanes * 4);
    std::memcpy(y.data(), copied.value().outputs[0].data.data(), kLanes * 4);
    EXPECT_EQ(y, std::vector<std::int32_t>(kLanes, static_cast<std::int32_t>(kSpins)));
}
