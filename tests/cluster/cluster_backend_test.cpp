// ClusterBackend against real polymer-node processes on 127.0.0.1: results
// equal the single-machine ones, `.requires gpu` chunks go only to GPU-class
// nodes, and a node killed, stopped or cut off mid-frame during a launch
// costs time, never a wrong or missing result.
#include <gtest/gtest.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <cstring>
#include <stdexcept>

#include "assembler/assembler.h"
#include "cluster/cluster_backend.h"
#include "cluster_test_options.h"
#include "node_process.h"
#include "test_kernels.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;

namespace {

// saxpy that only a GPU-class node may run.
const std::string kGpuSaxpy = [] {
    std::string s = kSaxpy;
    s.insert(s.find('\n', s.find(".kernel")) + 1, "        .requires gpu\n");
    return s;
}();

// Launches saxpy over n lanes through a backend and checks every lane.
struct SaxpyRun {
    Module module;
    std::vector<float> x, y, z;
    explicit SaxpyRun(const std::string& source, std::size_t n) : x(n), y(n), z(n, -1.0f) {
        AssembleResult a = assemble(source);
        EXPECT_TRUE(a.ok());
        module = std::move(*a.module);
        for (std::size_t i = 0; i < n; ++i) {
            x[i] = static_cast<float>(i % 1000) * 0.25f;
            y[i] = static_cast<float>(i % 7);
        }
    }
    KernelLaunch launch() {
        KernelLaunch l;
        l.kernel = &module.kernels[0];
        l.kernel_index = 0;
        l.count = l.end = x.size();
        l.args = {KernelArg{x.data(), x.size(), ElemType::F32, 0}, KernelArg{y.data(), y.size(), ElemType::F32, 0},
                  KernelArg{z.data(), z.size(), ElemType::F32, 0}, KernelArg{nullptr, 0, ElemType::F32, bits(3.0f)}};
        return l;
    }
    std::size_t wrong_lanes() const {
        std::size_t wrong = 0;
        for (std::size_t i = 0; i < x.size(); ++i)
            if (z[i] != std::fma(3.0f, x[i], y[i])) ++wrong;
        return wrong;
    }
};

// The same advertised throughput for every node (docs/cluster.md, the
// test-only flags): the claims start evenly shared whatever the machine's
// load did to each node's start-up probe, so a fault lands where a test
// puts it, not where the probe's noise sent the work.
const std::vector<std::string> kEven = {"--fake-throughput", "1e9"};

ClusterOptions options_for(const std::vector<NodeProcess*>& nodes) {
    return test_options(nodes, 1 << 14, std::chrono::milliseconds(1000));  // 2 nodes, 1M lanes: 64 grains of 16384
}

}  // namespace

