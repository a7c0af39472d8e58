// The CPU kernel executor against plain C++ references, per lane.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
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
    for (std::uint64_t n : {0ull, 1ull, 255ull, 256ull, 257ull, 100003ull}) {
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

}  // namespace
}  // namespace polymer
