// kernels_bench: in one run, saxpy over 32M floats on the CPU backend, on
// lavapipe (VulkanBackend, plus a bare dispatch of the same SPIR-V) and as a
// plain -O3 C++ loop, next to a STREAM-style triad on 1 and 2 threads
// measured by this program; then the launch overhead of an empty kernel on
// both backends next to a bare one-element dispatch. Best-of-N timings;
// ratios against the references measured here. Not a test: it asserts
// nothing (docs/benchmarks.md, "Kernels").
#include <algorithm>
#include <bit>
#include <barrier>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "tests/vm/kernel_test_util.h"
#include "tests/vulkan/bare_dispatch.h"
#include "vm/backend.h"
#include "vm/vulkan/vulkan_backend.h"

using namespace polymer;

namespace {

template <class F>
double best_seconds(int reps, F&& f) {
    double best = 1e300;
    for (int i = 0; i < reps; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        f();
        best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    }
    return best;
}

// STREAM's triad a[i] = b[i] + s*c[i] on `threads` threads (each its own
// contiguous slice), best of `reps`; each repetition is timed from a barrier
// all threads pass to the barrier after their last store.
double triad_seconds(std::vector<double>& a, const std::vector<double>& b, const std::vector<double>& c, unsigned threads,
                     int reps) {
    const double s = 3.0;
    double best = 1e300;
    std::barrier sync(static_cast<std::ptrdiff_t>(threads));
    auto body = [&](unsigned t) {
        const std::size_t n = a.size(), lo = n * t / threads, hi = n * (t + 1) / threads;
        double* pa = a.data();
        const double *pb = b.data(), *pc = c.data();
        for (int r = 0; r < reps; ++r) {
            sync.arrive_and_wait();
            const auto t0 = std::chrono::steady_clock::now();
            for (std::size_t i = lo; i < hi; ++i) pa[i] = pb[i] + s * pc[i];
            sync.arrive_and_wait();
            if (t == 0) best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
    };
    std::vector<std::jthread> others;
    for (unsigned t = 1; t < threads; ++t) others.emplace_back(body, t);
    body(0);
    return best;
}

std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
    return "unknown CPU";
}

void row(const char* what, double seconds, double bytes) {
    std::printf("| %-52s | %9.2f | %7.2f |\n", what, seconds * 1e3, bytes / seconds / 1e9);
}

constexpr const char* kEmptyKernel = R"(
.kernel empty (out z: f32[i])
        nop
.end
)";

// A kernel with a loop whose trip count differs from lane to lane (lanes of
// one block diverge): the Mandelbrot escape count over a w x h grid.
constexpr const char* kMandelKernel = R"(
.kernel mandel (out it: i32[i], w: i32, maxit: i32)
        gid     r0
        ldp     r1, w
        ldp     r2, maxit
        rem     r3, r0, r1
        div     r4, r0, r1
        itof    f0, r3
        itof    f1, r4
        itof    f9, r1
        lif     f8, 3.0
        fdiv    f8, f8, f9
        fmul    f0, f0, f8
        lif     f9, -2.0
        fadd    f0, f0, f9
        fmul    f1, f1, f8
        lif     f9, -1.5
        fadd    f1, f1, f9
        lif     f2, 0.0
        lif     f3, 0.0
        lif     f7, 4.0
        li      r5, 0
        loop
            lt      r6, r5, r2
            if      r6
            else
                break
            end
            fmul    f4, f2, f2
            fmul    f5, f3, f3
            fadd    f6, f4, f5
            flt     r6, f7, f6
            if      r6
                break
            end
            fmul    f6, f2, f3
            fadd    f6, f6, f6
            fadd    f3, f6, f1
            fsub    f6, f4, f5
            fadd    f2, f6, f0
            addi    r5, r5, 1
        end
        st      it[r0], r5
.end
)";

