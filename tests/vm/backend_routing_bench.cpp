// Benchmark (not a test): where lavapipe beats the CPU backend. For each op
// class the router knows (vm/backend_router.h) it times submit + wait on
// CpuBackend and on VulkanBackend (lavapipe) over growing sizes, in the same
// run, and prints the times, the ratio and the crossover: the smallest
// measured size from which lavapipe is faster at every larger measured size.
// The crossovers go into lavapipe_routing_table() (vm/backend_router.cpp) and
// docs/kernels.md.
//
//   build/bin/backend_routing_bench            # best of up to 7 per point
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "sample_kernels.h"
#include "vm/backend.h"
#include "vm/backend_router.h"
#include "vm/vulkan/vulkan_backend.h"

using namespace polymer;

namespace {

// Best wall time of up to 7 runs (fewer once 0.5 s is spent), in microseconds.
double best_us(const std::function<void()>& run) {
    run();  // warm: pipelines, buffers, pages
    double best = 1e300, spent = 0;
    for (int i = 0; i < 7 && spent < 0.5e6; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
        best = std::min(best, us);
        spent += us;
    }
    return best;
}

struct Point {
    std::uint64_t size;
    double cpu_us, vk_us;
};

void report(const char* what, RouteClass cls, const std::vector<Point>& points) {
    std::printf("\n%s (class %s)\n", what, route_class_name(cls));
    std::printf("%12s %12s %12s %10s\n", "size", "cpu us", "lavapipe us", "cpu/lvp");
    for (const Point& p : points)
        std::printf("%12llu %12.1f %12.1f %9.2fx\n", static_cast<unsigned long long>(p.size), p.cpu_us, p.vk_us,
                    p.cpu_us / p.vk_us);
    // The smallest size from which lavapipe wins at every larger measured size.
    std::uint64_t from = RoutingTable::kNever;
    for (auto it = points.rbegin(); it != points.rend() && it->vk_us < it->cpu_us; ++it) from = it->size;
    if (from == RoutingTable::kNever) std::printf("crossover: none (the CPU backend wins at every size measured)\n");
    else std::printf("crossover: lavapipe from %llu\n", static_cast<unsigned long long>(from));
}

KernelArg buffer(std::vector<float>& v) { return KernelArg{v.data(), v.size(), ElemType::F32, 0}; }
KernelArg uniform_i32(std::int32_t v) {
    KernelArg a;
    a.uniform = static_cast<std::uint32_t>(v);
    return a;
}

}  // namespace