namespace {
// A TCP relay between the home and a node that, once `cut_after` bytes have
// gone node -> home, forwards half of the next read and closes both sides:
// the home sees a frame end in the middle.
class CuttingProxy {
public:
    // With `at_mark`, nothing is cut: it is called once when `cut_after`
    // bytes have gone node -> home (a fault injected at a known point).
    CuttingProxy(std::uint16_t node_port, std::size_t cut_after, std::function<void()> at_mark = {})
        : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), node_port_(node_port), cut_after_(cut_after),
          at_mark_(std::move(at_mark)) {
        thread_ = std::thread([this] { run(); });
    }
    ~CuttingProxy() {
        std::error_code ec;
        acceptor_.close(ec);
        shutdown();
        if (thread_.joinable()) thread_.join();
    }
    std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
    bool cut() const { return cut_; }

private:
    void shutdown() {
        std::lock_guard lock(mutex_);
        std::error_code ec;
        for (auto* s : {&home_, &node_})
            if (*s) (*s)->shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    }
    void run() {
        std::error_code ec;
        asio::ip::tcp::socket home(io_);
        acceptor_.accept(home, ec);
        if (ec) return;
        asio::ip::tcp::socket node(io_);
        node.connect({asio::ip::make_address("127.0.0.1"), node_port_}, ec);
        if (ec) return;
        {
            std::lock_guard lock(mutex_);
            home_ = &home;
            node_ = &node;
        }
        std::thread up([&] { pump(home, node, false); });
        pump(node, home, true);
        up.join();
        std::lock_guard lock(mutex_);
        home_ = node_ = nullptr;
    }
    void pump(asio::ip::tcp::socket& from, asio::ip::tcp::socket& to, bool cutting) {
        std::vector<std::uint8_t> buf(1 << 16);
        std::size_t sent = 0;
        for (;;) {
            std::error_code ec;
            std::size_t n = from.read_some(asio::buffer(buf), ec);
            if (ec) break;
            if (cutting && at_mark_ && sent + n > cut_after_) {
                at_mark_();
                at_mark_ = nullptr;
            } else if (cutting && !at_mark_ && !cut_ && sent + n > cut_after_) {
                asio::write(to, asio::buffer(buf.data(), std::max<std::size_t>(1, n / 2)), ec);
                cut_ = true;
                shutdown();
                break;
            }
            asio::write(to, asio::buffer(buf.data(), n), ec);
            if (ec) break;
            sent += n;
        }
        shutdown();
    }

    asio::io_context io_;
    asio::ip::tcp::acceptor acceptor_;
    std::uint16_t node_port_;
    std::size_t cut_after_;
    std::function<void()> at_mark_;
    std::thread thread_;
    std::mutex mutex_;
    asio::ip::tcp::socket* home_ = nullptr;
    asio::ip::tcp::socket* node_ = nullptr;
    std::atomic<bool> cut_{false};
};
}  // namespace

TEST(ClusterBackend, SaxpyOverTwoNodesAndTheHomeEqualsTheFma) {
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), kEven), b(token.path(), kEven);
    SaxpyRun run(kSaxpy, 300'001);
    ClusterOptions o = options_for({&a, &b});
    o.local_work = true;
    CpuBackend local;
    auto backend = ClusterBackend::create(run.module, local, o);
    ASSERT_TRUE(backend) << backend.error();
    const Ticket t = backend.value()->submit(run.launch());
    backend.value()->wait(t);
    EXPECT_EQ(run.wrong_lanes(), 0u);
    std::uint64_t lanes = 0;
    for (const ParticipantStats& p : backend.value()->participant_stats()) lanes += p.lanes;
    EXPECT_EQ(lanes, 300'001u);  // each lane applied once
}

// Two homes on the same node (two polymer-run processes would be): their
// regions must not collide in the node's shared store.
TEST(ClusterBackend, TwoHomesShareANode) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    SaxpyRun small(kSaxpy, 50'000), large(kSaxpy, 70'000);
    CpuBackend local;
    auto first = ClusterBackend::create(small.module, local, options_for({&node}));
    auto second = ClusterBackend::create(large.module, local, options_for({&node}));
    ASSERT_TRUE(first && second);
    first.value()->wait(first.value()->submit(small.launch()));
    second.value()->wait(second.value()->submit(large.launch()));
    first.value()->wait(first.value()->submit(small.launch()));
    EXPECT_EQ(small.wrong_lanes(), 0u);
    EXPECT_EQ(large.wrong_lanes(), 0u);
    EXPECT_TRUE(first.value()->participant_stats()[0].lost.empty()) << first.value()->participant_stats()[0].lost;
    EXPECT_TRUE(second.value()->participant_stats()[0].lost.empty()) << second.value()->participant_stats()[0].lost;
}