// Wide kernels (64-bit lanes): a binary64 axpy indexed as the kernels made
// from loops index, i = i0 + gid (an i64 uniform plus gid), and the same
// with i = gid. The block interpreter tracks both as a run of consecutive
// lanes, so both are contiguous copies (without that tracking the first
// costs 4-5x the second: docs/benchmarks.md).
constexpr const char* kWideAxpyKernels = R"(
.kernel axpy_i0 (in x: f64[], inout y: f64[], i0: i64, a: f64)
        .wide
        gid     r1
        ldp     r2, i0
        add     r2, r2, r1
        ldf     f1, x[r2]
        ldf     f2, y[r2]
        ldpf    f3, a
        fmul    f1, f1, f3
        fadd    f1, f1, f2
        stf     y[r2], f1
.end
.kernel axpy_gid (in x: f64[i], inout y: f64[i], i0: i64, a: f64)
        .wide
        gid     r2
        ldf     f1, x[r2]
        ldf     f2, y[r2]
        ldpf    f3, a
        fmul    f1, f1, f3
        fadd    f1, f1, f2
        stf     y[r2], f1
.end
)";

// saxpy in place over f32 as loops_bench runs it (tests/bench/loops/): the
// wide kernel the assembler makes of the scalar loop (polymer-dis shows it:
// f32 loads widened, binary64 arithmetic, the store rounded), and the
// hand-written narrow kernel doing the same work.
constexpr const char* kLoopSaxpyKernels = R"(
.kernel loop (in xs: f32[], inout ys: f32[], i0: i64, f1: f64)
        .wide
        ldpf    f1, f1
        gid     r0
        ldp     r1, i0
        add     r1, r1, r0
        ldf     f2, xs[r1]
        ldf     f3, ys[r1]
        fmul    f2, f2, f1
        fadd    f3, f3, f2
        stf     ys[r1], f3
