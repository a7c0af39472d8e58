// Kernel chunks on a live node: launch checks, and real results once the CPU
// kernel executor runs kernels.
#include <gtest/gtest.h>

#include <atomic>
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

struct SaxpyNode {
    TempTokenFile token{kSecret};
    NodeProcess node;
    std::unique_ptr<NodeClient> client;
    Sha256 hash{};
    static constexpr std::size_t n = 1000;

    explicit SaxpyNode(std::vector<std::string> node_args = {}) : node(token.path(), std::move(node_args)) {
        auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
        EXPECT_TRUE(c) << c.error();
        if (!c) return;
        client = std::move(c).value();
        AssembleResult a = assemble(kSaxpy);
        EXPECT_TRUE(a.ok());
        hash = client->upload_module(write_module(*a.module)).value();
        std::vector<float> x(n), y(n);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = static_cast<float>(i);
            y[i] = 0.5f;
        }
        EXPECT_TRUE(client->put_region(1, 1, n * 4, 0, floats(x)));
        EXPECT_TRUE(client->put_region(2, 1, n * 4, 0, floats(y)));
        EXPECT_TRUE(client->put_region(3, 1, n * 4, 0, {}));
    }
    // z = 2 x + y over lanes [begin, end), y region 2; x and z regions at version 1 unless named.
    LaunchChunk chunk(std::uint64_t begin, std::uint64_t end, Binding x = {Binding::Kind::Region, 1, 1, 0},
                      Binding z = {Binding::Kind::Region, 3, 1, 0}) const {
        LaunchChunk l;
        l.module = hash;
        l.kernel = 0;
        l.count = n;
        l.begin = begin;
        l.end = end;
        l.args = {x, Binding{Binding::Kind::Region, 2, 1, 0}, z, Binding{Binding::Kind::Uniform, 0, 0, bits(2.0f)}};
        return l;
    }
};


void expect_refused(NodeClient& c, const LaunchChunk& l, const std::string& code, const std::string& text) {
    auto r = c.launch(l);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find(code), std::string::npos) << r.error();
    EXPECT_NE(r.error().find(text), std::string::npos) << r.error();
}

}  // namespace

TEST(NodeChunk, LaunchesThatDoNotFitTheKernelAreRefused) {
    SaxpyNode s;
    ASSERT_TRUE(s.client);
    LaunchChunk l = s.chunk(0, 10);
    l.module[0] ^= 1;
    expect_refused(*s.client, l, "unknown-module", "upload it first");
    l = s.chunk(0, 10);
    l.kernel = 1;
    expect_refused(*s.client, l, "bad-launch", "kernel index 1 is out of range");
    l = s.chunk(0, 10);
    l.args.pop_back();
    expect_refused(*s.client, l, "bad-launch", "takes 4 arguments, the launch binds 3");
    l = s.chunk(0, 10);
    l.args[3] = Binding{Binding::Kind::Region, 1, 1, 0};
    expect_refused(*s.client, l, "bad-launch", "'a' is a uniform");
    l = s.chunk(0, 10);
    l.args[0].version = 7;
    expect_refused(*s.client, l, "unknown-region", "region 1 version 7");
    expect_refused(*s.client, s.chunk(10, 1001), "bad-launch", "not inside [0, 1000)");
    ASSERT_TRUE(s.client->put_region(4, 1, 6, 0, Bytes(6)));
    l = s.chunk(0, 10);
    l.args[0] = Binding{Binding::Kind::Region, 4, 1, 0};
    expect_refused(*s.client, l, "bad-launch", "not a whole number of f32 elements");
}

