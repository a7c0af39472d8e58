// Lineage (cluster/lineage.h): values lost with a node are recomputed by
// replaying the epoch's logged launches over the lost lanes, bit for bit the
// values a single machine computes. Real kernels on real CpuBackends, split
// between a home and a node by tests/cluster/lineage_sim.h.
#include <gtest/gtest.h>

#include <bit>
#include <cstdint>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cluster/element_ranges.h"
#include "cluster/lineage.h"
#include "tests/cluster/lineage_sim.h"
#include "tests/vm/kernel_test_util.h"

namespace polymer::cluster {
namespace {

using testing::SimBuffer;
using testing::SimCluster;
using testing::uniform_f32;
using testing::uniform_i32;

// y := a*x + y (int and float), a broadcast input, a partial reduction with
// a conditional element-wise output, and a kernel that breaks the contract.
constexpr const char* kKernels = R"(
.kernel axpyi (in x: i32[i], inout y: i32[i], a: i32)
        gid     r0
        ld      r1, x[r0]
        ld      r2, y[r0]
        ldp     r3, a
        mul     r1, r1, r3
        add     r2, r2, r1
        st      y[r0], r2
.end
.kernel axpyf (in x: f32[i], inout y: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        ffma    f3, f2, f0, f1
        stf     y[r0], f3
.end
; y[i] += t[i mod len(t)] * (i + 1)
.kernel addt (in t: i32[], inout y: i32[i])
        gid     r0
        blen    r1, t
        rem     r2, r0, r1
        ld      r3, t[r2]
        addi    r4, r0, 1
        mul     r3, r3, r4
        ld      r5, y[r0]
        add     r5, r5, r3
        st      y[r0], r5
.end
; s[0] += y[i], s[1] += 1 (a partial); z[i] = y ^ (y >> 3) where y is odd
.kernel sumodd (in y: i32[i], inout s: i32[], out z: i32[i])
        gid     r0
        ld      r1, y[r0]
        li      r2, 0
        atadd   s[r2], r1
        li      r3, 1
        atadd   s[r3], r3
        and     r4, r1, r3
        if      r4
        shri    r5, r1, 3
        xor     r5, r1, r5
        st      z[r0], r5
        end
.end
; a 1D stencil: y[i] = x[i-1] + 2 x[i] + x[i+1] (x[i] at the ends), wrapping
.kernel smooth (in x: i32[i-1..i+1], out y: i32[i])
        gid     r0
        count   r9
        ld      r1, x[r0]
        mov     r5, r1
        li      r2, 0
        lt      r3, r2, r0
        addi    r4, r9, -1
        lt      r4, r0, r4
        and     r3, r3, r4
        if      r3
        addi    r6, r0, -1
        ld      r6, x[r6]
        addi    r7, r0, 1
        ld      r7, x[r7]
        add     r5, r1, r1
        add     r5, r5, r6
        add     r5, r5, r7
        end
        st      y[r0], r5
.end
; reads past its own element: faults on every lane
.kernel peek (in x: i32[i], out y: i32[i])
        gid     r0
        addi    r1, r0, 1
        ld      r2, x[r1]
        st      y[r0], r2
.end
)";

class LineageTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::string errors;
        auto m = test::assemble_kernels(kKernels, &errors);
        ASSERT_TRUE(m.has_value()) << errors;
        module_ = std::move(*m);
    }
    const Kernel& kernel(const std::string& name) const {
        for (const Kernel& k : module_.kernels)
            if (k.name == name) return k;
        ADD_FAILURE() << "no kernel " << name;
        return module_.kernels.front();
    }

    static std::vector<std::uint32_t> random_ints(std::size_t n, std::uint32_t seed, int lo = -1000, int hi = 1000) {
        std::mt19937 g(seed);
        std::uniform_int_distribution<int> d(lo, hi);
        std::vector<std::uint32_t> v(n);
        for (auto& e : v) e = static_cast<std::uint32_t>(d(g));
        return v;
    }
    static std::vector<std::uint32_t> random_floats(std::size_t n, std::uint32_t seed) {
        std::mt19937 g(seed);
        std::uniform_real_distribution<float> d(-2.0f, 2.0f);
        std::vector<std::uint32_t> v(n);
        for (auto& e : v) e = std::bit_cast<std::uint32_t>(d(g));
        return v;
    }