TEST(ClusterBackend, RequiresGpuGoesOnlyToGpuClassNodes) {
    TempTokenFile token(kSecret);
    NodeProcess cpu_node(token.path()), gpu_node(token.path(), {"--fake-device-type", "discrete"});
    SaxpyRun run(kGpuSaxpy, 200'000);
    CpuBackend local;
    ClusterOptions o = options_for({&cpu_node, &gpu_node});
    o.local_work = true;  // the home is not GPU-class either
    auto backend = ClusterBackend::create(run.module, local, o);
    ASSERT_TRUE(backend) << backend.error();
    EXPECT_NE(backend.value()->describe_nodes().find("GPU-class"), std::string::npos);
    backend.value()->wait(backend.value()->submit(run.launch()));
    EXPECT_EQ(run.wrong_lanes(), 0u);
    const auto stats = backend.value()->participant_stats();
    EXPECT_EQ(stats_of(stats, cpu_node.port()).chunks, 0u);
    EXPECT_GT(stats_of(stats, gpu_node.port()).chunks, 0u);
    EXPECT_EQ(stats[0].name, "home");
    EXPECT_EQ(stats[0].chunks, 0u);
}

TEST(ClusterBackend, NoCapableNodeIsAnErrorNamingKernelAndRequirement) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    SaxpyRun run(kGpuSaxpy, 1000);
    CpuBackend local;
    auto backend = ClusterBackend::create(run.module, local, options_for({&node}));
    ASSERT_TRUE(backend) << backend.error();
    const Ticket t = backend.value()->submit(run.launch());
    try {
        backend.value()->wait(t);
        FAIL() << "the launch finished without a capable node";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("kernel 'saxpy' (.requires gpu): no capable node left"), std::string::npos)
            << e.what();
    }
}

// kill -9 one of two nodes while the launch runs: its chunks run on the other.
TEST(ClusterBackend, NodeKilledMidLaunchLosesNoResult) {
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), kEven), b(token.path(), kEven);
    SaxpyRun run(kSaxpy, 1 << 20);
    CpuBackend local;
    // Killed when its first results pass the relay: mid-launch whatever the kernels' speed.
    CuttingProxy relay(a.port(), 40'000, [&a] { a.signal(SIGKILL); });
    ClusterOptions o = options_for({&b});
    o.nodes.insert(o.nodes.begin(), NodeAddress{"127.0.0.1", relay.port()});
    // One grain a claim, so the node still has work to come when it dies (with
    // large claims it may have written all its results before the signal lands).
    o.max_claim_grains = 1;
    auto backend = ClusterBackend::create(run.module, local, o);
    ASSERT_TRUE(backend) << backend.error();
    const Ticket t = backend.value()->submit(run.launch());
    backend.value()->wait(t);
    EXPECT_EQ(run.wrong_lanes(), 0u);
    const auto stats = backend.value()->participant_stats();
    EXPECT_EQ(stats_of(stats, relay.port()).lanes + stats_of(stats, b.port()).lanes, 1u << 20);
    EXPECT_FALSE(stats_of(stats, relay.port()).lost.empty());
}

// SIGSTOP (a hang) when its first results pass the relay: the other node
// takes the rest and backup copies of the stopped node's chunks (or, if that
// node stalled while being sent a chunk, the heartbeat timeout drops it);
// nothing is lost or applied twice.
TEST(ClusterBackend, StoppedNodeIsWorkedAroundWithinTheHeartbeatTimeout) {
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), kEven), b(token.path(), kEven);
    SaxpyRun run(kSaxpy, 1 << 20);
    CpuBackend local;
    CuttingProxy relay(a.port(), 40'000, [&a] { a.signal(SIGSTOP); });
    ClusterOptions o = options_for({&b});
    o.nodes.insert(o.nodes.begin(), NodeAddress{"127.0.0.1", relay.port()});
    auto backend = ClusterBackend::create(run.module, local, o);
    ASSERT_TRUE(backend) << backend.error();
    const Ticket t = backend.value()->submit(run.launch());
    backend.value()->wait(t);
    EXPECT_EQ(run.wrong_lanes(), 0u);
    const auto stats = backend.value()->participant_stats();
    EXPECT_EQ(stats_of(stats, relay.port()).lanes + stats_of(stats, b.port()).lanes, 1u << 20);
    a.signal(SIGCONT);
}

