// The same vector ops and kernels on VulkanBackend (lavapipe here) and on
// CpuBackend give the same results: integers bit for bit, floats within a
// stated tolerance (element-wise: relative 1e-6, i.e. a few binary32 ulps, for
// a GPU's fused or differently rounded arithmetic; reductions: relative 1e-4
// of the sum of magnitudes, since a GPU adds in a different order). Sizes
// 0, 1, 255, 256, 257 (workgroup edges) and 1,000,003, random data.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "vm/backend.h"
#include "vm/vulkan/vulkan_backend.h"

namespace polymer {
namespace {

const std::uint64_t kSizes[] = {0, 1, 255, 256, 257, 1'000'003};

std::unique_ptr<VulkanBackend>& vulkan() {
    static std::unique_ptr<VulkanBackend> vk = [] {
        VulkanBackendOptions o;
        o.pipeline_cache_enabled = false;
        if (std::getenv("POLYMER_VK_VALIDATION") == nullptr) o.validation = true;
        auto r = VulkanBackend::create(o);
        return r.ok() ? std::move(r).value() : nullptr;
    }();
    return vk;
}

template <typename T>
std::vector<T> random_data(std::uint64_t n, std::uint32_t seed) {
    std::mt19937 gen(seed);
    std::vector<T> v(n);
    for (auto& x : v) {
        if constexpr (std::is_floating_point_v<T>)
            x = std::uniform_real_distribution<T>(-4, 4)(gen);
        else
            x = static_cast<T>(std::uniform_int_distribution<std::int32_t>(-100000, 100000)(gen));
    }
    return v;
}

template <typename T>
RegionView view(std::vector<T>& v) {
    return RegionView{std::is_floating_point_v<T> ? ElemType::F32 : ElemType::I32, v.empty() ? nullptr : v.data(),
                      v.size()};
}

bool close(double a, double b, double scale, double rel) {
    if (a == b) return true;  // also inf == inf (min/max of nothing)
    return std::fabs(a - b) <= rel * scale + 1e-30;
}

template <typename T>
void compare_elementwise(Op op, std::uint64_t n, int operands) {
    std::vector<T> a = random_data<T>(n, 1), b = random_data<T>(n, 2), c = random_data<T>(n, 3);
    std::vector<T> on_cpu(n), on_vk(n);
    VectorOpArgs x;
    x.op = op;
    x.a = view(a);
    if (operands >= 2) x.b = view(b);
    if (operands >= 3) x.c = view(c);
    x.float_scalar = 1.5;
    x.int_scalar = 7;
    x.dst = view(on_cpu);
    ASSERT_EQ(check_vector_op(x), nullptr) << op_info(op).mnemonic;
    CpuBackend cpu;
    cpu.wait(cpu.submit(x));
    x.dst = view(on_vk);
    vulkan()->wait(vulkan()->submit(x));
    for (std::uint64_t i = 0; i < n; ++i) {
        if constexpr (std::is_floating_point_v<T>) {
            // Scale: the operands' magnitudes, so cancellation in a fused op stays within tolerance.
            const double scale = std::fabs(a[i]) + std::fabs(b[i]) + std::fabs(c[i]) * (1 + std::fabs(a[i]));
            ASSERT_TRUE(close(on_cpu[i], on_vk[i], op == Op::Vdiv ? std::fabs(on_cpu[i]) : scale, 1e-6))
                << op_info(op).mnemonic << " n=" << n << " i=" << i << ": " << on_cpu[i] << " vs " << on_vk[i];
        } else {
            ASSERT_EQ(on_cpu[i], on_vk[i]) << op_info(op).mnemonic << " n=" << n << " i=" << i;
        }
    }
}

template <typename T>
void compare_reduction(Op op, std::uint64_t n, int operands) {
    std::vector<T> a = random_data<T>(n, 4), b = random_data<T>(n, 5);
    VectorOpArgs x;
    x.op = op;
    x.a = view(a);
    if (operands >= 2) x.b = view(b);
    ASSERT_EQ(check_vector_op(x), nullptr) << op_info(op).mnemonic;
    CpuBackend cpu;
    const VectorOpResult r_cpu = cpu.wait(cpu.submit(x));
    const VectorOpResult r_vk = vulkan()->wait(vulkan()->submit(x));
    if constexpr (std::is_floating_point_v<T>) {
        double magnitude = 1;
        for (std::uint64_t i = 0; i < n; ++i) magnitude += std::fabs(double(a[i]) * (operands >= 2 ? b[i] : 1));
        EXPECT_TRUE(close(r_cpu.float_value, r_vk.float_value, magnitude, 1e-4))
            << op_info(op).mnemonic << " n=" << n << ": " << r_cpu.float_value << " vs " << r_vk.float_value;
    } else {
        EXPECT_EQ(r_cpu.int_value, r_vk.int_value) << op_info(op).mnemonic << " n=" << n;
    }
}

class BackendDifferential : public ::testing::Test {
protected:
    void SetUp() override {
        if (!vulkan()) GTEST_SKIP() << "no Vulkan device";
    }
    // CTest runs these with POLYMER_VK_VALIDATION=1: the layers must see no error.
    void TearDown() override {
        if (vulkan()) {
            EXPECT_EQ(vulkan()->context().validation_errors(), 0u);
        }
    }
};

TEST_F(BackendDifferential, ElementwiseVectorOps) {
    for (std::uint64_t n : kSizes) {
        for (Op op : {Op::Vadd, Op::Vsub, Op::Vmul, Op::Vmin, Op::Vmax}) {
            compare_elementwise<std::int32_t>(op, n, 2);
            compare_elementwise<float>(op, n, 2);
        }
        compare_elementwise<float>(Op::Vdiv, n, 2);
        compare_elementwise<float>(Op::Vfma, n, 3);
        compare_elementwise<float>(Op::Vscale, n, 1);
        compare_elementwise<std::int32_t>(Op::Vcopy, n, 1);
        compare_elementwise<float>(Op::Viota, n, 0);
        compare_elementwise<std::int32_t>(Op::Viota, n, 0);
        compare_elementwise<std::int32_t>(Op::Vfill, n, 0);
        compare_elementwise<float>(Op::Vfillf, n, 0);
    }
}

TEST_F(BackendDifferential, Reductions) {
    for (std::uint64_t n : kSizes) {
        compare_reduction<float>(Op::Vsum, n, 1);
        compare_reduction<float>(Op::Vdot, n, 2);
        compare_reduction<float>(Op::Vredmin, n, 1);
        compare_reduction<float>(Op::Vredmax, n, 1);
        compare_reduction<std::int32_t>(Op::Vsumi, n, 1);
        compare_reduction<std::int32_t>(Op::Vredmini, n, 1);
        compare_reduction<std::int32_t>(Op::Vredmaxi, n, 1);
    }
}

// The kernels of samples 10 (saxpy) and 12 (histogram, atadd).
const char* kKernels =
    ".kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)\n"
    "        gid r0\n        ldf f0, x[r0]\n        ldf f1, y[r0]\n        ldpf f2, a\n"
    "        ffma f3, f2, f0, f1\n        stf z[r0], f3\n.end\n"
    ".kernel histogram (in x: i32[i], inout hist: i32[], bins: i32)\n"
    "        gid r0\n        ld r1, x[r0]\n        ldp r3, bins\n        rem r2, r1, r3\n"
    "        li r4, 1\n        atadd hist[r2], r4\n.end\n"
    ".proc main\n        halt\n.end\n";

TEST_F(BackendDifferential, SampleKernels) {
    AssembleResult assembled = assemble(kKernels, {});
    ASSERT_TRUE(assembled.ok());
    const Module& m = *assembled.module;
    for (std::uint64_t n : kSizes) {
        std::vector<float> x = random_data<float>(n, 6), y = random_data<float>(n, 7);
        std::vector<float> z_cpu(n), z_vk(n);
        KernelLaunch l;
        l.kernel = &m.kernels[0];
        l.kernel_index = 0;
        l.count = l.end = n;
        const float a = 2.5f;
        KernelArg ua;
        std::memcpy(&ua.uniform, &a, 4);
        auto buf = [](std::vector<float>& v) { return KernelArg{v.empty() ? nullptr : v.data(), v.size(), ElemType::F32, 0}; };
        l.args = {buf(x), buf(y), buf(z_cpu), ua};
        CpuBackend cpu;
        cpu.wait(cpu.submit(l));
        l.args[2] = buf(z_vk);
        ASSERT_TRUE(vulkan()->can_run(l));
        vulkan()->wait(vulkan()->submit(l));
        for (std::uint64_t i = 0; i < n; ++i)
            ASSERT_TRUE(close(z_cpu[i], z_vk[i], 2.5 * std::fabs(x[i]) + std::fabs(y[i]), 1e-6)) << "saxpy n=" << n << " i=" << i;

        std::vector<std::int32_t> data = random_data<std::int32_t>(n, 8);
        for (auto& v : data) v = std::abs(v);
        std::vector<std::int32_t> h_cpu(17), h_vk(17);
        KernelLaunch h;
        h.kernel = &m.kernels[1];
        h.kernel_index = 1;
        h.count = h.end = n;
        auto ibuf = [](std::vector<std::int32_t>& v) { return KernelArg{v.empty() ? nullptr : v.data(), v.size(), ElemType::I32, 0}; };
        KernelArg bins;
        bins.uniform = 17;
        h.args = {ibuf(data), ibuf(h_cpu), bins};
        cpu.wait(cpu.submit(h));
        h.args[1] = ibuf(h_vk);
        vulkan()->wait(vulkan()->submit(h));
        EXPECT_EQ(h_cpu, h_vk) << "histogram n=" << n;
    }
}

}  // namespace
}  // namespace polymer