void expect_saxpy_slice(SaxpyNode& s) {
    ASSERT_TRUE(s.client);
    auto r = s.client->launch(s.chunk(100, 200));
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r.value().outputs.size(), 1u);
    const OutputSlice& out = r.value().outputs[0];
    EXPECT_EQ(out.param, 2u);
    EXPECT_EQ(out.region, 3u);
    EXPECT_EQ(out.offset, 400u);
    ASSERT_EQ(out.data.size(), 400u);
    for (std::size_t i = 0; i < 100; ++i) {
        float z;
        std::memcpy(&z, out.data.data() + 4 * i, 4);
        EXPECT_EQ(z, 2.0f * static_cast<float>(100 + i) + 0.5f) << "lane " << 100 + i;
    }
    // Lanes outside the chunk were not touched on the node.
    auto outside = s.client->get_region(3, 1, 0, 400);
    ASSERT_TRUE(outside);
    EXPECT_EQ(outside.value(), Bytes(400, 0));
}

// A saxpy chunk on a CPU node (vm/cpu_kernels/ runs it) returns its slice.
TEST(NodeChunk, SaxpyChunkReturnsItsOutputSlice) {
    SaxpyNode s;
    expect_saxpy_slice(s);
}

// The same chunk on a node whose backend is VulkanBackend (lavapipe here),
// running the SPIR-V the assembler made for the kernel.
TEST(NodeChunk, SaxpyChunkOnAVulkanNode) {
    SaxpyNode s({"--backend", "vulkan"});
    EXPECT_EQ(s.client ? s.client->capabilities().backend : "", "vulkan") << s.node.log();
    expect_saxpy_slice(s);
}

std::vector<float> get_floats(NodeClient& c, std::uint64_t region, std::uint64_t version) {
    auto got = c.get_region(region, version, 0, SaxpyNode::n * 4);
    EXPECT_TRUE(got) << got.error();
    std::vector<float> v(SaxpyNode::n);
    if (got && got.value().size() == v.size() * 4) std::memcpy(v.data(), got.value().data(), got.value().size());
    return v;
}

// keep_outputs: the chunk's element-wise output stays in the node's region.
// The result carries no slice; a second launch binding that region (same id
// and version) reads what the first wrote, and a get returns it; lanes no
// chunk wrote read as the version's zeros.
void expect_outputs_kept(SaxpyNode& s, std::uint64_t z_version) {
    ASSERT_TRUE(s.client);
    const Binding z{Binding::Kind::Region, 3, z_version, 0}, w{Binding::Kind::Region, 4, 1, 0};
    ASSERT_TRUE(s.client->put_region(4, 1, SaxpyNode::n * 4, 0, {}));
    LaunchChunk first = s.chunk(100, 200, {Binding::Kind::Region, 1, 1, 0}, z);
    first.keep_outputs = true;
    auto r = s.client->launch(first);
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r.value().outputs.empty()) << r.value().outputs.size() << " slices came back";
    // w = 2 z + y over every lane: reads the first chunk's z where it ran, zeros elsewhere.
    LaunchChunk second = s.chunk(0, SaxpyNode::n, z, w);
    second.keep_outputs = true;
    r = s.client->launch(second);
    ASSERT_TRUE(r) << r.error();
    EXPECT_TRUE(r.value().outputs.empty());
    const std::vector<float> zs = get_floats(*s.client, 3, z_version), ws = get_floats(*s.client, 4, 1);
    for (std::size_t i = 0; i < SaxpyNode::n; ++i) {
        const float expect_z = i >= 100 && i < 200 ? 2.0f * static_cast<float>(i) + 0.5f : 0.0f;
        EXPECT_EQ(zs[i], expect_z) << "z lane " << i;
        EXPECT_EQ(ws[i], 2.0f * expect_z + 0.5f) << "w lane " << i;
    }
    // Without the flag, the same chunk still returns its slice.
    r = s.client->launch(s.chunk(100, 200, {Binding::Kind::Region, 1, 1, 0}, z));
    ASSERT_TRUE(r) << r.error();
    ASSERT_EQ(r.value().outputs.size(), 1u);
    EXPECT_EQ(r.value().outputs[0].offset, 400u);
    EXPECT_EQ(r.value().outputs[0].data.size(), 400u);
}

TEST(NodeChunk, KeptOutputsAreReadByTheNextLaunchAndByGets) {
    SaxpyNode s;
    expect_outputs_kept(s, 1);
}

