// The CPU kernel executor (the block interpreter) against plain C++
// references and against the lane-at-a-time reference interpreter
// (lane_reference_executor.h): every op across block boundaries, divergent
// control flow, random structured kernels, atomics on several threads.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <climits>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "assembler/assembler.h"
#include "vm/backend.h"
#include "tests/vm/kernel_test_util.h"
#include "tests/vm/lane_reference_executor.h"
#include "tests/vm/table_ops.h"
#include "vm/cpu_kernels/cpu_kernel_executor.h"

namespace polymer {
namespace {

Module assemble_ok(const char* src) {
    auto r = assemble(src);
    EXPECT_TRUE(r.ok());
    for (const Diagnostic& d : r.diagnostics) ADD_FAILURE() << format_diagnostic(d);
    return r.ok() ? *r.module : Module{};
}

KernelArg buffer(void* data, std::uint64_t n, ElemType t) { return KernelArg{n ? data : nullptr, n, t, 0}; }

TEST(CpuKernels, SaxpyMatchesScalarFma) {
    Module m = assemble_ok(test::kSaxpyKernel);
    ASSERT_EQ(m.kernels.size(), 1u);
    for (std::uint64_t n : {0ull, 1ull, 63ull, 64ull, 65ull, 255ull, 256ull, 257ull, 100003ull, 1000003ull}) {
        std::vector<float> x(n), y(n), z(n, -1.0f);
        for (std::uint64_t i = 0; i < n; ++i) { x[i] = 0.1f * float(i); y[i] = 3.0f - float(i % 7); }
        const float a = 1.7f;
        KernelLaunch l = test::saxpy_launch(m.kernels[0], x, y, z, a);
        CpuBackend backend;
        backend.wait(backend.submit(l));
        for (std::uint64_t i = 0; i < n; ++i) ASSERT_EQ(z[i], std::fma(a, x[i], y[i])) << i;
    }
}

TEST(CpuKernels, DivergentLoopsBreakContinueExitAndAPiece) {
    // Lane g: sums k for k in [0, g%37) skipping k%3==1, stopping at k>20; lanes with g%5==4 exit early.
    Module m = assemble_ok(R"(
.kernel div (out o: i32[i])
        gid     r0
        li      r9, 5
        rem     r1, r0, r9
        li      r9, 4
        eq      r2, r1, r9
        if      r2
            st      o[r0], r9
            exit
        end
        li      r9, 37
        rem     r3, r0, r9
        li      r4, 0
        li      r5, 0
        loop
            lt      r6, r4, r3
            if      r6
            else
                break
            end
            li      r9, 20
            lt      r6, r9, r4
            if      r6
                break
            end
            li      r9, 3
            rem     r7, r4, r9
            li      r9, 1
            eq      r6, r7, r9
            addi    r4, r4, 1
            if      r6
                continue
            end
            add     r5, r5, r4
        end
        st      o[r0], r5
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    const std::uint64_t n = 1000;
    std::vector<std::int32_t> o(n, -7);
    KernelLaunch l;
    l.kernel = &m.kernels[0];
    l.args = {buffer(o.data(), n, ElemType::I32)};
    l.count = n; l.begin = 100; l.end = 900;
    CpuBackend backend;
    backend.wait(backend.submit(l));
    for (std::int32_t g = 0; g < static_cast<std::int32_t>(n); ++g) {
        std::int32_t want = -7;
        if (g >= 100 && g < 900) {
            if (g % 5 == 4) want = 4;
            else {
                std::int32_t k = 0, s = 0;
                for (;;) {
                    if (!(k < g % 37)) break;
                    if (20 < k) break;
                    bool skip = k % 3 == 1;
                    ++k;
                    if (skip) continue;
                    s += k;
                }
                want = s;
            }
        }
        ASSERT_EQ(o[g], want) << g;
    }
}

TEST(CpuKernels, IntegerEdgesAndSaturatingFtoi) {
    Module m = assemble_ok(R"(
.kernel edges (in a: i32[], in b: i32[i], in x: f32[i], out o: i32[])
        gid     r0
        ld      r1, a[r0]
        ld      r2, b[r0]
        ldf     f0, x[r0]
        muli    r10, r0, 8
        div     r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        rem     r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        shl     r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        sar     r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        shr     r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        mul     r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        ftoi    r3, f0
        st      o[r10], r3
        addi    r10, r10, 1
        li      r4, 1000000
        ld      r3, a[r4]
        st      o[r10], r3
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    const std::int32_t kMin = INT32_MIN, kMax = INT32_MAX;
    const float nan = std::nanf(""), inf = INFINITY;
    std::vector<std::int32_t> a = {kMin, 7, -7, 5, kMax, 0, 123, -1};
    std::vector<std::int32_t> b = {-1, 0, 2, 33, 2, -1, -32, 31};
    std::vector<float> x = {nan, inf, -inf, 3e9f, -3e9f, -2.9f, 2.9f, -2147483648.0f};
    const std::size_t n = a.size();
    std::vector<std::int32_t> o(8 * n, 99);
    KernelLaunch l;
    l.kernel = &m.kernels[0];
    l.args = {buffer(a.data(), n, ElemType::I32), buffer(b.data(), n, ElemType::I32),
              buffer(x.data(), n, ElemType::F32), buffer(o.data(), o.size(), ElemType::I32)};
    l.count = n; l.begin = 0; l.end = n;
    // The last load is far past a: every lane faults there, lane 0 is reported.
    EXPECT_EQ(run_kernel_launch(l), (KernelFault{KernelFault::Kind::BadIndex, 0, 27, 0, 1000000, 8}));
    auto u = [](std::int32_t v) { return static_cast<std::uint32_t>(v); };
    for (std::size_t i = 0; i < n; ++i) {
        const std::int64_t A = a[i], B = b[i];
        const std::int32_t div = B == 0 ? 0 : static_cast<std::int32_t>(u(static_cast<std::int32_t>(B == -1 ? -A : A / B)));
        const std::int32_t rem = (B == 0 || B == -1) ? 0 : static_cast<std::int32_t>(A % B);
        const float f = x[i];
        const std::int32_t ftoi = std::isnan(f) ? 0 : f >= 2147483648.0f ? kMax : f <= -2147483648.0f ? kMin : static_cast<std::int32_t>(f);
        EXPECT_EQ(o[8 * i + 0], div) << i;
        EXPECT_EQ(o[8 * i + 1], rem) << i;
        EXPECT_EQ(u(o[8 * i + 2]), u(a[i]) << (B & 31)) << i;
        EXPECT_EQ(o[8 * i + 3], a[i] >> (B & 31)) << i;
        EXPECT_EQ(u(o[8 * i + 4]), u(a[i]) >> (B & 31)) << i;
        EXPECT_EQ(u(o[8 * i + 5]), static_cast<std::uint32_t>(static_cast<std::uint64_t>(A) * static_cast<std::uint64_t>(B))) << i;
        EXPECT_EQ(o[8 * i + 6], ftoi) << i;
        EXPECT_EQ(o[8 * i + 7], 99) << i;  // the lane stopped at the load: nothing stored
    }
}

// The unsigned ops, neg/not and the immediate forms against plain C++ on
// uint32_t: lanes are 32-bit bit patterns, divu/remu by 0 give 0.
TEST(CpuKernels, UnsignedAndImmediateOpsMatchScalarReferences) {
    Module m = assemble_ok(R"(
.kernel u (in a: i32[i], in b: i32[i], out o: i32[])
        gid     r0
        ld      r1, a[r0]
        ld      r2, b[r0]
        muli    r10, r0, 12
        divu    r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        remu    r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        ltu     r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        leu     r3, r1, r2
        st      o[r10], r3
        addi    r10, r10, 1
        neg     r3, r1
        st      o[r10], r3
        addi    r10, r10, 1
        not     r3, r1
        st      o[r10], r3
        addi    r10, r10, 1
        andi    r3, r1, 0xF0F0F0F0
        st      o[r10], r3
        addi    r10, r10, 1
        ori     r3, r1, 0x80000000
        st      o[r10], r3
        addi    r10, r10, 1
        xori    r3, r1, 0x9E3779B1
        st      o[r10], r3
        addi    r10, r10, 1
        shli    r3, r1, 31
        st      o[r10], r3
        addi    r10, r10, 1
        shri    r3, r1, 31
        st      o[r10], r3
        addi    r10, r10, 1
        sari    r3, r1, 31
        st      o[r10], r3
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    const auto i32 = [](std::uint32_t v) { return static_cast<std::int32_t>(v); };
    std::vector<std::int32_t> a = {INT32_MIN, -1, 7, 0, 5, INT32_MAX, i32(0x9E3779B1u), -7};
    std::vector<std::int32_t> b = {-1, 0, 2, 3, -2, 1, 0x10000, 7};
    const std::size_t n = a.size();
    std::vector<std::int32_t> o(12 * n, 99);
    KernelLaunch l = test::whole_launch(m.kernels[0],
                                        {test::buffer_arg(a, ElemType::I32), test::buffer_arg(b, ElemType::I32),
                                         test::buffer_arg(o, ElemType::I32)},
                                        n);
    EXPECT_FALSE(run_kernel_launch(l));
    for (std::size_t i = 0; i < n; ++i) {
        const auto A = static_cast<std::uint32_t>(a[i]), B = static_cast<std::uint32_t>(b[i]);
        const std::int32_t want[12] = {i32(B == 0 ? 0 : A / B), i32(B == 0 ? 0 : A % B), A < B, A <= B, i32(0u - A),
                                       i32(~A), i32(A & 0xF0F0F0F0u), i32(A | 0x80000000u), i32(A ^ 0x9E3779B1u),
                                       i32(A << 31), i32(A >> 31), a[i] < 0 ? -1 : 0};
        for (std::size_t k = 0; k < 12; ++k) EXPECT_EQ(o[12 * i + k], want[k]) << "lane " << i << " result " << k;
    }
    // A few by hand, in case the reference above shares a mistake.
    EXPECT_EQ(o[12 * 1 + 0], 0);                   // divu -1 by 0
    EXPECT_EQ(o[12 * 2 + 0], 3);                   // 7 / 2
    EXPECT_EQ(o[12 * 0 + 4], INT32_MIN);           // neg INT32_MIN wraps
    EXPECT_EQ(o[12 * 7 + 2], 0);                   // 0xFFFFFFF9 < 7: no
    EXPECT_EQ(o[12 * 0 + 2], 1);                   // 0x80000000 < 0xFFFFFFFF
}

TEST(CpuKernels, HistogramWithAtaddCountsExactly) {
    Module m = assemble_ok(R"(
.kernel hist (inout h: u32[])
        gid     r0
        li      r1, 16
        rem     r2, r0, r1
        li      r3, 1
        atadd   h[r2], r3
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    std::vector<std::uint32_t> h(16, 0);
    KernelLaunch l;
    l.kernel = &m.kernels[0];
    l.args = {buffer(h.data(), h.size(), ElemType::U32)};
    // Large enough to be split over several threads when the machine has them.
    l.count = 1600000; l.begin = 0; l.end = 1600000;
    CpuBackend backend;
    EXPECT_FALSE(backend.wait(backend.submit(l)).fault);
    for (auto c : h) EXPECT_EQ(c, 100000u);
}


// Equal bit for bit, or both NaN (a NaN's payload is not part of the ABI).
bool same_float(float a, float b) {
    return std::bit_cast<std::uint32_t>(a) == std::bit_cast<std::uint32_t>(b) || (std::isnan(a) && std::isnan(b));
}

// Integers and floats worth testing every op on: zero, signs, the ends of
// i32, shift counts around 31, NaN, infinities, the ftoi saturation edges.
struct LaneData {
    std::vector<std::int32_t> ai, bi, perm;
    std::vector<float> af, bf;
};

LaneData lane_data(std::uint64_t n, std::uint32_t seed) {
    std::mt19937 rng(seed);
    const std::int32_t ints[] = {0, 1, -1, 2, -2, 7, 31, 32, 33, -32, INT32_MIN, INT32_MAX, INT32_MIN + 1, 1000, -1000};
    const float floats[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 2.5f, -2.5f, NAN, INFINITY, -INFINITY, 1e30f, -1e-30f,
                            3e9f, -3e9f, 2147483648.0f, -2147483648.0f, 1e-45f};
    LaneData d;
    d.ai.resize(n); d.bi.resize(n); d.af.resize(n); d.bf.resize(n); d.perm.resize(n);
    auto pick_int = [&] {
        return (rng() % 3 == 0) ? ints[rng() % std::size(ints)] : static_cast<std::int32_t>(rng());
    };
    auto pick_float = [&] {
        if (rng() % 3 == 0) return floats[rng() % std::size(floats)];
        return std::ldexp(static_cast<float>(static_cast<std::int32_t>(rng() % 2000001) - 1000000) / 1e6f,
                          static_cast<int>(rng() % 20) - 10);
    };
    for (std::uint64_t i = 0; i < n; ++i) {
        d.ai[i] = pick_int();
        // Small values often, so gathers and shifts land in range as well as out of it.
        d.bi[i] = rng() % 2 ? static_cast<std::int32_t>(rng() % (n + 8)) - 4 : pick_int();
        d.af[i] = pick_float();
        d.bf[i] = pick_float();
    }
    // A scatter target per lane: a permutation of [0, n), so stores never
    // collide (and, by the kernel contract, never leave the buffer).
    std::vector<std::int32_t> p(n);
    for (std::uint64_t i = 0; i < n; ++i) p[i] = static_cast<std::int32_t>(i);
    std::shuffle(p.begin(), p.end(), rng);
    for (std::uint64_t i = 0; i < n; ++i) d.perm[i] = p[i];
    return d;
}

// Result slots per lane in `oi` and in `of` (all_ops_kernel checks they suffice).
constexpr int kSlots = 128;

// The immediates every RRI op of the table is run with: any 32 bits, or a
// shift amount.
std::vector<std::string> test_immediates(const std::string& mnemonic) {
    if (is_kernel_shift_immediate(*find_kop(mnemonic))) return {"0", "1", "13", "31"};
    return {"123456", "-2147483648", "-7", "65537", "0x9E3779B1", "4294967295"};
}

// One kernel that runs every kernel op and stores each result in its own
// slot of `oi` / `of`: result k of lane g at (g - base) * kSlots + k, where
// the uniform `base` is the first lane run. The integer ops come from the
// table (every pure op of formats RRR, RR, RRI), so a new row is run here
// the day it is added.
std::string all_ops_kernel() {
    std::string s =
        ".kernel allops (in ai: i32[], in bi: i32[i], in af: f32[], in bf: f32[i], in perm: i32[i], out oi: i32[], "
        "out of: f32[], out scat: i32[], out scatf: f32[], out shifted: i32[], out shifted2: i32[], inout hist: u32[], u: i32, uf: f32, base: i32)\n";
    auto line = [&](const std::string& t) { s += "        " + t + "\n"; };
    int ints = 0, floats = 0;
    auto put_i = [&](const std::string& r) { line("st oi[r2], " + r); line("addi r2, r2, 1"); ++ints; };
    auto put_f = [&](const std::string& f) { line("stf of[r20], " + f); line("addi r20, r20, 1"); ++floats; };
    line("nop");
    line("gid r0");
    line("count r1");
    line("ldp r21, base");
    line("sub r2, r0, r21");
    line("muli r2, r2, " + std::to_string(kSlots));
    line("mov r20, r2");
    line("ld r3, ai[r0]");
    line("ld r4, bi[r0]");
    line("ldf f0, af[r0]");
    line("ldf f1, bf[r0]");
    // Data-dependent indices kept inside ai (the kernel contract): r10 from
    // r4, r13 from r3, each (x >>> 1) rem length.
    line("li r11, 1");
    line("blen r12, ai");
    line("shr r10, r4, r11");
    line("rem r10, r10, r12");
    line("shr r13, r3, r11");
    line("rem r13, r13, r12");
    put_i("r0");
    put_i("r1");
    for (const std::string& op : test::kernel_mnemonics(Format::RRR)) {
        line(op + " r5, r3, r4");
        put_i("r5");
        line(op + " r5, r4, r3");
        put_i("r5");
    }
    for (const std::string& op : test::kernel_mnemonics(Format::RR)) {
        line(op + " r5, r3");
        put_i("r5");
        line(op + " r5, r4");
        put_i("r5");
    }
    for (const std::string& op : test::kernel_mnemonics(Format::RRI)) {
        for (const std::string& imm : test_immediates(op)) {
            line(op + " r5, r3, " + imm);
            put_i("r5");
        }
    }
    for (const char* t : {"li r5, -123456", "li r5, 0x9E3779B1", "ldp r5, u", "blen r5, ai", "blen r5, oi", "ftoi r5, f0",
                          "ftoi r5, f1", "feq r5, f0, f1", "flt r5, f0, f1", "fle r5, f0, f1", "feq r5, f0, f0",
                          "ld r5, ai[r10]", "ld r5, ai[r13]"}) {
        line(t);
        put_i("r5");
    }
    // Contiguous indices partly out of range (the block fast path's edges),
    // loaded only where they are inside.
    for (const char* off : {"3", "-2", "65", "-300"}) {
        line(std::string("addi r6, r0, ") + off);
        line("lt r14, r6, r12");
        line("li r15, -1");
        line("lt r16, r15, r6");
        line("and r14, r14, r16");
        line("li r5, -9");
        line("lif f5, -9.0");
        line("if r14");
        line("ld r5, ai[r6]");
        line("ldf f5, af[r6]");
        line("end");
        put_i("r5");
        put_f("f5");
    }
    line("ldf f2, af[r10]");
    put_f("f2");
    for (const char* op : {"fadd", "fsub", "fmul", "fdiv", "fmin", "fmax", "fpow"}) {
        line(std::string(op) + " f5, f0, f1");
        put_f("f5");
        line(std::string(op) + " f5, f1, f0");
        put_f("f5");
    }
    for (const char* op : {"fneg", "fabs", "fsqrt", "ffloor", "fsin", "fcos", "fexp", "flog", "fmov"}) {
        line(std::string(op) + " f5, f0");
        put_f("f5");
    }
    for (const char* t : {"ffma f5, f0, f1, f2", "ffma f5, f1, f1, f0", "itof f5, r3", "itof f5, r4", "lif f5, 0.1",
                          "lif f5, -3.25e38", "ldpf f5, uf"}) {
        line(t);
        put_f("f5");
    }
    // Scatters (no two lanes share a target), shifted contiguous stores, atomics.
    line("ld r7, perm[r0]");
    line("st scat[r7], r3");
    line("stf scatf[r7], f0");
    line("addi r6, r0, 5");
    line("st shifted[r6], r3");
    line("addi r6, r0, -3");
    line("li r15, 2");
    line("lt r16, r15, r0");
    line("if r16");
    line("st shifted2[r6], r4");
    line("end");
    line("li r8, 15");
    line("and r8, r4, r8");
    line("atadd hist[r8], r3");
    line("atadd hist[r10], r0");
    s += ".end\n";
    EXPECT_LE(ints, kSlots) << "raise kSlots";
    EXPECT_LE(floats, kSlots) << "raise kSlots";
    return s;
}

struct AllOpsRun {
    KernelFault fault;
    std::vector<std::int32_t> oi, scat, shifted, shifted2;
    std::vector<float> of, scatf;
    std::vector<std::uint32_t> hist;
};

template <class Run>
AllOpsRun run_all_ops(const Kernel& k, LaneData& d, std::uint64_t n, std::uint64_t begin, std::uint64_t end, Run run) {
    AllOpsRun r;
    r.oi.assign(kSlots * (end - begin), -7);
    r.of.assign(kSlots * (end - begin), -7.0f);
    r.scat.assign(n, -7);
    r.scatf.assign(n, -7.0f);
    r.shifted.assign(n + 5, -7);
    r.shifted2.assign(n, -7);
    r.hist.assign(n + 16, 0);
    KernelLaunch l = test::whole_launch(
        k,
        {test::buffer_arg(d.ai, ElemType::I32), test::buffer_arg(d.bi, ElemType::I32), test::buffer_arg(d.af, ElemType::F32),
         test::buffer_arg(d.bf, ElemType::F32), test::buffer_arg(d.perm, ElemType::I32), test::buffer_arg(r.oi, ElemType::I32),
         test::buffer_arg(r.of, ElemType::F32), test::buffer_arg(r.scat, ElemType::I32), test::buffer_arg(r.scatf, ElemType::F32),
         test::buffer_arg(r.shifted, ElemType::I32), test::buffer_arg(r.shifted2, ElemType::I32), test::buffer_arg(r.hist, ElemType::U32), test::uniform_i32(-77),
         test::uniform_f32(0.25f), test::uniform_i32(static_cast<std::int32_t>(begin))},
        n);
    l.begin = begin;
    l.end = end;
    r.fault = run(l);
    return r;
}

void expect_same(const AllOpsRun& want, const AllOpsRun& got, const std::string& what) {
    ASSERT_FALSE(want.fault) << what << ": lane " << want.fault.lane << " pc " << want.fault.pc << " index " << want.fault.index;  // the kernel keeps the contract
    ASSERT_EQ(want.fault, got.fault) << what;
    ASSERT_EQ(want.oi.size(), got.oi.size());
    for (std::size_t i = 0; i < want.oi.size(); ++i) ASSERT_EQ(want.oi[i], got.oi[i]) << what << " oi[" << i << "]";
    for (std::size_t i = 0; i < want.of.size(); ++i)
        ASSERT_TRUE(same_float(want.of[i], got.of[i])) << what << " of[" << i << "]: " << want.of[i] << " vs " << got.of[i];
    EXPECT_EQ(want.scat, got.scat) << what;
    for (std::size_t i = 0; i < want.scatf.size(); ++i) ASSERT_TRUE(same_float(want.scatf[i], got.scatf[i])) << what;
    EXPECT_EQ(want.shifted, got.shifted) << what;
    EXPECT_EQ(want.shifted2, got.shifted2) << what;
    EXPECT_EQ(want.hist, got.hist) << what;
}

TEST(CpuKernels, EveryOpMatchesTheLaneReferenceAcrossBlockBoundaries) {
    Module m = assemble_ok(all_ops_kernel().c_str());
    ASSERT_EQ(m.kernels.size(), 1u);
    const Kernel& k = m.kernels[0];
    CpuBackend pool(CpuBackendOptions{3, 64, 0});  // 3 threads even on 2 cores, pooled from 64 lanes
    auto reference = [](const KernelLaunch& l) { return run_kernel_launch_lane_by_lane(l); };
    auto blocks = [](const KernelLaunch& l) { return run_kernel_launch(l); };
    auto backend = [&](const KernelLaunch& l) { return pool.wait(pool.submit(l)).fault; };
    for (std::uint64_t n : {0ull, 1ull, 63ull, 64ull, 65ull, 255ull, 256ull, 257ull, 1000003ull}) {
        LaneData d = lane_data(n, static_cast<std::uint32_t>(n));
        const std::string at = "n=" + std::to_string(n);
        // The lane reference is slow: at a million lanes it and the pool run
        // the last lanes only (count stays n).
        const std::uint64_t ref_begin = n > 10000 ? n - 5000 : 0, pool_begin = n > 10000 ? n - 70000 : 0;
        expect_same(run_all_ops(k, d, n, ref_begin, n, reference), run_all_ops(k, d, n, ref_begin, n, blocks), at + " one thread");
        expect_same(run_all_ops(k, d, n, pool_begin, n, blocks), run_all_ops(k, d, n, pool_begin, n, backend), at + " backend");
        // A piece [begin, end) whose blocks do not start at a multiple of 256.
        if (n > 40 && n < 10000)
            expect_same(run_all_ops(k, d, n, 37, n - 3, reference), run_all_ops(k, d, n, 37, n - 3, blocks), at + " piece");
    }
    EXPECT_GT(pool.pooled_submits(), 0u);
}


// Random kernels with nested if/else, loops with data-dependent trip counts,
// break/continue/exit under data-dependent conditions: lanes of one block
// take different paths (or, on conditions of gid alone, whole blocks take
// one). Registers left unloaded are read as 0, and the last results go
// straight into buffers, so what a block leaves behind shows in the next.
// Each loop counts its iterations in its own register and breaks past a
// limit, so every kernel terminates.
class RandomKernel {
public:
    // `window`: ai is a window buffer `[i..i+5]` (the six loads below are
    // inside it), and the body also loads at gid - 1 .. gid + 6, data
    // dependent: lanes that step outside the window fault.
    explicit RandomKernel(std::uint32_t seed, bool window = false) : rng_(seed), window_(window) {}

    std::string source() {
        s_ = std::string(".kernel rnd (in ai: i32") + (window_ ? "[i..i+5]" : "[]") +
             ", in af: f32[], out o: i32[], out of: f32[], out oc: i32[i], out ofc: f32[i])\n";
        line("gid r15");
        // Some registers are left unloaded: read before written, they start at 0.
        for (int r = 0; r < 6; ++r) {
            line("addi r7, r15, " + std::to_string(r));
            if (pick(3) != 0) line("ld r" + std::to_string(r) + ", ai[r7]");
            if (pick(3) != 0) line("ldf f" + std::to_string(r) + ", af[r7]");
        }
        block(0, false);
        for (int r = 0; r < 6; ++r) store("r" + std::to_string(r), "f" + std::to_string(r));
        // Results only the last stores read, at the lane's own element: in a
        // kernel without loops the interpreter writes them straight into oc, ofc.
        const bool float_last = pick(2) != 0;
        if (float_last) own_element_store("add r8, " + ri() + ", " + ri(), "st oc[r15], r8");
        own_element_store("fadd f6, " + rf() + ", " + rf(), "stf ofc[r15], f6");
        if (!float_last) own_element_store("add r8, " + ri() + ", " + ri(), "st oc[r15], r8");
        s_ += ".end\n";
        return s_;
    }

private:
    void line(const std::string& t) { s_ += "        " + t + "\n"; }
    unsigned pick(unsigned n) { return rng_() % n; }
    std::string ri() { return "r" + std::to_string(pick(6)); }
    std::string rf() { return "f" + std::to_string(pick(6)); }
    // o[gid * 8 + slot] (generic scatter path; one lane's slots only).
    void store(const std::string& r, const std::string& f) {
        line("muli r7, r15, 8");
        line("addi r7, r7, " + std::to_string(slot_++ % 8));
        line("st o[r7], " + r);
        line("stf of[r7], " + f);
    }
    void own_element_store(const std::string& op, const std::string& st) {
        line(op);
        line(st);
    }
    // On the data, or on gid alone: then runs of 32, 256 or 512 lanes
    // (whole blocks) take the same side.
    void condition() {
        static const char* cmp[] = {"lt", "le", "eq", "ne"};
        static const int runs[] = {5, 8, 9};
        switch (pick(4)) {
        case 0:
            line("li r6, " + std::to_string(pick(4) + 1));
            line("and r6, " + ri() + ", r6");
            break;
        case 1:
            line("shri r6, r15, " + std::to_string(runs[pick(3)]));
            line("andi r6, r6, 1");
            break;
        default:
            line(std::string(cmp[pick(4)]) + " r6, " + ri() + ", " + ri());
            break;
        }
    }
    // Integer ops from the table (every pure RRR, RRI and RR row), so new
    // rows join the random kernels the day they are added.
    void op() {
        static const std::vector<std::string> rrr = test::kernel_mnemonics(Format::RRR),
                                              rri = test::kernel_mnemonics(Format::RRI),
                                              rr = test::kernel_mnemonics(Format::RR);
        static const char* fops[] = {"fadd", "fsub", "fmul", "fmin", "fmax", "fdiv"};
        switch (pick(8)) {
        case 0: case 1: line(rrr[pick(rrr.size())] + " " + ri() + ", " + ri() + ", " + ri()); break;
        case 2: {
            const std::string& mn = rri[pick(rri.size())];
            const bool shift = is_kernel_shift_immediate(*find_kop(mn));
            const std::string imm = shift ? std::to_string(pick(32))
                                    : pick(2) ? std::to_string(static_cast<int>(pick(200)) - 100)
                                              : std::to_string(static_cast<std::uint32_t>(rng_()));
            line(mn + " " + ri() + ", " + ri() + ", " + imm);
            break;
        }
        case 6: line(rr[pick(rr.size())] + " " + ri() + ", " + ri()); break;
        case 3: line(std::string(fops[pick(std::size(fops))]) + " " + rf() + ", " + rf() + ", " + rf()); break;
        case 4: line("ffma " + rf() + ", " + rf() + ", " + rf() + ", " + rf()); break;
        case 5: line("itof " + rf() + ", " + ri()); break;
        default: line("ftoi " + ri() + ", " + rf()); break;
        }
    }
    // ld from ai at gid + (some register & 7) - 1: one step left of the
    // window, or past its end, for some lanes.
    void window_load() {
        line("andi r7, " + ri() + ", 7");
        line("addi r7, r7, -1");
        line("add r7, r15, r7");
        line("ld " + ri() + ", ai[r7]");
    }
    void block(int depth, bool in_loop) {
        const unsigned items = 1 + pick(5);
        for (unsigned i = 0; i < items; ++i) {
            if (window_ && pick(6) == 0) window_load();
            const unsigned what = pick(10);
            if (what < 4) {
                op();
            } else if (what == 4) {
                store(ri(), rf());
            } else if (what <= 6 && depth < 3) {
                condition();
                line("if r6");
                block(depth + 1, in_loop);
                if (pick(2)) {
                    line("else");
                    block(depth + 1, in_loop);
                }
                line("end");
            } else if (what == 7 && depth < 2) {
                const std::string counter = "r" + std::to_string(10 + depth), limit = "r" + std::to_string(20 + depth);
                line("li " + counter + ", 0");
                line("li " + limit + ", 7");
                line("and " + limit + ", " + ri() + ", " + limit);
                line("loop");
                line("addi " + counter + ", " + counter + ", 1");
                line("lt r6, " + limit + ", " + counter);
                line("if r6");
                line("break");
                line("end");
                block(depth + 1, true);
                line("end");
            } else if (what == 8 && in_loop) {
                condition();
                line("if r6");
                if (pick(2)) op();
                line(pick(2) ? "break" : "continue");
                line("end");
            } else if (what == 9 && pick(3) == 0) {
                condition();
                line("if r6");
                store(ri(), rf());
                if (pick(2)) own_element_store("mov r8, " + ri(), "st oc[r15], r8");
                line("exit");
                line("end");
            }
        }
    }

    std::mt19937 rng_;
    bool window_ = false;
    std::string s_;
    unsigned slot_ = 0;
};

TEST(CpuKernels, RandomDivergentKernelsMatchTheLaneReference) {
    CpuBackend pool(CpuBackendOptions{3, 64, 0});
    for (std::uint32_t seed = 1; seed <= 120; ++seed) {
        const std::string src = RandomKernel(seed, seed > 100).source();  // 101..120: a window buffer
        Module m = assemble_ok(src.c_str());
        ASSERT_EQ(m.kernels.size(), 1u) << src;
        for (std::uint64_t n : {1ull, 65ull, 300ull, 1500ull}) {
            LaneData d = lane_data(n + 8, seed);
            for (auto& v : d.ai) v = v % 64;  // small values: short loops, shifts of every size
            struct Out {
                std::vector<std::int32_t> o, oc;
                std::vector<float> of, ofc;
            };
            auto run = [&](auto&& how) {
                Out out{std::vector<std::int32_t>(8 * n, -7), std::vector<std::int32_t>(n, -7), std::vector<float>(8 * n, -7.0f),
                        std::vector<float>(n, -7.0f)};
                KernelLaunch l = test::whole_launch(m.kernels[0],
                                                    {test::buffer_arg(d.ai, ElemType::I32), test::buffer_arg(d.af, ElemType::F32),
                                                     test::buffer_arg(out.o, ElemType::I32), test::buffer_arg(out.of, ElemType::F32),
                                                     test::buffer_arg(out.oc, ElemType::I32), test::buffer_arg(out.ofc, ElemType::F32)},
                                                    n);
                how(l);
                return out;
            };
            KernelFault fw, fg, fp;
            const Out want = run([&](const KernelLaunch& l) { fw = run_kernel_launch_lane_by_lane(l); });
            const Out got = run([&](const KernelLaunch& l) { fg = run_kernel_launch(l); });
            const Out pooled = run([&](const KernelLaunch& l) { fp = pool.wait(pool.submit(l)).fault; });
            ASSERT_EQ(fw, fg) << "seed " << seed << " n=" << n << "\n" << src;
            ASSERT_EQ(fw, fp) << "seed " << seed << " n=" << n << "\n" << src;
            if (fw) continue;  // lanes past a fault may or may not have run
            for (const Out* o : {&got, &pooled}) {
                const char* how = o == &got ? "one thread" : "pool";
                ASSERT_EQ(want.o, o->o) << how << " seed " << seed << " n=" << n << "\n" << src;
                ASSERT_EQ(want.oc, o->oc) << how << " seed " << seed << " n=" << n << "\n" << src;
                for (std::size_t i = 0; i < want.of.size(); ++i)
                    ASSERT_TRUE(same_float(want.of[i], o->of[i])) << how << " seed " << seed << " n=" << n << " of[" << i << "]\n" << src;
                for (std::size_t i = 0; i < want.ofc.size(); ++i)
                    ASSERT_TRUE(same_float(want.ofc[i], o->ofc[i])) << how << " seed " << seed << " n=" << n << " ofc[" << i << "]\n" << src;
            }
        }
    }
}

TEST(CpuKernels, HistogramOnSeveralThreadsIsExact) {
    Module m = assemble_ok(R"(
.kernel hist (in v: i32[i], inout h: u32[])
        gid     r0
        ld      r1, v[r0]
        li      r2, 1
        atadd   h[r1], r2
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    const std::uint64_t n = 2000003;
    std::vector<std::int32_t> v(n);
    std::vector<std::uint32_t> want(37, 0);
    std::mt19937 rng(7);
    for (auto& x : v) {
        x = static_cast<std::int32_t>(rng() % 37);
        ++want[static_cast<std::size_t>(x)];
    }
    for (unsigned threads : {2u, 4u, 8u}) {
        std::vector<std::uint32_t> h(37, 0);
        CpuBackend backend(CpuBackendOptions{threads, 1, 0});
        KernelLaunch l = test::whole_launch(m.kernels[0], {test::buffer_arg(v, ElemType::I32), test::buffer_arg(h, ElemType::U32)}, n);
        EXPECT_FALSE(backend.wait(backend.submit(l)).fault);
        EXPECT_EQ(h, want) << threads << " threads";
        EXPECT_EQ(backend.pooled_submits(), 1u);
    }
}

// kloop's group folds (KernelLaunch::group_folds, vm/kernel_launch.h): per
// group of kFoldGroupLanes lanes, the integer folds of the lanes' partials
// and a `.reassociate` fadd's kFoldWays ways summed in lane order, exactly as
// the contract spells them; lanes that exit before their store add nothing,
// and nothing past the slots is written. On one thread and on several, over
// counts that end inside a group, a block and a piece; fewer than
// kFoldWays lanes are not folded.
TEST(CpuKernels, GroupFoldsFoldEachGroupsPartialsAsTheContractSays) {
    Module m = assemble_ok(R"(
.kernel parts (in xs: i64[i], in fs: f64[i], out pi: i64[i], out pf: f64[i])
        .wide
        gid     r0
        ld      r1, xs[r0]
        li      r2, -400000
        lt      r3, r1, r2
        if      r3
            exit
        end
        st      pi[r0], r1
        ldf     f1, fs[r0]
        stf     pf[r0], f1
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    constexpr std::int64_t kSentinel = 0x5EED;
    for (ReduceOp op : {ReduceOp::Add, ReduceOp::Min, ReduceOp::Max}) {
        for (std::uint64_t n : {7ull, 8ull, 511ull, 512ull, 513ull, 5000ull, 100003ull}) {
            for (unsigned threads : {1u, 2u}) {
                SCOPED_TRACE("op " + std::to_string(static_cast<int>(op)) + ", " + std::to_string(n) + " lanes, " +
                             std::to_string(threads) + " threads");
                std::vector<std::int64_t> xs(n), pi(n, kSentinel);
                std::vector<double> fs(n), pf(n, std::bit_cast<double>(kSentinel));
                for (std::uint64_t i = 0; i < n; ++i) {
                    xs[i] = static_cast<std::int64_t>((i * 2654435761ull) % 1000003) - 500000;
                    fs[i] = 0.1 * static_cast<double>(i) + 1.0 / 3.0;  // inexact: the order of the adds shows
                }
                KernelLaunch l = test::whole_launch(m.kernels[0],
                                                    {test::buffer_arg(xs, ElemType::I64), test::buffer_arg(fs, ElemType::F64),
                                                     test::buffer_arg(pi, ElemType::I64), test::buffer_arg(pf, ElemType::F64)},
                                                    n);
                l.group_folds = {{2, op}, {3, ReduceOp::FaddAnyOrder}};
                CpuBackend backend(CpuBackendOptions{threads, 1, 0});
                if (n < kFoldWays) {  // a buffer of a lane's room each has no room for the ways
                    EXPECT_FALSE(backend.folds_groups(l));
                    continue;
                }
                ASSERT_TRUE(backend.folds_groups(l));
                ASSERT_FALSE(backend.wait(backend.submit(l)).fault);
                const std::uint64_t groups = (n + kFoldGroupLanes - 1) / kFoldGroupLanes;
                for (std::uint64_t g = 0; g < groups; ++g) {
                    std::int64_t acc = op == ReduceOp::Add ? 0
                                       : op == ReduceOp::Min ? std::numeric_limits<std::int64_t>::max()
                                                             : std::numeric_limits<std::int64_t>::min();
                    double ways[kFoldWays];
                    std::fill_n(ways, kFoldWays, -0.0);
                    for (std::uint64_t j = g * kFoldGroupLanes; j < std::min(n, (g + 1) * kFoldGroupLanes); ++j) {
                        if (xs[j] < -400000) continue;  // it exits: no partial
                        acc = op == ReduceOp::Add ? static_cast<std::int64_t>(static_cast<std::uint64_t>(acc) + static_cast<std::uint64_t>(xs[j]))
                              : op == ReduceOp::Min ? std::min(acc, xs[j])
                                                    : std::max(acc, xs[j]);
                        ways[j % kFoldWays] += fs[j];
                    }
                    ASSERT_EQ(pi[g], acc) << "group " << g;
                    for (unsigned w = 0; w < kFoldWays && g * kFoldWays + w < n; ++w)
                        ASSERT_EQ(std::bit_cast<std::uint64_t>(pf[g * kFoldWays + w]), std::bit_cast<std::uint64_t>(ways[w]))
                            << "group " << g << " way " << w;
                }
                for (std::uint64_t j = groups; j < n; ++j) ASSERT_EQ(pi[j], kSentinel) << j;
                for (std::uint64_t j = groups * kFoldWays; j < n; ++j) ASSERT_EQ(std::bit_cast<std::int64_t>(pf[j]), kSentinel) << j;
            }
        }
    }
}

TEST(CpuKernels, ALoadSeesTheValueBeforeALaterStoreToTheSameRegion) {
    // x and z are one region: the interpreter must not read x in place.
    Module m = assemble_ok(R"(
.kernel alias (in x: f32[i], out z: f32[i], out w: f32[i])
        gid     r0
        ldf     f0, x[r0]
        lif     f1, 5.0
        stf     z[r0], f1
        stf     w[r0], f0
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    const std::uint64_t n = 100000;
    std::vector<float> xz(n), w(n, -1.0f);
    for (std::uint64_t i = 0; i < n; ++i) xz[i] = static_cast<float>(i);
    CpuBackend backend(CpuBackendOptions{2, 1, 0});
    backend.wait(backend.submit(test::whole_launch(
        m.kernels[0], {test::buffer_arg(xz, ElemType::F32), test::buffer_arg(xz, ElemType::F32), test::buffer_arg(w, ElemType::F32)}, n)));
    for (std::uint64_t i = 0; i < n; ++i) {
        ASSERT_EQ(w[i], static_cast<float>(i)) << i;
        ASSERT_EQ(xz[i], 5.0f) << i;
    }
}


TEST(CpuKernels, ResultsStoredStraightToBuffersMatchTheLaneReference) {
    // fadd's result is stored and read again (not fused); fmul's and mul's
    // only stored (fused into the store when the range is whole); o is a
    // whole buffer stored at gid + 3, so its stores take the checked path.
    Module m = assemble_ok(R"(
.kernel fuse (in x: f32[i], out z: f32[i], out w: f32[i], out o: i32[])
        gid     r0
        ldf     f0, x[r0]
        fadd    f1, f0, f0
        stf     z[r0], f1
        fmul    f2, f1, f0
        stf     w[r0], f2
        addi    r1, r0, 3
        mul     r2, r1, r0
        st      o[r1], r2
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    for (std::uint64_t n : {1ull, 255ull, 256ull, 257ull, 5000ull}) {
        std::vector<float> x(n);
        for (std::uint64_t i = 0; i < n; ++i) x[i] = 0.25f * static_cast<float>(i) - 3.0f;
        auto run = [&](auto&& how) {
            std::vector<float> z(n, -1.0f), w(n, -1.0f);
            std::vector<std::int32_t> o(n + 3, -1);
            how(test::whole_launch(m.kernels[0], {test::buffer_arg(x, ElemType::F32), test::buffer_arg(z, ElemType::F32),
                                                  test::buffer_arg(w, ElemType::F32), test::buffer_arg(o, ElemType::I32)}, n));
            return std::tuple{z, w, o};
        };
        const auto want = run([](const KernelLaunch& l) { run_kernel_launch_lane_by_lane(l); });
        EXPECT_EQ(want, run([](const KernelLaunch& l) { run_kernel_launch(l); })) << n;
        CpuBackend pool(CpuBackendOptions{3, 1, 0});
        EXPECT_EQ(want, run([&](const KernelLaunch& l) { pool.wait(pool.submit(l)); })) << n;
    }
}

// The block interpreter keeps its masks as constants while a block's lanes
// take one path (lane_masks.h): lanes that all take one side of an `if`, all
// break at once, all fault at once or all run out of iterations together
// must end as the lane reference's do, and so must the same kernel when the
// lanes diverge, or agree within a block but not across blocks. The wide
// build of the same kernel (small values: the same results) too.
TEST(CpuKernels, ConvergedAndDivergentLanesMatchTheLaneReference) {
    const std::string body = R"(
        gid     r0
        ld      r1, v[r0]           ; this lane's trip count
        ldp     r2, cut             ; every lane breaks once k reaches cut
        li      r3, 0               ; k
        li      r5, 0
        loop
            lt      r6, r3, r1
            if      r6
            else
                break
            end
            andi    r7, r3, 1
            if      r7
                add     r5, r5, r3
                st      w[r3], r5   ; checked: past w's end the lane faults
            else
                addi    r5, r5, 3
            end
            eq      r8, r3, r2
            if      r8
                break
            end
            addi    r3, r3, 1
            li      r9, 5
            lt      r8, r9, r3
            if      r8
                continue
            end
            addi    r5, r5, 1
        end
        st      o[r0], r5
.end
)";
    const std::string head = ".kernel uni (in v: i32[i], out o: i32[i], out w: i32[], cut: i32)\n";
    Module narrow = assemble_ok((head + body).c_str());
    Module wide = assemble_ok((head + "        .wide\n" + body).c_str());
    ASSERT_EQ(narrow.kernels.size(), 1u);
    ASSERT_EQ(wide.kernels.size(), 1u);
    const std::uint64_t n = 700;  // whole blocks of every size and a piece of one
    struct Case {
        const char* what;
        std::int32_t (*trips)(std::uint64_t lane);
        std::int32_t cut;
        std::uint64_t w_length;
        std::uint32_t budget;
        bool faults;
    };
    const Case cases[] = {
        {"all lanes alike", [](std::uint64_t) { return 8; }, 100, 16, kDefaultKernelSteps, false},
        {"all break at cut together", [](std::uint64_t) { return 50; }, 4, 16, kDefaultKernelSteps, false},
        {"lanes diverge", [](std::uint64_t g) { return static_cast<std::int32_t>(g % 13); }, 100, 16, kDefaultKernelSteps, false},
        {"alike within 32 lanes", [](std::uint64_t g) { return static_cast<std::int32_t>(g / 32 % 11); }, 100, 16,
         kDefaultKernelSteps, false},
        {"all fault in a branch together", [](std::uint64_t) { return 12; }, 100, 9, kDefaultKernelSteps, true},
        {"lanes from 300 fault", [](std::uint64_t g) { return g >= 300 ? 12 : 6; }, 100, 9, kDefaultKernelSteps, true},
        {"all run out of iterations together", [](std::uint64_t) { return 20; }, 100, 32, 7, true},
        {"some run out of iterations", [](std::uint64_t g) { return g % 3 == 2 ? 20 : 3; }, 100, 32, 10, true},
        {"run out after diverging", [](std::uint64_t g) { return static_cast<std::int32_t>(g % 13); }, 100, 32, 9, true},
    };
    for (const Case& c : cases) {
        std::vector<std::int32_t> v(n);
        for (std::uint64_t g = 0; g < n; ++g) v[g] = c.trips(g);
        auto run = [&](const Kernel& k, auto&& how) {
            std::pair<std::vector<std::int32_t>, std::vector<std::int32_t>> out{std::vector<std::int32_t>(n, -7),
                                                                                std::vector<std::int32_t>(c.w_length, -7)};
            KernelLaunch l = test::whole_launch(k, {test::buffer_arg(v, ElemType::I32), test::buffer_arg(out.first, ElemType::I32),
                                                    test::buffer_arg(out.second, ElemType::I32), test::uniform_i32(c.cut)},
                                                n);
            l.max_iterations = c.budget;
            const KernelFault f = how(l);
            return std::pair{f, out};
        };
        const auto want = run(narrow.kernels[0], [](const KernelLaunch& l) { return run_kernel_launch_lane_by_lane(l); });
        EXPECT_EQ(static_cast<bool>(want.first), c.faults) << c.what;
        for (const Kernel* k : {&narrow.kernels[0], &wide.kernels[0]}) {
            const auto got = run(*k, [](const KernelLaunch& l) { return run_kernel_launch(l); });
            ASSERT_EQ(want.first, got.first) << c.what << (k->wide ? " (wide)" : "");
            if (want.first) continue;  // lanes past a fault may or may not have run
            EXPECT_EQ(want.second, got.second) << c.what << (k->wide ? " (wide)" : "");
        }
    }
}

}  // namespace
}  // namespace polymer