    Module module_;
};

constexpr std::uint64_t kN = 10000;

TEST_F(LineageTest, IterativeIntAxpyLosesNothing) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::I32, random_ints(kN, 1));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 2));
    for (int it = 0; it < 20; ++it) sim.launch(kernel("axpyi"), {{&x}, {&y}, uniform_i32(3 + it)}, kN, kN / 2);
    EXPECT_EQ(lineage.launches(), 20u);
    EXPECT_NE(y.home, y.reference);  // the node's half is only on the node

    const auto lost = sim.kill_node();
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0].begin, kN / 2);
    EXPECT_EQ(lost[0].end, kN);
    auto r = lineage.recompute(lost);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().lanes, kN / 2);
    EXPECT_EQ(r.value().launches, 20u);
    EXPECT_EQ(r.value().bytes_restored, kN / 2 * 4);
    EXPECT_EQ(y.home, y.reference);
    sim.expect_home_is_reference();
}

// A loop of launches run as rounds (vm/launch_rounds.h) is one log entry
// with its rounds; the replay runs the rounds again over the lost lanes.
TEST_F(LineageTest, RoundsAreOneEntryAndReplayAsRounds) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::I32, random_ints(kN, 11));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 12));
    sim.launch(kernel("axpyi"), {{&x}, {&y}, uniform_i32(5)}, kN, kN / 3, 17);
    sim.launch(kernel("axpyi"), {{&x}, {&y}, uniform_i32(-2)}, kN, kN / 2);
    EXPECT_EQ(lineage.launches(), 2u);
    EXPECT_NE(y.home, y.reference);
    const auto lost = sim.kill_node();
    ASSERT_EQ(lost.size(), 1u);
    auto r = lineage.recompute(lost);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().launches, 2u);
    EXPECT_EQ(y.home, y.reference);
    sim.expect_home_is_reference();
}

// A stencil's lost lanes need their neighbours as they were a step
// before, and those theirs a step before that: the replay widens the lanes
// by the window for each earlier sweep, and the result is still exact.
TEST_F(LineageTest, AStencilReplaysOverWidenedLanes) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::I32, random_ints(kN, 11));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 12));
    for (int it = 0; it < 12; ++it) {
        sim.launch(kernel("smooth"), {{&x}, {&y}}, kN, kN / 2 + 7 * it);
        sim.launch(kernel("smooth"), {{&y}, {&x}}, kN, kN / 2 - 5 * it);
    }
    const auto lost = sim.kill_node();
    ASSERT_EQ(lost.size(), 2u);
    auto r = lineage.recompute(lost);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().launches, 24u);
    EXPECT_EQ(x.home, x.reference);
    EXPECT_EQ(y.home, y.reference);
    sim.expect_home_is_reference();
}

TEST_F(LineageTest, IterativeFloatAxpyLosesNothing) {
    CpuBackend replay_on(CpuBackendOptions{.threads = 2});
    Lineage lineage(&replay_on);
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::F32, random_floats(kN, 3));
    SimBuffer& y = sim.add("y", ElemType::F32, random_floats(kN, 4));
    for (int it = 0; it < 20; ++it) sim.launch(kernel("axpyf"), {{&x}, {&y}, uniform_f32(0.75f + 0.01f * it)}, kN, kN / 2);
    auto r = lineage.recompute(sim.kill_node());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(y.home, y.reference);  // bits, so a NaN or a -0 would count too
}