int main() {
    VulkanBackendOptions o;
    o.pipeline_cache_enabled = false;
    o.validation = false;
    auto made = VulkanBackend::create(o);
    if (!made) {
        std::fprintf(stderr, "backend_routing_bench: no Vulkan device: %s\n", made.error().c_str());
        return 1;
    }
    VulkanBackend& vk = *made.value();
    CpuBackend cpu;
    std::printf("lavapipe: %s; the CPU backend in the same process\n", vk.device().name.c_str());

    const std::vector<std::uint64_t> sizes = {256, 1024, 4096, 16384, 65536, 262144, 1 << 20, 1 << 22};
    std::mt19937 gen(1);
    auto random_floats = [&](std::uint64_t n) {
        std::vector<float> v(n);
        for (float& x : v) x = std::uniform_real_distribution<float>(-1, 1)(gen);
        return v;
    };
    auto time_op = [&](VectorOpArgs args) {
        Point p{0, 0, 0};
        p.cpu_us = best_us([&] { cpu.wait(cpu.submit(args)); });
        p.vk_us = best_us([&] { vk.wait(vk.submit(args)); });
        return p;
    };

    for (auto [op, what, cls] : {std::tuple{Op::Vadd, "vadd f32", RouteClass::Elementwise},
                                 std::tuple{Op::Vsum, "vsum f32", RouteClass::Reduction},
                                 std::tuple{Op::Vscan, "vscan f32", RouteClass::Scan}}) {
        std::vector<Point> points;
        for (std::uint64_t n : sizes) {
            std::vector<float> a = random_floats(n), b = random_floats(n), dst(n);
            VectorOpArgs x;
            x.op = op;
            x.a = {ElemType::F32, a.data(), n};
            if (op == Op::Vadd) x.b = {ElemType::F32, b.data(), n};
            if (op != Op::Vsum) x.dst = {ElemType::F32, dst.data(), n};
            Point p = time_op(x);
            p.size = n;
            points.push_back(p);
        }
        report(what, cls, points);
    }

    {
        std::vector<Point> points;
        for (std::uint64_t n : {8, 16, 32, 64, 128, 256}) {
            std::vector<float> a = random_floats(n * n), b = random_floats(n * n), c(n * n);
            VectorOpArgs x;
            x.op = Op::Vmatmul;
            x.dst = {ElemType::F32, c.data(), n * n};
            x.a = {ElemType::F32, a.data(), n * n};
            x.b = {ElemType::F32, b.data(), n * n};
            x.int_scalar = static_cast<std::int64_t>(n);
            Point p = time_op(x);
            p.size = route_size(x);
            points.push_back(p);
        }
        report("vmatmul f32, n x n times n x n, n = 8 .. 256 (size: n^3 multiply-adds)", RouteClass::Matmul, points);
    }

    {
        // Asynchronous vector ops: 64 small independent ops submitted before
        // any is waited for, against submit + wait one at a time.
        const int ops = 64;
        std::vector<std::vector<float>> a(ops, random_floats(1024)), c(ops, std::vector<float>(1024));
        auto args = [&](int i) {
            VectorOpArgs x;
            x.op = Op::Vadd;
            x.dst = {ElemType::F32, c[i].data(), 1024};
            x.a = {ElemType::F32, a[i].data(), 1024};
            x.b = x.a;
            return x;
        };
        const double one_by_one = best_us([&] {
            for (int i = 0; i < ops; ++i) vk.wait(vk.submit(args(i)));
        });
        const double in_flight = best_us([&] {
            std::vector<Ticket> t;
            for (int i = 0; i < ops; ++i) t.push_back(vk.submit(args(i)));
            for (Ticket x : t) vk.wait(x);
        });
        // The same 64 ops recorded into one command buffer (one submit, one fence).
        auto raw = vk::VulkanVectorOps::create(vk.context());
        const std::uint32_t max_x = vk.context().limits().maxComputeWorkGroupCount[0];
        const double one_submit = best_us([&] {
            std::vector<std::unique_ptr<vk::PreparedVectorOp>> prepared;
            for (int i = 0; i < ops; ++i) prepared.push_back(std::move(raw.value()->prepare(args(i)).value()));
            (void)vk.context().submit_and_wait([&](VkCommandBuffer cmd) {
                for (auto& p : prepared) p->record(cmd, max_x);
            });
            for (auto& p : prepared) p->finish();
        });
        std::printf("\n64 x vadd of 1024 f32 on lavapipe, us/op: submit+wait each %.1f, all in flight then waited %.1f, "
                    "all in one command buffer %.1f\n",
                    one_by_one / ops, in_flight / ops, one_submit / ops);
    }

    std::string error;
    auto saxpy_module = test::load_sample("10-saxpy.pasm", &error);
    auto matmul_module = test::load_sample("13-matmul.pasm", &error);
    if (!saxpy_module || !matmul_module) {
        std::fprintf(stderr, "backend_routing_bench: %s\n", error.c_str());
        return 1;
    }
    auto time_launch = [&](KernelLaunch l) {
        Point p{l.end, 0, 0};
        p.cpu_us = best_us([&] { cpu.wait(cpu.submit(l)); });
        p.vk_us = best_us([&] { vk.wait(vk.submit(l)); });
        return p;
    };
    {
        std::vector<Point> points;
        const Kernel& k = saxpy_module->kernels[test::kernel_index(*saxpy_module, "saxpy")];
        for (std::uint64_t n : sizes) {
            std::vector<float> x = random_floats(n), y = random_floats(n), z(n);
            KernelLaunch l;
            l.kernel = &k;
            const float a = 3;
            KernelArg ua;
            std::memcpy(&ua.uniform, &a, 4);
            l.args = {buffer(x), buffer(y), buffer(z), ua};
            l.count = l.end = n;
            points.push_back(time_launch(l));
        }
        report("kernel saxpy (sample 10: 6 instructions a lane)", RouteClass::Kernel, points);
    }
    {
        std::vector<Point> points;
        const Kernel& k = matmul_module->kernels[test::kernel_index(*matmul_module, "matmul")];
        const std::int32_t inner = 32;
        std::vector<float> a = random_floats(inner * inner), b = random_floats(inner * inner);
        for (std::uint64_t n : sizes) {
            if (n > (1 << 20)) break;  // the CPU executor takes seconds beyond
            std::vector<float> c(n);
            KernelLaunch l;
            l.kernel = &k;
            l.args = {buffer(a), buffer(b), buffer(c), uniform_i32(inner)};
            l.count = l.end = n;
            points.push_back(time_launch(l));
        }
        report("kernel matmul (sample 13, n = 32: a 32-step loop, ~350 instructions a lane)", RouteClass::LoopKernel,
               points);
    }
    return 0;
}