// A node that stalls for a while (stopped, then continued, within the
// heartbeat timeout): the idle node runs backup copies of its chunks and the
// first result wins; nothing is applied twice and nobody is dropped.
TEST(ClusterBackend, StragglerChunksGetBackupCopiesAndTheFirstResultWins) {
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), kEven), b(token.path(), kEven);
    SaxpyRun run(kSaxpy, 1 << 20);
    CpuBackend local;
    auto backend = ClusterBackend::create(run.module, local, options_for({&a, &b}));
    ASSERT_TRUE(backend) << backend.error();
    // Stopped before the launch: it takes its first chunks and stalls on them.
    a.signal(SIGSTOP);
    const Ticket t = backend.value()->submit(run.launch());
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    a.signal(SIGCONT);
    backend.value()->wait(t);
    EXPECT_EQ(run.wrong_lanes(), 0u);
    const auto stats = backend.value()->participant_stats();
    EXPECT_EQ(stats_of(stats, a.port()).lanes + stats_of(stats, b.port()).lanes, 1u << 20);
    EXPECT_EQ(stats_of(stats, b.port()).backups_won, 1u);  // the one claim the stalled node took
    EXPECT_TRUE(stats_of(stats, a.port()).lost.empty()) << stats_of(stats, a.port()).lost;
}