TEST(NodeChunk, KeptOutputsOnAVulkanNode) {
    SaxpyNode s({"--backend", "vulkan"});
    EXPECT_EQ(s.client ? s.client->capabilities().backend : "", "vulkan") << s.node.log();
    expect_outputs_kept(s, 1);
}

// The same on recycled storage: version 2 of region 3 takes version 1's
// storage (still holding 7.0 everywhere), with nothing put. The first chunk's
// lanes must count as defined, or the second launch's or the get's settle
// would zero them; the lanes no one wrote must read as zeros, not 7.0.
TEST(NodeChunk, KeptOutputsOnRecycledStorage) {
    SaxpyNode s;
    ASSERT_TRUE(s.client);
    ASSERT_TRUE(s.client->put_region(3, 1, SaxpyNode::n * 4, 0, floats(std::vector<float>(SaxpyNode::n, 7.0f))));
    ASSERT_TRUE(s.client->put_region(3, 2, SaxpyNode::n * 4, 0, {}));
    expect_outputs_kept(s, 2);
}

// The message path with several chunks in flight on one connection: each
// reply reaches its own request, whatever order they are waited for in.
// (Checks the slices' placement, not their values: see the test above.)
TEST(NodeChunk, SeveralLaunchesInFlightGetTheirOwnReplies) {
    SaxpyNode s;
    ASSERT_TRUE(s.client);
    LaunchChunk unknown = s.chunk(0, 10);
    unknown.module[5] ^= 1;
    const std::uint64_t a = s.client->start_launch(s.chunk(0, 250));
    const std::uint64_t b = s.client->start_launch(unknown);
    const std::uint64_t c = s.client->start_launch(s.chunk(990, 1000));
    auto rc = s.client->wait_launch(c);
    ASSERT_TRUE(rc) << rc.error();
    ASSERT_EQ(rc.value().outputs.size(), 1u);
    EXPECT_EQ(rc.value().outputs[0].offset, 990u * 4);
    EXPECT_EQ(rc.value().outputs[0].data.size(), 10u * 4);
    auto rb = s.client->wait_launch(b);
    ASSERT_FALSE(rb);
    EXPECT_NE(rb.error().find("unknown-module"), std::string::npos) << rb.error();
    auto ra = s.client->wait_launch(a);
    ASSERT_TRUE(ra) << ra.error();
    EXPECT_EQ(ra.value().outputs[0].offset, 0u);
    EXPECT_EQ(ra.value().outputs[0].data.size(), 250u * 4);
    EXPECT_FALSE(s.client->wait_launch(a));  // each is waited for once
}

// The client's calls may come from several threads at once: one of the
// waiting callers reads for all of them (NodeClient's reader role), and a
// caller writing a big put reads what comes meanwhile. Four threads launch
// chunks while a fifth puts and gets back a 24 MiB region; every reply must
// reach its own caller, whole.
TEST(NodeChunk, CallsFromSeveralThreadsEachGetTheirOwnReply) {
    SaxpyNode s;
    ASSERT_TRUE(s.client);
    std::atomic<int> wrong{0};
    std::vector<std::thread> launchers;
    for (int t = 0; t < 4; ++t)
        launchers.emplace_back([&, t] {
            for (int k = 0; k < 150; ++k) {
                const std::uint64_t b = static_cast<std::uint64_t>((t * 150 + k) % 990);
                auto r = s.client->launch(s.chunk(b, b + 10));
                const bool right = r && r.value().outputs.size() == 1 && r.value().outputs[0].offset == b * 4 &&
                                   r.value().outputs[0].data.size() == 40 &&
                                   std::memcmp(r.value().outputs[0].data.data(), floats(std::vector<float>{2.0f * b + 0.5f}).data(), 4) == 0;
                if (!right) ++wrong;
            }
        });
    Bytes big(24u << 20);
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 13 + (i >> 16));
    std::string bulk_error;
    std::thread bulk([&] {
        for (std::uint64_t v = 1; v <= 3 && bulk_error.empty(); ++v) {
            auto put = s.client->put_region(9, v, big.size(), 0, big);
            if (!put) bulk_error = put.error();
            auto back = s.client->get_region(9, v, 0, big.size());
            if (!back) bulk_error = back.error();
            else if (back.value() != big) bulk_error = "region 9 came back with other bytes";
        }
    });
    for (auto& l : launchers) l.join();
    bulk.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(bulk_error, "");
    EXPECT_EQ(s.client->failure(), "");
}