// Element-wise vector ops logged between launches (the cluster runs their
// pieces where the operands are, backend_vectors.cpp): in place, into a
// fresh region, with scalars, over floats and integers; the replay runs
// them over the lost lanes and gives the reference bits.
TEST_F(LineageTest, VectorOpsBetweenLaunchesAreReplayed) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::F32, random_floats(kN, 21));
    SimBuffer& y = sim.add("y", ElemType::F32, random_floats(kN, 22));
    SimBuffer& z = sim.add("z", ElemType::F32, std::vector<std::uint32_t>(kN, 0));
    SimBuffer& i = sim.add("i", ElemType::I32, random_ints(kN, 23));
    SimBuffer& m = sim.add("m", ElemType::I32, std::vector<std::uint32_t>(kN, 0));
    for (int it = 0; it < 4; ++it) {
        sim.launch(kernel("axpyf"), {{&x}, {&y}, uniform_f32(0.5f + it)}, kN, kN / 3);
        sim.vector_op(Op::Vfma, {&z, &x, &y, &z}, kN / 2 + 100 * it);         // z := x * y + z
        sim.vector_op(Op::Vmul, {&y, &y, &x}, kN / 4);                         // in place
        sim.vector_op(Op::Vscale, {&x, &x}, kN - 10, 0.999 - 0.01 * it);       // x on the node, at the tail
        sim.vector_op(Op::Vcmplt, {&m, &y, &x}, kN / 2);                       // i32 1/0 from floats
        sim.vector_op(Op::Vadd, {&i, &i, &m}, 3 * kN / 4);
        sim.vector_op(Op::Viota, {&m}, kN / 2);                                // no inputs
        sim.launch(kernel("axpyi"), {{&m}, {&i}, uniform_i32(it - 1)}, kN, kN / 2);
    }
    EXPECT_EQ(lineage.launches(), 4u * 8);
    EXPECT_NE(z.home, z.reference);  // the node's part is only there
    auto r = lineage.recompute(sim.kill_node());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().launches, 4u * 8);
    EXPECT_EQ(x.home, x.reference);  // bits
    EXPECT_EQ(y.home, y.reference);
    EXPECT_EQ(z.home, z.reference);
    EXPECT_EQ(i.home, i.reference);
    sim.expect_home_is_reference();
}

// An element-wise vector op before a stencil: the stencil's lost lanes read
// the op's results a lane beyond them, so the op is replayed over the
// widened lanes too, not only the lost ones.
TEST_F(LineageTest, AVectorOpBeforeAStencilReplaysOverItsWindow) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::I32, random_ints(kN, 31));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 32));
    SimBuffer& z = sim.add("z", ElemType::I32, std::vector<std::uint32_t>(kN, 0));
    sim.launch(kernel("axpyi"), {{&x}, {&y}, uniform_i32(3)}, kN, kN / 2);
    sim.vector_op(Op::Vadd, {&y, &y, &x}, kN / 2);  // y[kN/2 - 1] stays at home, with the vadd's value
    sim.launch(kernel("smooth"), {{&y}, {&z}}, kN, kN / 2);
    auto r = lineage.recompute(sim.kill_node());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(z.home, z.reference);
    sim.expect_home_is_reference();
}

// A scan's lane reads every element of its input from the start of its
// piece: lost lanes in the middle of a node's piece are replayed from the
// piece's start, from its carry, and the launches before the scan over
// those lanes too. In place and into another region, integers and floats.
TEST_F(LineageTest, ScansReplayFromTheStartOfTheirPieces) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::F32, random_floats(kN, 41));
    SimBuffer& y = sim.add("y", ElemType::F32, random_floats(kN, 42));
    SimBuffer& s = sim.add("s", ElemType::F32, std::vector<std::uint32_t>(kN, 0));
    SimBuffer& i = sim.add("i", ElemType::I32, random_ints(kN, 43));
    SimBuffer& j = sim.add("j", ElemType::I32, random_ints(kN, 44));
    sim.launch(kernel("axpyf"), {{&x}, {&y}, uniform_f32(0.75f)}, kN, kN / 2);
    sim.scan_op(s, y, kN / 4, 1);  // the node's piece is [kN/4, kN)
    sim.launch(kernel("axpyi"), {{&j}, {&i}, uniform_i32(5)}, kN, kN / 3);
    sim.scan_op(i, i, kN / 3, 3);  // in place
    // The home reads the first part of the node's pieces: only their tails stay lost.
    sim.fetch(s, kN / 4, 3 * kN / 4);
    sim.fetch(i, kN / 3, kN / 2);
    sim.fetch(y, 0, kN);
    const auto lost = sim.kill_node();
    ASSERT_EQ(lost.size(), 2u);
    EXPECT_EQ(lost[0].begin, 3 * kN / 4);  // s
    EXPECT_EQ(lost[1].begin, kN / 2);      // i
    auto r = lineage.recompute(lost);
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().launches, 4u);
    EXPECT_EQ(s.home, s.reference);  // bits
    EXPECT_EQ(i.home, i.reference);
    sim.expect_home_is_reference();
}