// A node stopped for good before the launch, with a heartbeat timeout far
// longer than the test's own (60 s against ctest's 30 s): the other node and
// the home take backup copies of its claims once they run twice as long as
// usual, and the launch ends without waiting for it (its worker stops waiting
// for the node's acknowledgements), so it is never dropped.
TEST(ClusterBackend, StoppedNodeDoesNotHoldTheLaunchUpUntilTheHeartbeatTimeout) {
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), kEven), b(token.path(), kEven);
    AssembleResult busy = assemble(R"(.module m
.kernel busy (out z: i32[i], n: i32)
        gid     r0
        ldp     r2, n
        li      r5, 0
        li      r9, 1
        loop
            lt      r6, r5, r2
            if      r6
            else
                break
            end
            add     r5, r5, r9
        end
        add     r5, r5, r0
        st      z[r0], r5
.end
.proc main
        halt
.end
)");
    ASSERT_TRUE(busy.ok());
    std::vector<std::int32_t> z(1 << 16, -1);
    KernelLaunch l;
    l.kernel = &busy.module->kernels[0];
    l.count = l.end = z.size();
    l.args = {KernelArg{z.data(), z.size(), ElemType::I32, 0}, KernelArg{nullptr, 0, ElemType::I32, 2000}};
    CpuBackend local;
    ClusterOptions o = test_options({&a, &b}, 1024, std::chrono::milliseconds(60'000));
    o.local_work = true;
    auto backend = ClusterBackend::create(*busy.module, local, o);
    ASSERT_TRUE(backend) << backend.error();
    a.signal(SIGSTOP);
    backend.value()->wait(backend.value()->submit(l));
    for (std::size_t i = 0; i < z.size(); ++i) ASSERT_EQ(z[i], static_cast<std::int32_t>(2000 + i)) << "lane " << i;
    const auto stats = backend.value()->participant_stats();
    EXPECT_EQ(stats_of(stats, a.port()).lanes, 0u);
    EXPECT_TRUE(stats_of(stats, a.port()).lost.empty()) << stats_of(stats, a.port()).lost;
    std::uint64_t backups = 0;
    for (const ParticipantStats& p : stats) backups += p.backups_won;
    EXPECT_GE(backups, 1u);
    a.signal(SIGCONT);
}

TEST(ClusterBackend, ConnectionCutMidFrameLosesNoResult) {
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), kEven), b(token.path(), kEven);
    // Inside its first claim's result (64 KiB a grain): however few lanes the
    // node's advertised figure earns it, it has at least one grain out.
    CuttingProxy proxy(a.port(), 40'000);
    SaxpyRun run(kSaxpy, 1 << 20);
    CpuBackend local;
    // A heartbeat deadline no loaded CI machine misses: the node must be
    // lost to the cut, not to a late heartbeat before it.
    ClusterOptions o = test_options({&b}, 1 << 14, std::chrono::milliseconds(10'000));
    o.nodes.insert(o.nodes.begin(), NodeAddress{"127.0.0.1", proxy.port()});
    auto backend = ClusterBackend::create(run.module, local, o);
    ASSERT_TRUE(backend) << backend.error();
    // On a loaded machine b may take every claim (backups of a's included)
    // before a's first result is through the proxy: the launch then ends
    // right, with no cut. Another launch gives a its turn.
    std::uint64_t launches = 0;
    for (; launches < 5 && !proxy.cut(); ++launches) {
        std::fill(run.z.begin(), run.z.end(), -1.0f);
        backend.value()->wait(backend.value()->submit(run.launch()));
        ASSERT_EQ(run.wrong_lanes(), 0u) << "launch " << launches;
    }
    const auto stats = backend.value()->participant_stats();
    EXPECT_TRUE(proxy.cut()) << launches << " launches; lanes: " << stats_of(stats, proxy.port()).lanes
                             << ", lost: " << stats_of(stats, proxy.port()).lost;
    EXPECT_NE(stats_of(stats, proxy.port()).lost.find("stream ended inside"), std::string::npos)
        << stats_of(stats, proxy.port()).lost;
    EXPECT_EQ(stats_of(stats, proxy.port()).lanes + stats_of(stats, b.port()).lanes, launches << 20);
}

TEST(ClusterBackend, HostPortParsing) {
    auto a = parse_host_port("10.0.0.2:7000");
    ASSERT_TRUE(a) << a.error();
    EXPECT_EQ(a.value().host, "10.0.0.2");
    EXPECT_EQ(a.value().port, 7000);
    EXPECT_EQ(parse_host_port("box").value().port, 7447);
    EXPECT_EQ(parse_host_port("[::1]:9").value().host, "::1");
    EXPECT_EQ(parse_host_port("[::1]:9").value().port, 9);
    EXPECT_FALSE(parse_host_port("a:0"));
    EXPECT_EQ(parse_host_port("a:0", true).value().port, 0);  // a node's --listen: any free port
    EXPECT_FALSE(parse_host_port("a:70000"));
    EXPECT_FALSE(parse_host_port("a:"));
    EXPECT_FALSE(parse_host_port(":1"));
    EXPECT_FALSE(parse_host_port("[::1"));
    EXPECT_NE(parse_host_port("a:x").error().find("'a:x'"), std::string::npos);
}

TEST(ClusterBackend, NodesFile) {
    auto n = parse_nodes_file("# the lab\n\nbox1:7000\n  box2   # the GPU one\r\n[::1]:9\n", "lab.nodes");
    ASSERT_TRUE(n) << n.error();
    ASSERT_EQ(n.value().size(), 3u);
    EXPECT_EQ(n.value()[0].host, "box1");
    EXPECT_EQ(n.value()[1].host, "box2");
    EXPECT_EQ(n.value()[1].port, 7447);
    EXPECT_EQ(n.value()[2].port, 9);
    EXPECT_EQ(parse_nodes_file("", "x").value().size(), 0u);
    EXPECT_EQ(parse_nodes_file("a:1\n# c\nb:99999\n", "lab.nodes").error(), "lab.nodes:3: 'b:99999': port '99999' is not 1..65535");
    EXPECT_EQ(parse_nodes_file("a:1 b:2\n", "f").error(), "f:1: 'a:1 b:2' is not one HOST:PORT (one node a line)");
}
