// polymer_vulkan_bench [N]: times vadd and vsum on f32 over N elements (default
// 1M) through VulkanVectorOps (upload + dispatch + download, best of 10)
// next to a plain CPU loop; then a saxpy kernel (tests/vulkan/kernels/saxpy.comp)
// through VulkanBackend at 1M and 16M elements next to the same C++ loop, and
// a one-element launch next to a bare one-element dispatch. Prints one line
// per measurement.
#include <algorithm>
#include <chrono>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <vector>

#include "tests/vulkan/bare_dispatch.h"
#include "tests/vulkan/test_kernels.h"
#include "vm/vulkan/vulkan_backend.h"
#include "vm/vulkan/vulkan_vector_ops.h"

using namespace polymer;

template <class F>
double best_us(F&& f, int reps = 10) {
    double best = 1e300;
    for (int i = 0; i < reps; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

using test::bare_dispatch_us;  // tests/vulkan/bare_dispatch.h

int bench_kernels() {
    VulkanBackendOptions o;
    o.pipeline_cache_enabled = false;
    o.kernel_spirv = test::hand_written_spirv;
    auto backend = VulkanBackend::create(o);
    if (!backend) { std::fprintf(stderr, "error: %s\n", backend.error().c_str()); return 1; }
    VulkanBackend& vb = *backend.value();
    Kernel k = test::load_kernel("saxpy", {test::buffer_param("x", Access::In, ElemType::F32),
                                           test::buffer_param("y", Access::InOut, ElemType::F32),
                                           test::uniform_param("a", ElemType::F32)});
    auto run = [&](std::vector<float>& x, std::vector<float>& y) {
        KernelLaunch l;
        l.kernel = &k;
        l.args = {test::buffer_arg(x, ElemType::F32), test::buffer_arg(y, ElemType::F32), test::uniform_arg(0x3f800000)};
        l.count = l.end = x.size();
        vb.wait(vb.submit(l));
    };
    for (std::uint64_t n : {std::uint64_t{1} << 20, std::uint64_t{16} << 20}) {
        std::vector<float> x(n, 1.0f), y(n, 0.0f);
        double gpu = best_us([&] { run(x, y); });
        volatile float sink = 0;
        double cpu = best_us([&] {
            const float a = 1.0f;
            for (std::uint64_t i = 0; i < n; ++i) y[i] = a * x[i] + y[i];
            sink = y[n - 1];
        });
        double bare = bare_dispatch_us(vb.context(), k, *test::hand_written_spirv(k).value(), n, 10);
        auto gbs = [&](double us) { return 12.0 * n / (us * 1e3); };
        std::printf("saxpy kernel f32 n=%llu: vulkan backend %.0f us (%.2f GB/s), bare dispatch without copies %.0f us "
                    "(%.2f GB/s), cpu loop %.0f us (%.2f GB/s), backend/cpu time %.2fx\n",
                    static_cast<unsigned long long>(n), gpu, gbs(gpu), bare, gbs(bare), cpu, gbs(cpu), gpu / cpu);
    }
    std::vector<float> x1(1, 1.0f), y1(1, 0.0f);
    double launch = best_us([&] { run(x1, y1); }, 1000);
    double bare = bare_dispatch_us(vb.context(), k, *test::hand_written_spirv(k).value(), 1, 1000);
    std::printf("saxpy kernel n=1: vulkan backend %.1f us, bare dispatch %.1f us, ratio %.2fx (best of 1000)\n", launch,
                bare, launch / bare);
    return 0;
}

int main(int argc, char** argv) {
    std::uint64_t n = 1'000'000;
    if (argc > 1) std::from_chars(argv[1], argv[1] + std::strlen(argv[1]), n);
    auto ctx = vk::VulkanContext::create();
    if (!ctx) { std::fprintf(stderr, "error: %s\n", ctx.error().c_str()); return 1; }
    auto ops = vk::VulkanVectorOps::create(*ctx.value());
    if (!ops) { std::fprintf(stderr, "error: %s\n", ops.error().c_str()); return 1; }
    std::vector<float> a(n, 1.5f), b(n, 2.5f), c(n);
    RegionView va{ElemType::F32, a.data(), n}, vb{ElemType::F32, b.data(), n}, vc{ElemType::F32, c.data(), n};
    std::printf("device: %s\n", ctx.value()->device_info().name.c_str());

    double gpu_add = best_us([&] { (void)ops.value()->run({Op::Vadd, vc, va, vb}); });
    double cpu_add = best_us([&] { for (std::uint64_t i = 0; i < n; ++i) c[i] = a[i] + b[i]; });
    double gpu_sum = best_us([&] { (void)ops.value()->run({Op::Vsum, {}, va}); });
    volatile double sink = 0;
    double cpu_sum = best_us([&] { double s = 0; for (std::uint64_t i = 0; i < n; ++i) s += a[i]; sink = s; });
    std::vector<float> one(1, 1.0f), out(1);
    RegionView v1{ElemType::F32, one.data(), 1}, vo{ElemType::F32, out.data(), 1};
    double gpu_tiny = best_us([&] { (void)ops.value()->run({Op::Vadd, vo, v1, v1}); }, 1000);
    auto gbs = [&](double us, double bytes_per) { return bytes_per * n / (us * 1e3); };
    std::printf("vadd f32 n=%llu: vulkan %.0f us (%.2f GB/s), cpu loop %.0f us (%.2f GB/s)\n",
                static_cast<unsigned long long>(n), gpu_add, gbs(gpu_add, 12), cpu_add, gbs(cpu_add, 12));
    std::printf("vsum f32 n=%llu: vulkan %.0f us, cpu loop %.0f us\n", static_cast<unsigned long long>(n), gpu_sum, cpu_sum);
    std::printf("vadd f32 n=1 (launch overhead incl. buffers): %.1f us best of 1000\n", gpu_tiny);
    ops.value().reset();
    ctx.value().reset();
    return bench_kernels();
}