// A matmul's lost elements of C are recomputed by whole rows, from the
// same rows of A (which the launch before it replays over) and its copy of
// B, taken when it ran: B changed after it does not change the replay.
TEST_F(LineageTest, AMatmulReplaysWholeRowsFromItsCopyOfB) {
    Lineage lineage;
    SimCluster sim(lineage);
    constexpr std::uint64_t m = 60, k = 40, n = 25;
    SimBuffer& x = sim.add("x", ElemType::F32, random_floats(m * k, 51));
    SimBuffer& a = sim.add("a", ElemType::F32, random_floats(m * k, 52));
    SimBuffer& b = sim.add("b", ElemType::F32, random_floats(k * n, 53));
    SimBuffer& c = sim.add("c", ElemType::F32, std::vector<std::uint32_t>(m * n, 0));
    sim.launch(kernel("axpyf"), {{&x}, {&a}, uniform_f32(0.5f)}, m * k, m * k / 3);  // a's last rows only on the node
    sim.matmul_op(c, a, b, k, m / 4);
    sim.store(b, 7, std::bit_cast<std::uint32_t>(123.5f));  // after the matmul: its copy keeps the old B
    sim.fetch(c, (m / 4) * n, (m / 2) * n + 3);               // the home holds some of the node's rows, one in part
    sim.fetch(a, 0, m * k);  // only C is lost: the replay must still redo a's rows as the matmul found them
    auto r = lineage.recompute(sim.kill_node());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().launches, 2u);
    EXPECT_EQ(c.home, c.reference);  // bits
    sim.expect_home_is_reference();
}

// A scan piece noted again (its node was lost while running it, and the
// piece ran again from the same start, ending elsewhere) replaces the
// first note; a note for an entry that is no scan breaks the log.
TEST(Lineage, ScanNotesReplaceTheirRange) {
    std::vector<std::int32_t> a(100, 1), d(100, 0);
    VectorOpArgs scan{Op::Vscan, {ElemType::I32, d.data(), 100}, {ElemType::I32, a.data(), 100}};
    Lineage lineage;
    auto r = lineage.record(scan);
    ASSERT_TRUE(r.ok()) << r.error();
    lineage.note_scan_piece(0, 0, 60, ScanCarry{});
    lineage.note_scan_piece(0, 60, 100, ScanCarry{60, 0});
    lineage.note_scan_piece(0, 60, 80, ScanCarry{60, 0});  // run again, to 80 only
    lineage.note_scan_piece(0, 80, 100, ScanCarry{80, 0});
    // Every element was computed away: lose them all, replay from the notes.
    std::fill(d.begin(), d.end(), -1);
    auto done = lineage.recompute(std::vector<LostElements>{{BufferRef{d.data(), 100, ElemType::I32}, 0, 100}});
    ASSERT_TRUE(done.ok()) << done.error();
    for (int k = 0; k < 100; ++k) ASSERT_EQ(d[k], k + 1) << k;
    lineage.note_scan_piece(5, 0, 10, ScanCarry{});
    EXPECT_FALSE(lineage.recompute(std::vector<LostElements>{{BufferRef{d.data(), 100, ElemType::I32}, 0, 100}}).ok());
}

// Reductions are not logged (they write no region), nor a matmul whose
// dst is its b (every row reads b whole); the log says why.
TEST(Lineage, OnlyElementwiseVectorOpsAreLogged) {
    std::vector<float> a(100), b(100), c(100);
    VectorOpArgs sum;
    sum.op = Op::Vsum;
    sum.a = {ElemType::F32, b.data(), 100};
    Lineage lineage;
    auto r = lineage.record(sum);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("vsum: not an element-wise vector op, a scan or a matmul"), std::string::npos) << r.error();
    VectorOpArgs matmul;
    matmul.op = Op::Vmatmul;
    matmul.dst = {ElemType::F32, a.data(), 100};
    matmul.a = {ElemType::F32, b.data(), 100};
    matmul.b = {ElemType::F32, a.data(), 100};
    matmul.int_scalar = 10;
    Lineage third;
    auto rm = third.record(matmul);
    ASSERT_FALSE(rm);
    EXPECT_NE(rm.error().find("vmatmul: dst is b"), std::string::npos) << rm.error();
    Lineage other;
    VectorOpArgs bad;
    bad.op = Op::Vadd;
    bad.dst = {ElemType::F32, a.data(), 100};
    bad.a = {ElemType::F32, b.data(), 99};
    bad.b = {ElemType::F32, b.data(), 100};
    auto r2 = other.record(bad);
    ASSERT_FALSE(r2);
    EXPECT_NE(r2.error().find("vadd: a has 99 elements"), std::string::npos) << r2.error();
}

