// CpuBackend: tickets in flight at once and waited for in any order,
// wait_all, the inline/pool boundary, the overlap safety net, several
// submitting threads, one-thread mode.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "tests/vm/kernel_test_util.h"
#include "vm/backend.h"

namespace polymer {
namespace {

Module assemble_ok(const std::string& src) {
    std::string errors;
    std::optional<Module> m = test::assemble_kernels(src, &errors);
    EXPECT_TRUE(m) << errors;
    return m ? *m : Module{};
}

// z[i] = x[i] * 2 + 1 (exact in binary32 for the small integers used here).
constexpr const char* kTwiceKernel = R"(
.kernel twice (in x: f32[i], out z: f32[i])
        gid     r0
        ldf     f0, x[r0]
        fadd    f1, f0, f0
        lif     f2, 1.0
        fadd    f1, f1, f2
        stf     z[r0], f1
.end
)";

std::vector<float> iota_floats(std::size_t n, float start) {
    std::vector<float> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = start + static_cast<float>(i % 1000);
    return v;
}

KernelLaunch twice(const Module& m, std::vector<float>& x, std::vector<float>& z) {
    return test::whole_launch(m.kernels[0], {test::buffer_arg(x, ElemType::F32), test::buffer_arg(z, ElemType::F32)}, x.size());
}

VectorOpArgs vsum(std::vector<float>& v) {
    VectorOpArgs a;
    a.op = Op::Vsum;
    a.a = RegionView{ElemType::F32, v.data(), v.size()};
    return a;
}

TEST(CpuBackend, SeveralTicketsInFlightWaitedForInAnyOrder) {
    Module m = assemble_ok(kTwiceKernel);
    ASSERT_EQ(m.kernels.size(), 1u);
    CpuBackend backend(CpuBackendOptions{3, 1, 1});  // everything to the pool
    const std::size_t n = 300001;
    std::vector<std::vector<float>> xs, zs;
    for (int k = 0; k < 4; ++k) {
        xs.push_back(iota_floats(n, static_cast<float>(k * 10)));
        zs.emplace_back(n, -1.0f);
    }
    std::vector<Ticket> launches;
    for (int k = 0; k < 4; ++k) launches.push_back(backend.submit(twice(m, xs[k], zs[k])));
    std::vector<std::vector<float>> sums_of;
    std::vector<Ticket> sums;
    for (int k = 0; k < 3; ++k) {
        sums_of.emplace_back(100000 + 1000 * k, 0.5f);
        sums.push_back(backend.submit(vsum(sums_of.back())));
    }
    EXPECT_EQ(backend.pooled_submits(), 7u);
    // Reductions and launches, out of submission order.
    for (int k : {2, 0, 1}) EXPECT_EQ(backend.wait(sums[k]).float_value, 0.5 * sums_of[k].size()) << k;
    for (int k : {3, 1, 0, 2}) {
        backend.wait(launches[k]);
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(zs[k][i], xs[k][i] * 2 + 1) << k << " " << i;
    }
    // A ticket waited for twice, or never given out: nothing to hand back.
    EXPECT_EQ(backend.wait(sums[0]).float_value, 0.0);
    EXPECT_EQ(backend.wait(9999).float_value, 0.0);
}

TEST(CpuBackend, WaitAllFinishesEverythingAndDropsResults) {
    Module m = assemble_ok(kTwiceKernel);
    ASSERT_EQ(m.kernels.size(), 1u);
    CpuBackend backend(CpuBackendOptions{2, 1, 1});
    std::vector<float> x = iota_floats(200000, 3), z(x.size(), -1), w(x.size(), -1), s(50000, 2.0f);
    backend.submit(twice(m, x, z));
    backend.submit(twice(m, x, w));  // reads x too: no conflict, may overlap the first
    const Ticket sum = backend.submit(vsum(s));
    backend.wait_all();
    for (std::size_t i = 0; i < x.size(); ++i) {
        ASSERT_EQ(z[i], x[i] * 2 + 1) << i;
        ASSERT_EQ(w[i], x[i] * 2 + 1) << i;
    }
    EXPECT_EQ(backend.wait(sum).float_value, 0.0);  // dropped by wait_all, as on Vulkan
    backend.wait_all();  // nothing in flight: returns at once
}

TEST(CpuBackend, SmallWorkRunsInlineAndLargeWorkOnThePool) {
    Module m = assemble_ok(kTwiceKernel);
    ASSERT_EQ(m.kernels.size(), 1u);
    CpuBackend backend(CpuBackendOptions{2, 1000, 5000});
    for (std::size_t n : {999u, 1000u}) {
        std::vector<float> x = iota_floats(n, 1), z(n, -1);
        const std::uint64_t before = backend.pooled_submits();
        backend.wait(backend.submit(twice(m, x, z)));
        EXPECT_EQ(backend.pooled_submits() - before, n < 1000 ? 0u : 1u) << n;
        for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(z[i], x[i] * 2 + 1) << n << " " << i;
    }
    for (std::size_t n : {4999u, 5000u}) {
        std::vector<float> v(n, 0.25f);
        const std::uint64_t before = backend.pooled_submits();
        EXPECT_EQ(backend.wait(backend.submit(vsum(v))).float_value, 0.25 * n);
        EXPECT_EQ(backend.pooled_submits() - before, n < 5000 ? 0u : 1u) << n;
    }
    // The defaults: a one-lane launch never wakes a worker.
    CpuBackend defaults;
    std::vector<float> x1(1, 4.0f), z1(1, 0.0f);
    defaults.wait(defaults.submit(twice(m, x1, z1)));
    EXPECT_EQ(z1[0], 9.0f);
    EXPECT_EQ(defaults.pooled_submits(), 0u);
}

// A kernel replaced at the same address by one with the same IR but other
// buffer types (a module freed and the next one assembled where it was:
// exit_lanes_test saw it on the pool) is decoded afresh, not run as the old
// one: its f64 stores stay f64.
TEST(CpuBackend, AKernelReplacedAtItsAddressIsDecodedAfresh) {
    auto wide = [](const char* type) {
        return std::string(".kernel copy (in x: ") + type + "[i], out y: " + type + "[i])\n        .wide\n" +
               "        gid     r0\n        ldf     f0, x[r0]\n        stf     y[r0], f0\n.end\n";
    };
    const Module m32 = assemble_ok(wide("f32")), m64 = assemble_ok(wide("f64"));
    ASSERT_EQ(m32.kernels.at(0).code, m64.kernels.at(0).code);  // the IR alone cannot tell them apart
    CpuBackend backend(CpuBackendOptions{2, 1, 1});
    Kernel k = m32.kernels.at(0);
    std::vector<float> x32(5000, 1.5f), y32(5000, 0.0f);
    backend.wait(backend.submit(test::whole_launch(k, {test::buffer_arg(x32, ElemType::F32), test::buffer_arg(y32, ElemType::F32)}, 5000)));
    EXPECT_EQ(y32[4999], 1.5f);
    k = m64.kernels.at(0);  // same address
    std::vector<double> x64(5000, 2.25), y64(5000, 0.0);
    backend.wait(backend.submit(test::whole_launch(k, {test::buffer_arg(x64, ElemType::F64), test::buffer_arg(y64, ElemType::F64)}, 5000)));
    for (std::size_t i = 0; i < y64.size(); ++i) ASSERT_EQ(y64[i], 2.25) << i;
}

TEST(CpuBackend, OneThreadRunsEverythingInline) {
    Module m = assemble_ok(kTwiceKernel);
    ASSERT_EQ(m.kernels.size(), 1u);
    CpuBackend backend(CpuBackendOptions{1, 1, 1});
    std::vector<float> x = iota_floats(100000, 0), z(x.size(), -1);
    backend.wait(backend.submit(twice(m, x, z)));
    EXPECT_EQ(backend.pooled_submits(), 0u);
    EXPECT_EQ(z[99999], x[99999] * 2 + 1);
}

TEST(CpuBackend, OverlappingSubmitsKeepTheirOrder) {
    Module m = assemble_ok(kTwiceKernel);
    ASSERT_EQ(m.kernels.size(), 1u);
    CpuBackend backend(CpuBackendOptions{3, 1, 1});
    const std::size_t n = 1000003;
    std::vector<float> x = iota_floats(n, 0), z(n, -1), w(n, -1);
    // z := 2x+1, then w := 2z+1 reads it (read after write), then x := 2w+1
    // overwrites the first one's input (write after read), all without waiting.
    const Ticket a = backend.submit(twice(m, x, z));
    const Ticket b = backend.submit(twice(m, z, w));
    const Ticket c = backend.submit(twice(m, w, x));
    backend.wait(c);
    backend.wait(a);
    backend.wait(b);
    for (std::size_t i = 0; i < n; ++i) {
        const float x0 = static_cast<float>(i % 1000);
        ASSERT_EQ(z[i], x0 * 2 + 1) << i;
        ASSERT_EQ(w[i], z[i] * 2 + 1) << i;
        ASSERT_EQ(x[i], w[i] * 2 + 1) << i;
    }
}

TEST(CpuBackend, SeveralThreadsSubmitToOneBackend) {
    Module m = assemble_ok(kTwiceKernel);
    ASSERT_EQ(m.kernels.size(), 1u);
    CpuBackend backend(CpuBackendOptions{3, 5000, 0});  // some launches inline, some pooled
    std::vector<std::thread> threads;
    std::vector<int> bad(4, 0);
    for (int t = 0; t < 4; ++t)
        threads.emplace_back([&, t] {
            for (int k = 0; k < 20; ++k) {
                const std::size_t n = 1000 + 3000 * static_cast<std::size_t>(k % 4);
                std::vector<float> x = iota_floats(n, static_cast<float>(t)), z(n, -1);
                backend.wait(backend.submit(twice(m, x, z)));
                for (std::size_t i = 0; i < n; ++i) bad[t] += z[i] != x[i] * 2 + 1;
            }
        });
    for (auto& th : threads) th.join();
    EXPECT_EQ(bad, std::vector<int>(4, 0));
}

TEST(CpuBackend, DestroyingTheBackendFinishesTicketsInFlight) {
    Module m = assemble_ok(test::kSaxpyKernel);
    ASSERT_EQ(m.kernels.size(), 1u);
    const std::size_t n = 500000;
    std::vector<float> x(n, 1.5f), y(n, 2.0f), z(n, 0.0f);
    {
        CpuBackend backend(CpuBackendOptions{2, 1, 1});
        backend.submit(test::saxpy_launch(m.kernels[0], x, y, z, 2.0f));
    }
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(z[i], 5.0f) << i;
}

}  // namespace
}  // namespace polymer