// Chunks of straight-line kernels over few lanes run on the node's io thread
// (no hop to the pool); a kernel with a loop never does, whatever its lanes,
// since it could run for ever: while a one-lane loop runs, the node still
// answers other requests.
TEST(NodeChunk, AOneLaneLoopDoesNotHoldUpTheNode) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
    ASSERT_TRUE(c) << c.error();
    NodeClient& client = *c.value();
    AssembleResult a = assemble(kSpin.c_str());
    ASSERT_TRUE(a.ok()) << (a.diagnostics.empty() ? "" : format_diagnostic(a.diagnostics[0]));
    auto hash = client.upload_module(write_module(*a.module));
    ASSERT_TRUE(hash) << hash.error();
    ASSERT_TRUE(client.put_region(1, 1, 4, 0, {}));
    LaunchChunk l;
    l.module = hash.value();
    l.count = 1;
    l.end = 1;
    l.args = {Binding{Binding::Kind::Region, 1, 1, 0}, Binding{Binding::Kind::Uniform, 0, 0, 20'000'000}};
    l.max_iterations = 30'000'000;  // past the default budget: the chunk carries its own
    const std::uint64_t spin = client.start_launch(l);
    auto have = client.have_module(hash.value());  // answered while the loop runs
    ASSERT_TRUE(have) << have.error();
    EXPECT_TRUE(have.value());
    EXPECT_FALSE(client.wait_launch_for(spin, std::chrono::milliseconds(0)).has_value()) << "the loop finished first";
    auto done = client.wait_launch(spin);
    ASSERT_TRUE(done) << done.error();
    ASSERT_EQ(done.value().outputs.size(), 1u);
    std::int32_t z = 0;
    std::memcpy(&z, done.value().outputs[0].data.data(), 4);
    EXPECT_EQ(z, 20'000'000);
}

// SIGTERM with chunks queued and running: every launch is answered (a result,
// or cancelled / shutting down), and the node exits with status 0.
TEST(NodeChunk, SigtermAnswersEveryChunkInFlight) {
    SaxpyNode s;
    ASSERT_TRUE(s.client);
    std::vector<std::uint64_t> ids;
    for (int i = 0; i < 200; ++i) ids.push_back(s.client->start_launch(s.chunk(0, 1000)));
    s.node.signal(SIGTERM);
    int answered = 0;
    for (std::uint64_t id : ids) {
        auto r = s.client->wait_launch(id);
        if (r) {
            ++answered;
            continue;
        }
        const bool reported = r.error().find("cancelled") != std::string::npos ||
                              r.error().find("shutting") != std::string::npos;
        EXPECT_TRUE(reported) << r.error();
        answered += reported ? 1 : 0;
    }
    EXPECT_EQ(answered, 200);
    const int status = s.node.wait_exit();
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0) << s.node.log();
}