// Only the lost lanes are recomputed and written: a lost range in the
// middle of what the node held lands, the rest of home memory is untouched.
TEST_F(LineageTest, WritesExactlyTheLostRanges) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::I32, random_ints(kN, 5));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 6));
    for (int it = 0; it < 5; ++it) sim.launch(kernel("axpyi"), {{&x}, {&y}, uniform_i32(2)}, kN, 0);
    // The program then stores into y[150], inside a range the caller calls lost
    // (a whole slice): the stored value is the current one, not a replayed one.
    sim.store(y, 150, 12345);
    const std::vector<std::uint32_t> before = y.home;
    auto r = lineage.recompute(std::vector<LostElements>{{y.ref(), 100, 200}, {y.ref(), 7000, 7001}});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().lanes, 101u);
    EXPECT_EQ(y.home[150], 12345u);
    for (std::uint64_t i = 0; i < kN; ++i) {
        const bool lost = (i >= 100 && i < 200) || i == 7000;
        ASSERT_EQ(y.home[i], lost ? y.reference[i] : before[i]) << i;
    }
}

// 8-byte elements: a wide kernel over f64 and i64 buffers, run whole at
// home; the home's memory of some lanes is then overwritten (as a recovery
// landing would be) and recomputed from the bases.
TEST_F(LineageTest, WideKernelsOverEightByteElements) {
    std::string errors;
    auto m = test::assemble_kernels(R"(
.kernel wide (in x: f64[i], inout y: f64[i], inout n: i64[i], a: f64)
        .wide
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        fmul    f0, f0, f2
        fadd    f1, f1, f0
        stf     y[r0], f1
        ld      r1, n[r0]
        muli    r1, r1, 3
        add     r1, r1, r0
        st      n[r0], r1
.end
)",
                                    &errors);
    ASSERT_TRUE(m.has_value()) << errors;
    const std::uint64_t n = 3000;
    std::vector<double> x(n), y(n);
    std::vector<std::int64_t> c(n);
    for (std::uint64_t i = 0; i < n; ++i) {
        x[i] = 0.25 * static_cast<double>(i) - 100.0;
        y[i] = 1.0 / static_cast<double>(i + 1);
        c[i] = static_cast<std::int64_t>(i) << 33;
    }
    const BufferRef yr{y.data(), n, ElemType::F64}, cr{c.data(), n, ElemType::I64};
    Lineage lineage;
    CpuBackend cpu;
    for (int it = 0; it < 6; ++it) {
        KernelLaunch l = test::whole_launch(m->kernels[0],
                                            {test::buffer_arg(x, ElemType::F64), test::buffer_arg(y, ElemType::F64),
                                             test::buffer_arg(c, ElemType::I64), KernelArg{nullptr, 0, ElemType::F64, std::bit_cast<std::uint64_t>(1.5 + it)}},
                                            n);
        ASSERT_TRUE(lineage.record(l).ok());
        lineage.before_home_write(yr, 0, n, HomeWrite::Replayable);
        lineage.before_home_write(cr, 0, n, HomeWrite::Replayable);
        ASSERT_FALSE(cpu.wait(cpu.submit(l)).fault);
    }
    const std::vector<double> want_y = y;
    const std::vector<std::int64_t> want_c = c;
    lineage.before_home_write(yr, 1000, 2000, HomeWrite::Replayable);
    lineage.before_home_write(cr, 2500, 3000, HomeWrite::Replayable);
    for (std::uint64_t i = 1000; i < 2000; ++i) y[i] = -1.0;
    for (std::uint64_t i = 2500; i < 3000; ++i) c[i] = -1;
    auto r = lineage.recompute(std::vector<LostElements>{{yr, 1000, 2000}, {cr, 2500, 3000}});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(r.value().bytes_restored, 1500u * 8);
    EXPECT_EQ(y, want_y);
    EXPECT_EQ(c, want_c);
}

