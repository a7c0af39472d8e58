// Claims sized by throughput (docs/cluster.md, "Chunks") with real
// polymer-node processes on 127.0.0.1 whose advertised figure is fixed by the
// test-only --fake-throughput flag: the node that advertises more is handed
// larger claims, `.prefers gpu` weighs the GPU-class node up without leaving
// the other idle, and results still equal the single-machine ones, a
// reduction bit for bit on every run.
#include <gtest/gtest.h>

#include <cstring>
#include <stdexcept>

#include "assembler/assembler.h"
#include "cluster/chunk_sizing.h"
#include "cluster/cluster_backend.h"
#include "cluster_test_options.h"
#include "node_process.h"
#include "test_kernels.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;

namespace {

Module assembled(const std::string& source) {
    AssembleResult a = assemble(source);
    if (!a.ok()) throw std::runtime_error("test kernel does not assemble");
    return std::move(*a.module);
}

// z = 3x + y over n lanes, through `backend`; z comes back.
std::vector<float> saxpy(Backend& backend, const Module& m, std::size_t n) {
    std::vector<float> x(n), y(n), z(n, -1.0f);
    for (std::size_t i = 0; i < n; ++i) {
        x[i] = static_cast<float>(i % 1000) * 0.25f;
        y[i] = static_cast<float>(i % 7);
    }
    KernelLaunch l;
    l.kernel = &m.kernels[0];
    l.count = l.end = n;
    l.args = {KernelArg{x.data(), n, ElemType::F32, 0}, KernelArg{y.data(), n, ElemType::F32, 0},
              KernelArg{z.data(), n, ElemType::F32, 0}, KernelArg{nullptr, 0, ElemType::F32, bits(3.0f)}};
    backend.wait(backend.submit(l));
    return z;
}

// A histogram of n lanes into `bins` counters: atadd only, so the counters
// are per-claim partials summed home-side.
const std::string kHistogram = R"(.module hist
.kernel histogram (in x: i32[i], inout hist: i32[], bins: i32)
        gid     r0
        ld      r1, x[r0]
        li      r5, 7
        mul     r1, r1, r5
        li      r5, 3
        add     r1, r1, r5
        ldp     r3, bins
        rem     r2, r1, r3
        ld      r4, x[r0]
        atadd   hist[r2], r4
.end
.proc main
        halt
.end
)";

std::vector<std::int32_t> histogram(Backend& backend, const Module& m, std::size_t n, std::size_t bins) {
    std::vector<std::int32_t> x(n), hist(bins, 0);
    for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<std::int32_t>((i * 2654435761u) % 100'003);
    KernelLaunch l;
    l.kernel = &m.kernels[0];
    l.count = l.end = n;
    l.args = {KernelArg{x.data(), n, ElemType::I32, 0}, KernelArg{hist.data(), bins, ElemType::I32, 0},
              KernelArg{nullptr, 0, ElemType::I32, static_cast<std::uint32_t>(bins)}};
    backend.wait(backend.submit(l));
    return hist;
}

ClusterOptions options_for(const std::vector<NodeProcess*>& nodes) {
    return test_options(nodes, 1 << 12, std::chrono::milliseconds(2000));
}

// `fast` was handed larger claims than `slow`: more lanes per claim. (How
// many lanes each ran in all also follows their real speed, the same here:
// the measured rates rebalance the tail.)
void expect_larger_claims(const ParticipantStats& fast, const ParticipantStats& slow) {
    ASSERT_GT(fast.chunks, 0u);
    if (slow.chunks != 0) {
        EXPECT_GT(fast.lanes * slow.chunks, slow.lanes * fast.chunks)
            << fast.lanes << " lanes in " << fast.chunks << " claims vs " << slow.lanes << " in " << slow.chunks;
    }
}

}  // namespace

// The second node advertises 100x the first (both are this machine's CPU):
// its first claims are sized by that figure, so it is handed larger claims,
// whichever of the two worker threads asks first.
TEST(ClusterClaims, NodeAdvertisingMoreThroughputIsHandedLargerClaims) {
    TempTokenFile token(kSecret);
    NodeProcess slow(token.path(), {"--fake-throughput", "1e8"}), fast(token.path(), {"--fake-throughput", "1e10"});
    const Module m = assembled(kSaxpy);
    const std::size_t n = 1 << 21;  // 64 grains of 32768
    CpuBackend one_machine;
    const std::vector<float> expected = saxpy(one_machine, m, n);
    CpuBackend local;
    auto backend = ClusterBackend::create(m, local, options_for({&slow, &fast}));
    ASSERT_TRUE(backend) << backend.error();
    const std::vector<float> got = saxpy(*backend.value(), m, n);
    EXPECT_EQ(std::memcmp(got.data(), expected.data(), n * sizeof(float)), 0);
    const auto stats = backend.value()->participant_stats();
    EXPECT_EQ(stats_of(stats, slow.port()).lanes + stats_of(stats, fast.port()).lanes, n);
    expect_larger_claims(stats_of(stats, fast.port()), stats_of(stats, slow.port()));
    EXPECT_NE(backend.value()->describe_nodes().find("throughput 10000 M elements/s"), std::string::npos)
        << backend.value()->describe_nodes();
}