.end
.kernel hand (in x: f32[i], inout y: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        fmul    f0, f0, f2
        fadd    f1, f1, f0
        stf     y[r0], f1
.end
)";

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"kernels_bench: saxpy and launch overhead on the CPU backend and lavapipe vs STREAM-style references"};
    std::uint64_t n = std::uint64_t{32} << 20;
    int reps = 10, vk_reps = 3, launch_reps = 1000;
    bool no_vulkan = false;
    app.add_option("--elements", n, "saxpy elements (f32); the triad uses half as many f64, the same bytes")->check(CLI::Range(std::uint64_t{1024}, std::uint64_t{1} << 30));
    app.add_option("--reps", reps, "best of this many runs on the CPU")->check(CLI::Range(1, 1000));
    app.add_option("--vk-reps", vk_reps, "best of this many runs on Vulkan")->check(CLI::Range(1, 1000));
    app.add_option("--launch-reps", launch_reps, "best of this many one-element launches")->check(CLI::Range(1, 100000));
    app.add_flag("--no-vulkan", no_vulkan, "skip the Vulkan rows");
    CLI11_PARSE(app, argc, argv);

    std::string errors;
    std::optional<Module> saxpy = test::assemble_kernels(test::kSaxpyKernel, &errors);
    std::optional<Module> empty = test::assemble_kernels(kEmptyKernel, &errors);
    std::optional<Module> mandel = test::assemble_kernels(kMandelKernel, &errors);
    std::optional<Module> wide = test::assemble_kernels(kWideAxpyKernels, &errors);
    std::optional<Module> loop_saxpy = test::assemble_kernels(kLoopSaxpyKernels, &errors);
    if (!saxpy || !empty || !mandel || !wide || !loop_saxpy) { std::fprintf(stderr, "error: %s", errors.c_str()); return 1; }

    CpuBackend cpu;
    std::printf("machine: %s, %u hardware threads; CPU backend: %u threads\n", cpu_model().c_str(),
                std::thread::hardware_concurrency(), cpu.threads());
    std::printf("saxpy z = a*x + y over %llu f32 (12 bytes/element); triad a = b + s*c over %llu f64 (24 bytes/element,\n"
                "STREAM's count: 2 reads + 1 write, write-allocate not counted); best of %d (Vulkan: best of %d)\n\n",
                static_cast<unsigned long long>(n), static_cast<unsigned long long>(n / 2), reps, vk_reps);
    std::printf("| %-52s | %9s | %7s |\n|%s|%s|%s|\n", "what", "ms", "GB/s", std::string(54, '-').c_str(),
                std::string(11, '-').c_str(), std::string(9, '-').c_str());

    const double bytes = 12.0 * static_cast<double>(n);
    double triad1 = 0, triad2 = 0;
    {
        std::vector<double> a(n / 2, 0.0), b(n / 2, 1.0), c(n / 2, 2.0);
        triad1 = triad_seconds(a, b, c, 1, reps);
        triad2 = triad_seconds(a, b, c, 2, reps);
        row("STREAM-style triad, 1 thread", triad1, 24.0 * static_cast<double>(n / 2));
        row("STREAM-style triad, 2 threads", triad2, 24.0 * static_cast<double>(n / 2));
    }

    std::vector<float> x(n), y(n), z(n, 0.0f);
    for (std::uint64_t i = 0; i < n; ++i) { x[i] = static_cast<float>(i % 1024); y[i] = 1.0f; }
    const float a = 0.5f;
    const double plain = best_seconds(reps, [&] {
        float* pz = z.data();
        const float *px = x.data(), *py = y.data();
        for (std::uint64_t i = 0; i < n; ++i) pz[i] = a * px[i] + py[i];
    });
    row("saxpy, plain -O3 C++ loop (1 thread)", plain, bytes);

    const KernelLaunch launch = test::saxpy_launch(saxpy->kernels[0], x, y, z, a);
    CpuBackend cpu1(CpuBackendOptions{1, 0, 0});
    const double on_cpu1 = best_seconds(reps, [&] { cpu1.wait(cpu1.submit(launch)); });
    row("saxpy, CPU backend, 1 thread (submit + wait)", on_cpu1, bytes);
    const double on_cpu = best_seconds(reps, [&] { cpu.wait(cpu.submit(launch)); });
    char what[96];
    std::snprintf(what, sizeof what, "saxpy, CPU backend, %u threads (submit + wait)", cpu.threads());
    row(what, on_cpu, bytes);
    bool checked = true;
    for (std::uint64_t i = 0; i < n; i += 4099) checked = checked && z[i] == a * x[i] + y[i];
    if (!checked) { std::fprintf(stderr, "error: the CPU backend's saxpy is wrong\n"); return 1; }

    std::unique_ptr<VulkanBackend> vk;
    std::string no_vk_reason = "--no-vulkan";
    if (!no_vulkan) {
        VulkanBackendOptions o;
        o.pipeline_cache_enabled = false;
        auto created = VulkanBackend::create(o);
        if (created) vk = std::move(created).value();
        else no_vk_reason = created.error();
    }
    double vk_saxpy = 0, vk_bare = 0;
    if (vk) {
        vk_saxpy = best_seconds(vk_reps, [&] { vk->wait(vk->submit(launch)); });
        vk_bare = test::bare_dispatch_us(vk->context(), saxpy->kernels[0], n, vk_reps) * 1e-6;
        std::snprintf(what, sizeof what, "saxpy, %s: VulkanBackend (submit + wait)", vk->device().name.c_str());
        row(what, vk_saxpy, bytes);
        std::snprintf(what, sizeof what, "saxpy, %s: bare dispatch, no copies", vk->device().name.c_str());
        row(what, vk_bare, bytes);
    } else {
        std::printf("| saxpy on Vulkan: skipped (%s) | | |\n", no_vk_reason.c_str());
    }

    // The divergent loop kernel: 1024 x 768 lanes, at most 100 iterations.
    {
        const std::int32_t w = 1024, h = 768;
        std::vector<std::int32_t> its(static_cast<std::size_t>(w) * h, 0);
        const KernelLaunch ml = test::whole_launch(mandel->kernels[0],
                                                   {test::buffer_arg(its, ElemType::I32), test::uniform_i32(w), test::uniform_i32(100)},
                                                   its.size());
        auto iterations = [&] {
            std::uint64_t sum = 0;
            for (std::int32_t v : its) sum += static_cast<std::uint64_t>(v);
            return sum;
        };
        std::printf("\n| %-52s | %9s | %9s | %12s |\n|%s|%s|%s|%s|\n", "mandelbrot 1024 x 768, <= 100 iterations (a loop)", "ms",
                    "ns/lane", "iterations", std::string(54, '-').c_str(), std::string(11, '-').c_str(),
                    std::string(11, '-').c_str(), std::string(14, '-').c_str());
        auto mrow = [&](const char* what, double sec) {
            std::printf("| %-52s | %9.2f | %9.2f | %12llu |\n", what, sec * 1e3, sec * 1e9 / static_cast<double>(its.size()),
                        static_cast<unsigned long long>(iterations()));
        };
        mrow("CPU backend, 1 thread", best_seconds(std::max(1, reps / 3), [&] { cpu1.wait(cpu1.submit(ml)); }));
        std::snprintf(what, sizeof what, "CPU backend, %u threads", cpu.threads());
        mrow(what, best_seconds(std::max(1, reps / 3), [&] { cpu.wait(cpu.submit(ml)); }));
        if (vk) {
            std::fill(its.begin(), its.end(), 0);
            std::snprintf(what, sizeof what, "%s: VulkanBackend", vk->device().name.c_str());
            mrow(what, best_seconds(vk_reps, [&] { vk->wait(vk->submit(ml)); }));
        }
    }

    // Wide kernels: i = i0 + gid against i = gid, one thread, n/2 f64 (the triad's bytes).
    double wide_i0 = 0, wide_gid = 0;
    {
        std::vector<double> wx(n / 2, 1.5), wy(n / 2, 0.25);
        auto wide_launch = [&](const Kernel& k) {
            return test::whole_launch(k, {test::buffer_arg(wx, ElemType::F64), test::buffer_arg(wy, ElemType::F64),
                                          KernelArg{nullptr, 0, ElemType::I64, 0},
                                          KernelArg{nullptr, 0, ElemType::F64, std::bit_cast<std::uint64_t>(0.5)}},
                                      wx.size());
        };
        const KernelLaunch li0 = wide_launch(wide->kernels[0]), lgid = wide_launch(wide->kernels[1]);
        wide_i0 = best_seconds(reps, [&] { cpu1.wait(cpu1.submit(li0)); });
        wide_gid = best_seconds(reps, [&] { cpu1.wait(cpu1.submit(lgid)); });
        std::printf("\n| %-52s | %9s | %7s |\n|%s|%s|%s|\n", "wide axpy y = a*x + y, f64, CPU backend 1 thread", "ms", "GB/s",
                    std::string(54, '-').c_str(), std::string(11, '-').c_str(), std::string(9, '-').c_str());
        row("i = i0 + gid (ldp, add)", wide_i0, 24.0 * static_cast<double>(n / 2));
        row("i = gid", wide_gid, 24.0 * static_cast<double>(n / 2));
    }

    // saxpy in place, y = 2*x + y over f32: the loop kernel (wide) against
    // the hand-written narrow kernel, alternately, on 1 thread and on all.
    double loop_ratio1 = 0, loop_ratio = 0;
    {
        std::vector<float> lx(n, 0.25f), ly(n, 1.0f);
        const KernelLaunch wide_loop = test::whole_launch(
            loop_saxpy->kernels[0],
            {test::buffer_arg(lx, ElemType::F32), test::buffer_arg(ly, ElemType::F32), KernelArg{nullptr, 0, ElemType::I64, 0},
             KernelArg{nullptr, 0, ElemType::F64, std::bit_cast<std::uint64_t>(2.0)}},
            n);
        const KernelLaunch hand = test::whole_launch(
            loop_saxpy->kernels[1], {test::buffer_arg(lx, ElemType::F32), test::buffer_arg(ly, ElemType::F32), test::uniform_f32(2.0f)},
            n);
        std::printf("\n| %-52s | %9s | %7s |\n|%s|%s|%s|\n", "saxpy in place y = 2*x + y, f32 (loops_bench's)", "ms", "GB/s",
                    std::string(54, '-').c_str(), std::string(11, '-').c_str(), std::string(9, '-').c_str());
        for (CpuBackend* b : {&cpu1, &cpu}) {
            double t_loop = 1e300, t_hand = 1e300;
            for (int r = 0; r < reps; ++r) {
                t_loop = std::min(t_loop, best_seconds(1, [&] { b->wait(b->submit(wide_loop)); }));
                t_hand = std::min(t_hand, best_seconds(1, [&] { b->wait(b->submit(hand)); }));
            }
            std::snprintf(what, sizeof what, "loop kernel (wide), %u thread(s)", b->threads());
            row(what, t_loop, bytes);
            std::snprintf(what, sizeof what, "hand-written kernel (narrow), %u thread(s)", b->threads());
            row(what, t_hand, bytes);
            (b == &cpu1 ? loop_ratio1 : loop_ratio) = t_loop / t_hand;
        }
    }

    // Launch overhead: an empty kernel over one lane, launched and waited for.
    std::vector<float> one(1, 0.0f);
    const KernelLaunch tiny = test::whole_launch(empty->kernels[0], {test::buffer_arg(one, ElemType::F32)}, 1);
    const double cpu_launch = best_seconds(launch_reps, [&] { cpu.wait(cpu.submit(tiny)); }) * 1e6;
    std::printf("\n| %-52s | %9s |\n|%s|%s|\n", "empty kernel, one lane, launch + wait", "us",
                std::string(54, '-').c_str(), std::string(11, '-').c_str());
    std::printf("| %-52s | %9.2f |\n", "CPU backend", cpu_launch);
    double vk_launch = 0, vk_bare_launch = 0;
    if (vk) {
        vk_launch = best_seconds(launch_reps, [&] { vk->wait(vk->submit(tiny)); }) * 1e6;
        vk_bare_launch = test::bare_dispatch_us(vk->context(), empty->kernels[0], 1, launch_reps);
        std::printf("| %-52s | %9.2f |\n", "VulkanBackend", vk_launch);
        std::printf("| %-52s | %9.2f |\n", "bare one-element vkCmdDispatch + fence", vk_bare_launch);
    }

    // Where the pool starts to pay: saxpy of L lanes inline on the calling
    // thread vs on the pool (waking a worker), the basis of
    // CpuBackend::kDefaultInlineLanes.
    std::printf("\n| %-28s | %12s | %12s |\n|%s|%s|%s|\n", "saxpy lanes, submit + wait", "inline us", "pool us",
                std::string(30, '-').c_str(), std::string(14, '-').c_str(), std::string(14, '-').c_str());
    CpuBackend pooled(CpuBackendOptions{cpu.threads(), 1, 0});
    for (std::uint64_t lanes = 4096; lanes <= (std::uint64_t{1} << 20) && lanes <= n; lanes *= 2) {
        KernelLaunch part = launch;
        part.count = part.end = lanes;
        const int r = static_cast<int>(std::max<std::uint64_t>(20, (std::uint64_t{1} << 24) / lanes));
        const double inline_us = best_seconds(r, [&] { cpu1.wait(cpu1.submit(part)); }) * 1e6;
        const double pool_us = best_seconds(r, [&] { pooled.wait(pooled.submit(part)); }) * 1e6;
        std::printf("| %28llu | %12.1f | %12.1f |\n", static_cast<unsigned long long>(lanes), inline_us, pool_us);
    }

    std::printf("\nratios (best of %d, same run):\n", reps);
    std::printf("  CPU backend saxpy / triad on 2 threads: %.0f%% (target >= 70%%)\n", 100.0 * (bytes / on_cpu) / (24.0 * static_cast<double>(n / 2) / triad2));
    std::printf("  CPU backend saxpy / plain loop: %.2fx the loop's speed\n", plain / on_cpu);
    std::printf("  CPU backend small launch: %.2f us (target <= 10 us)\n", cpu_launch);
    std::printf("  wide axpy, i = i0 + gid / i = gid: %.2fx (both contiguous copies); / triad on 1 thread: %.2fx\n",
                wide_i0 / wide_gid, wide_i0 / triad1);
    std::printf("  saxpy in place, loop kernel / hand-written: %.2fx on 1 thread, %.2fx on %u (target <= 1.3x)\n", loop_ratio1,
                loop_ratio, cpu.threads());
    if (vk) {
        std::printf("  VulkanBackend launch / bare dispatch: %.2fx (target <= 1.5x)\n", vk_launch / vk_bare_launch);
        std::printf("  lavapipe saxpy: VulkanBackend %.2f GB/s, bare %.2f GB/s (%.0f%% of bare)\n", bytes / vk_saxpy / 1e9,
                    bytes / vk_bare / 1e9, 100.0 * vk_bare / vk_saxpy);
    }
    return 0;
}