// Everything the home does between launches: program stores into an input
// and into node-held elements, fetches, a broadcast input that changes, a
// partial reduction that must not be added twice and later feeds launches,
// a conditional output, different counts and splits, two groups of regions,
// a recovery in the middle of the epoch and a second one after it, then a
// new epoch.
TEST_F(LineageTest, ProgramWritesFetchesBroadcastsAndPartials) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::I32, random_ints(kN, 7));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 8));
    SimBuffer& z = sim.add("z", ElemType::I32, random_ints(kN, 9));
    SimBuffer& t = sim.add("t", ElemType::I32, random_ints(7, 10));
    SimBuffer& s = sim.add("s", ElemType::I32, {0, 0});
    SimBuffer& u = sim.add("u", ElemType::F32, random_floats(kN / 2, 11));
    SimBuffer& v = sim.add("v", ElemType::F32, random_floats(kN / 2, 12));

    auto iteration = [&](int it) {
        const std::uint64_t split = 1000 + (it * 3331) % 8000;
        const std::uint64_t count = kN - (it % 3) * 1500;
        sim.launch(kernel("axpyi"), {{&x}, {&y}, uniform_i32(it - 2)}, count, split);
        sim.store(x, (it * 977) % kN, static_cast<std::uint32_t>(it * 1000 + 1));  // an input the node has a copy of
        sim.store(y, kN - 1 - it * 13, static_cast<std::uint32_t>(-it));          // an element the node holds
        sim.fetch(y, 2000 + it * 100, 2600 + it * 100);                           // the program reads some of y
        sim.store(t, it % 7, static_cast<std::uint32_t>(it * 31));                // the broadcast input changes
        sim.launch(kernel("addt"), {{&t}, {&y}}, count, split + 500);
        sim.launch(kernel("sumodd"), {{&y}, {&s}, {&z}}, kN, split / 2);
        sim.launch(kernel("addt"), {{&s}, {&z}}, kN - 10, split);        // the partial's sums, as a broadcast input
        sim.launch(kernel("axpyi"), {{&x}, {&s}, uniform_i32(it)}, 2, 1);  // the partial, element-wise: s[1] on the node
        sim.launch(kernel("axpyf"), {{&u}, {&v}, uniform_f32(0.5f)}, kN / 2 - it * 100, split / 3);
    };
    for (int it = 0; it < 6; ++it) iteration(it);
    const std::uint64_t kept_mid = lineage.bytes_kept();
    EXPECT_GT(kept_mid, 0u);

    auto lost = sim.kill_node();
    std::size_t in_y = 0, in_v = 0, in_s = 0;
    for (const LostElements& e : lost) {
        in_y += e.buffer.data == y.home.data();
        in_v += e.buffer.data == v.home.data();
        in_s += e.buffer.data == s.home.data();
    }
    EXPECT_GE(in_y, 2u);  // several lost ranges, in two groups of regions
    EXPECT_GE(in_v, 1u);
    EXPECT_EQ(in_s, 1u);
    auto r = lineage.recompute(lost);
    ASSERT_TRUE(r.ok()) << r.error();
    sim.expect_home_is_reference();

    // The epoch goes on after a recovery (whose landing kept its bases), and
    // a second node death is recovered too.
    for (int it = 6; it < 10; ++it) iteration(it);
    r = lineage.recompute(sim.kill_node());
    ASSERT_TRUE(r.ok()) << r.error();
    sim.expect_home_is_reference();
    EXPECT_EQ(lineage.launches(), 60u);

    // A new epoch keeps nothing of the old one.
    sim.checkpoint();
    EXPECT_EQ(lineage.launches(), 0u);
    EXPECT_EQ(lineage.bytes_kept(), 0u);
    for (int it = 10; it < 14; ++it) iteration(it);
    EXPECT_EQ(lineage.launches(), 24u);
    r = lineage.recompute(sim.kill_node());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_LE(r.value().launches, 24u);
    sim.expect_home_is_reference();
}

