// The CPU kernel executor against plain C++ references, per lane.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <climits>
#include <cstring>
#include <vector>

#include "assembler/assembler.h"
#include "vm/backend.h"
#include "vm/cpu_kernels/cpu_kernel_executor.h"

namespace polymer {
namespace {

Module assemble_ok(const char* src) {
    auto r = assemble(src);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r.module : Module{};
}

KernelArg buffer(void* data, std::uint64_t n, ElemType t) { return KernelArg{n ? data : nullptr, n, t, 0}; }

TEST(CpuKernels, SaxpyMatchesScalarFma) {
    Module m = assemble_ok(R"(
.kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        ffma    f3, f2, f0, f1
        stf     z[r0], f3
.end
)");
    ASSERT_EQ(m.kernels.size(), 1u);
    for (std::uint64_t n : {0ull, 1ull, 255ull, 256ull, 257ull, 100003ull, 1000003ull}) {
        std::vector<float> x(n), y(n), z(n, -1.0f);
        for (std::uint64_t i = 0; i < n; ++i) { x[i] = 0.1f * float(i); y[i] = 3.0f - float(i % 7); }
        const float a = 1.7f;
        std::uint32_t abits; std::memcpy(&abits, &a, 4);
        KernelLaunch l;
        l.kernel = &m.kernels[0];
        l.args = {buffer(x.data(), n, ElemType::F32), buffer(y.data(), n, ElemType::F32),
                  buffer(z.data(), n, ElemType::F32), KernelArg{nullptr, 0, ElemType::F32, abits}};
        l.count = n; l.begin = 0; l.end = n;
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
.kernel edges (in a: i32[i], in b: i32[i], in x: f32[i], out o: i32[])
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
    run_kernel_launch(l);
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
        EXPECT_EQ(o[8 * i + 7], 0) << i;  // out-of-range load
    }
}

TEST(CpuKernels, HistogramWithAtaddCountsExactly) {
    Module m = assemble_ok(R"(
.kernel hist (inout h: u32[])
        gid     r0
        li      r1, 16
        rem     r2, r0, r1
        li      r3, 1
        atadd   h[r2], r3
        li      r4, 99
        atadd   h[r4], r3
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
    backend.wait(backend.submit(l));
    for (auto c : h) EXPECT_EQ(c, 100000u);
}

}  // namespace
}  // namespace polymer