// A get of a region a running chunk is bound to: bytes the chunk does not
// write (an earlier launch's kept output) come back at once; bytes it writes
// wait for the chunk, and are what it wrote, never half of it.
TEST(NodeChunk, AGetWhileAChunkIsBoundToTheRegion) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
    ASSERT_TRUE(c) << c.error();
    NodeClient& client = *c.value();
    AssembleResult a = assemble(kSpin.c_str());
    ASSERT_TRUE(a.ok());
    auto hash = client.upload_module(write_module(*a.module));
    ASSERT_TRUE(hash) << hash.error();
    ASSERT_TRUE(client.put_region(1, 1, 8, 0, {}));
    auto spin = [&](std::uint64_t lane, std::uint32_t n) {
        LaunchChunk l;
        l.module = hash.value();
        l.count = 2;
        l.begin = lane;
        l.end = lane + 1;
        l.args = {Binding{Binding::Kind::Region, 1, 1, 0}, Binding{Binding::Kind::Uniform, 0, 0, n}};
        l.max_iterations = 30'000'000;
        l.keep_outputs = true;
        return client.start_launch(l);
    };
    auto done = client.wait_launch(spin(1, 5));
    ASSERT_TRUE(done) << done.error();
    EXPECT_TRUE(done.value().outputs.empty());
    const std::uint64_t running = spin(0, 20'000'000);
    auto i32_at = [&](std::uint64_t offset) {
        auto got = client.get_region(1, 1, offset, 4);
        EXPECT_TRUE(got) << got.error();
        std::int32_t v = -1;
        if (got && got.value().size() == 4) std::memcpy(&v, got.value().data(), 4);
        return v;
    };
    EXPECT_EQ(i32_at(4), 5);
    EXPECT_FALSE(client.wait_launch_for(running, std::chrono::milliseconds(0)).has_value()) << "the loop finished first";
    EXPECT_EQ(i32_at(0), 20'000'000);  // waited for the chunk
    done = client.wait_launch(running);
    ASSERT_TRUE(done) << done.error();
    EXPECT_TRUE(done.value().outputs.empty());
}

// A put into another lane of a region version a chunk on a Vulkan node is
// writing, while it runs, stays: the chunk writes back only its own lanes.
// (lavapipe runs on the region in place; a discrete GPU copies it through
// staging buffers, which the Vulkan backend tests cover. lavapipe ends a
// lane's loop after 65,535 iterations: many lanes make the chunk slow.)
TEST(NodeChunk, APutBesideARunningChunkOnAVulkanNodeStays) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--backend", "vulkan"});
    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
    ASSERT_TRUE(c) << c.error();
    NodeClient& client = *c.value();
    AssembleResult a = assemble(kSpin.c_str());
    ASSERT_TRUE(a.ok());
    auto hash = client.upload_module(write_module(*a.module));
    ASSERT_TRUE(hash) << hash.error();
    constexpr std::uint32_t lanes = 16384, n = 60'000;
    ASSERT_TRUE(client.put_region(1, 1, (lanes + 1) * 4, 0, {}));
    LaunchChunk l;
    l.module = hash.value();
    l.count = lanes + 1;
    l.end = lanes;
    l.args = {Binding{Binding::Kind::Region, 1, 1, 0}, Binding{Binding::Kind::Uniform, 0, 0, n}};
    l.keep_outputs = true;
    const std::uint64_t running = client.start_launch(l);
    // Time for the chunk to copy the region in (at its start) before the put
    // lands; the check after the put says the chunk was still running.
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    const std::int32_t put = 42;
    Bytes b(4);
    std::memcpy(b.data(), &put, 4);
    ASSERT_TRUE(client.put_region(1, 1, (lanes + 1) * 4, lanes * 4, b));
    EXPECT_FALSE(client.wait_launch_for(running, std::chrono::milliseconds(0)).has_value()) << "the chunk finished first";
    auto done = client.wait_launch(running);
    ASSERT_TRUE(done) << done.error();
    EXPECT_FALSE(done.value().fault) << node.log();
    auto got = client.get_region(1, 1, 0, (lanes + 1) * 4);
    ASSERT_TRUE(got) << got.error();
    std::vector<std::int32_t> z(lanes + 1);
    std::memcpy(z.data(), got.value().data(), got.value().size());
    EXPECT_EQ(z[0], static_cast<std::int32_t>(n));
    EXPECT_EQ(z[lanes - 1], static_cast<std::int32_t>(n));
    EXPECT_EQ(z[lanes], 42) << "the chunk's copy-back overwrote a lane it does not own";
}