// The cluster's worker threads land chunks concurrently, in any order: each
// calls before_home_write for its own chunk before writing it.
TEST_F(LineageTest, ChunksLandFromSeveralThreads) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::I32, random_ints(kN, 17));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 18));
    for (int it = 0; it < 3; ++it) sim.launch(kernel("axpyi"), {{&x}, {&y}, uniform_i32(it + 5)}, kN, 0);
    // Four threads fetch y home in 100-element chunks, interleaved.
    std::vector<std::thread> threads;
    for (int w = 0; w < 4; ++w)
        threads.emplace_back([&, w] {
            for (std::uint64_t c = static_cast<std::uint64_t>(3 - w); c < kN / 100; c += 4) {
                lineage.before_home_write(y.ref(), c * 100, c * 100 + 100, HomeWrite::Replayable);
                for (std::uint64_t i = c * 100; i < c * 100 + 100; ++i) y.home[i] = y.node[i];
            }
        });
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(y.home, y.reference);
    // Then the home loses them all again (a recovery must start from the bases).
    std::fill(y.home.begin(), y.home.end(), testing::kGarbage);
    auto r = lineage.recompute(std::vector<LostElements>{{y.ref(), 0, kN}});
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(y.home, y.reference);
}

// A buffer freed mid-epoch still feeds the replay of what was computed from it.
TEST_F(LineageTest, AForgottenInputStillFeedsTheReplay) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& x = sim.add("x", ElemType::I32, random_ints(kN, 13));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 14));
    sim.store(x, 5, 55);
    for (int it = 0; it < 4; ++it) {
        sim.launch(kernel("axpyi"), {{&x}, {&y}, uniform_i32(it + 1)}, kN, kN / 4);
        sim.store(x, 10 + it, static_cast<std::uint32_t>(it));
    }
    const std::uint64_t before = lineage.bytes_kept();
    lineage.forget(x.home.data());
    EXPECT_EQ(lineage.bytes_kept(), before + kN * 4 - 4 * 4);  // x's start state, whole, less its 4 bases
    x.home.assign(kN, testing::kGarbage);                              // freed: the home's storage is reused
    auto r = lineage.recompute(sim.kill_node());
    ASSERT_TRUE(r.ok()) << r.error();
    EXPECT_EQ(y.home, y.reference);
}

// Equal broadcast inputs are kept once; a change is kept again.
TEST_F(LineageTest, BroadcastCopiesAreShared) {
    Lineage lineage;
    SimCluster sim(lineage);
    SimBuffer& t = sim.add("t", ElemType::I32, random_ints(1000, 15));
    SimBuffer& y = sim.add("y", ElemType::I32, random_ints(kN, 16));
    sim.launch(kernel("addt"), {{&t}, {&y}}, kN, kN);  // all at home: no bases, no fetches
    const std::uint64_t one = lineage.bytes_kept();
    EXPECT_EQ(one, 1000u * 4 + kN * 4);  // t, and y's bases (the home ran every lane)
    sim.launch(kernel("addt"), {{&t}, {&y}}, kN, kN);
    EXPECT_EQ(lineage.bytes_kept(), one);  // t is shared, y's bases are kept already
    sim.store(t, 0, 1);
    const std::uint64_t before = lineage.bytes_kept();
    sim.launch(kernel("addt"), {{&t}, {&y}}, kN, kN);
    EXPECT_EQ(lineage.bytes_kept(), before + 1000u * 4);
}

TEST_F(LineageTest, AReplayThatFaultsWritesNothingAndSaysWhere) {
    Lineage lineage;
    std::vector<std::uint32_t> x(64, 1), y(64, 2);
    KernelLaunch l = test::whole_launch(kernel("peek"), {test::buffer_arg(x, ElemType::I32), test::buffer_arg(y, ElemType::I32)}, 64);
    ASSERT_TRUE(lineage.record(l).ok());
    lineage.before_home_write({y.data(), 64, ElemType::I32}, 0, 64, HomeWrite::Replayable);
    y.assign(64, 7);
    auto r = lineage.recompute(std::vector<LostElements>{{{y.data(), 64, ElemType::I32}, 10, 20}});
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().find("replaying launch 0 (kernel 'peek') over lanes [10, 20): lane 10 accessed x[11]"), std::string::npos)
        << r.error();
    EXPECT_EQ(y, std::vector<std::uint32_t>(64, 7));
}