// A claim's outputs come back in one frame: claims (and grains) are capped
// at 16 MiB of element-wise output (kMaxSliceBytes), however large the grid
// or the node's share would make them. Here one node would otherwise take
// all 6M lanes (24 MiB of z) in one claim.
TEST(ClusterClaims, ClaimsKeepTheirOutputsToOneSlice) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    const Module m = assembled(kSaxpy);
    const std::size_t n = 6u << 20;
    CpuBackend local;
    ClusterOptions o = options_for({&node});
    o.grains_per_participant = 1;
    o.claim_divisor = 1;
    auto backend = ClusterBackend::create(m, local, o);
    ASSERT_TRUE(backend) << backend.error();
    const std::vector<float> got = saxpy(*backend.value(), m, n);
    CpuBackend one_machine;
    EXPECT_EQ(std::memcmp(got.data(), saxpy(one_machine, m, n).data(), n * sizeof(float)), 0);
    const ParticipantStats s = backend.value()->participant_stats()[0];
    EXPECT_TRUE(s.lost.empty()) << s.lost;
    EXPECT_EQ(s.lanes, n);
    EXPECT_EQ(s.chunks, 2u);  // 4M + 2M lanes: 16 MiB and 8 MiB of z
}

// `.prefers gpu`: both nodes advertise the same figure; the GPU-class one
// counts 4x until it has measured, so it is handed the larger claims (the
// other still takes part), and the result is still the single-machine one.
TEST(ClusterClaims, PrefersGpuWeighsTheGpuClassNodeUp) {
    TempTokenFile token(kSecret);
    NodeProcess cpu_node(token.path(), {"--fake-throughput", "1e9"}),
        gpu_node(token.path(), {"--fake-throughput", "1e9", "--fake-device-type", "discrete"});
    std::string source = kSaxpy;
    source.insert(source.find('\n', source.find(".kernel")) + 1, "        .prefers gpu\n");
    const Module m = assembled(source);
    ASSERT_TRUE(m.kernels[0].requirements.prefers_gpu);
    const std::size_t n = 1 << 21;
    CpuBackend one_machine;
    const std::vector<float> expected = saxpy(one_machine, m, n);
    CpuBackend local;
    auto backend = ClusterBackend::create(m, local, options_for({&cpu_node, &gpu_node}));
    ASSERT_TRUE(backend) << backend.error();
    const std::vector<float> got = saxpy(*backend.value(), m, n);
    EXPECT_EQ(std::memcmp(got.data(), expected.data(), n * sizeof(float)), 0);
    const auto stats = backend.value()->participant_stats();
    EXPECT_EQ(stats_of(stats, cpu_node.port()).lanes + stats_of(stats, gpu_node.port()).lanes, n);
    expect_larger_claims(stats_of(stats, gpu_node.port()), stats_of(stats, cpu_node.port()));
}

// A reduction (atadd partials) on two nodes of different advertised speed and
// the home: claims of exactly one grain, summed in grain order, so the
// counters equal the single-machine ones, bit for bit, on every run.
TEST(ClusterClaims, ReductionIsOneGrainPerClaimAndTheSameEveryRun) {
    TempTokenFile token(kSecret);
    NodeProcess slow(token.path(), {"--fake-throughput", "1e8"}), fast(token.path(), {"--fake-throughput", "1e10"});
    const Module m = assembled(kHistogram);
    const std::size_t n = 300'000, bins = 1000;
    CpuBackend one_machine;
    const std::vector<std::int32_t> expected = histogram(one_machine, m, n, bins);
    ClusterOptions o = options_for({&slow, &fast});
    o.local_work = true;
    o.home_throughput = 1e9;
    CpuBackend local;
    auto backend = ClusterBackend::create(m, local, o);
    ASSERT_TRUE(backend) << backend.error();
    const std::vector<std::int32_t> first = histogram(*backend.value(), m, n, bins);
    const std::vector<std::int32_t> second = histogram(*backend.value(), m, n, bins);
    EXPECT_EQ(first, expected);
    EXPECT_EQ(second, expected);
    std::uint64_t claims = 0, lanes = 0;
    for (const ParticipantStats& p : backend.value()->participant_stats()) {
        claims += p.chunks;
        lanes += p.lanes;
    }
    // Two launches over the same grid (3 configured participants x 32 grains).
    EXPECT_EQ(claims, 2 * make_grid(0, n, o.min_chunk_lanes, 3 * 32).size());
    EXPECT_EQ(lanes, 2 * n);
}