TEST_F(LineageTest, BadCallsBreakTheLogWithAReason) {
    std::vector<std::uint32_t> x(64, 1), y(64, 2), h(16, 0);
    {
        Lineage lineage;
        lineage.before_home_write({y.data(), 64, ElemType::I32}, 60, 65, HomeWrite::Program);
        auto r = lineage.recompute(std::vector<LostElements>{{{y.data(), 64, ElemType::I32}, 0, 1}});
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().find("home write of elements [60, 65) of buffer at"), std::string::npos) << r.error();
        lineage.restart();  // a new epoch starts clean
        EXPECT_TRUE(lineage.recompute({}).ok());
    }
    {
        Lineage lineage;
        lineage.before_home_write({y.data(), 64, ElemType::I32}, 0, 1, HomeWrite::Program);
        lineage.before_home_write({y.data(), 32, ElemType::I32}, 0, 1, HomeWrite::Program);
        auto r = lineage.record(
            test::whole_launch(kernel("axpyi"), {test::buffer_arg(x, ElemType::I32), test::buffer_arg(y, ElemType::I32), test::uniform_i32(1)}, 64));
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().find("was 64 x i32 when last seen: its storage was replaced without forget()"), std::string::npos) << r.error();
    }
    {
        // A histogram's plain `atadd` target is a partial; one with a store is not splittable.
        std::string errors;
        auto m = test::assemble_kernels(R"(
.kernel bump (inout h: i32[])
        gid     r0
        li      r1, 0
        st      h[r1], r0
.end
)",
                                        &errors);
        ASSERT_TRUE(m.has_value()) << errors;
        Lineage lineage;
        auto r = lineage.record(test::whole_launch(m->kernels[0], {test::buffer_arg(h, ElemType::I32)}, 16));
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().find("launch of kernel 'bump': not splittable"), std::string::npos) << r.error();
        EXPECT_EQ(lineage.launches(), 0u);
    }
    {
        Lineage lineage;
        auto r = lineage.record(test::whole_launch(kernel("axpyi"), {test::buffer_arg(x, ElemType::I32), test::buffer_arg(h, ElemType::I32), test::uniform_i32(1)}, 64));
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.error().find("buffer y has 16 elements, fewer than count 64"), std::string::npos) << r.error();
    }
}

TEST(ElementRanges, MergesAndClips) {
    ElementRanges r;
    r.add(10, 20);
    r.add(30, 40);
    r.add(20, 25);  // touches: merged
    EXPECT_EQ(r.pieces(), 2u);
    EXPECT_EQ(r.elements(), 25u);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
    r.for_each_in(22, 35, [&](std::uint64_t lo, std::uint64_t hi) { seen.emplace_back(lo, hi); });
    EXPECT_EQ(seen, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{22, 25}, {30, 35}}));
    r.add(0, 100);
    EXPECT_EQ(r.pieces(), 1u);
}

TEST(ElementRanges, RemoveCutsRangesApart) {
    ElementRanges r;
    r.add(0, 100);
    r.add(200, 300);
    r.remove(50, 60);    // inside one range
    r.remove(90, 210);   // across a gap
    r.remove(280, 400);  // past the end
    std::vector<std::pair<std::uint64_t, std::uint64_t>> seen;
    r.for_each([&](std::uint64_t lo, std::uint64_t hi) { seen.emplace_back(lo, hi); });
    EXPECT_EQ(seen, (std::vector<std::pair<std::uint64_t, std::uint64_t>>{{0, 50}, {60, 90}, {210, 280}}));
    r.remove(0, 1000);
    EXPECT_TRUE(r.empty());
}

TEST(SavedElements, KeepsTheFirstValueSaved) {
    std::vector<std::uint32_t> v(100);
    for (std::uint32_t i = 0; i < 100; ++i) v[i] = i;
    auto* bytes = reinterpret_cast<std::byte*>(v.data());
    SavedElements saved(4);
    EXPECT_EQ(saved.save_missing(bytes, 10, 20), 40u);
    v.assign(100, 1000);
    EXPECT_EQ(saved.save_missing(bytes, 15, 30), 40u);  // only [20, 30) is new
    EXPECT_EQ(saved.save_missing(bytes, 5, 8), 12u);
    EXPECT_EQ(saved.bytes(), 92u);
    std::vector<std::uint32_t> out(100, 7);
    saved.restore(reinterpret_cast<std::byte*>(out.data()), 0, 100);
    for (std::uint32_t i = 0; i < 100; ++i) {
        const std::uint32_t want = i >= 10 && i < 20 ? i : (i >= 20 && i < 30) || (i >= 5 && i < 8) ? 1000 : 7;
        ASSERT_EQ(out[i], want) << i;
    }
}

}  // namespace
}  // namespace polymer::cluster
