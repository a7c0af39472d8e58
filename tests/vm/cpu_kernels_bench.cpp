// Benchmark (not a test): saxpy through the CPU kernel executor vs a plain C++
// loop in the same run. Prints ns/lane and the ratio.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "assembler/assembler.h"
#include "vm/cpu_kernels/cpu_kernel_executor.h"

using namespace polymer;

int main() {
    auto r = assemble(R"(
.kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        ffma    f3, f2, f0, f1
        stf     z[r0], f3
.end
)");
    if (!r.ok()) return 1;
    const std::uint64_t n = 1 << 25;
    std::vector<float> x(n, 1.5f), y(n, 2.0f), z(n);
    const float a = 0.5f;
    std::uint32_t abits; std::memcpy(&abits, &a, 4);
    KernelLaunch l;
    l.kernel = &r.module->kernels[0];
    l.args = {{x.data(), n, ElemType::F32, 0}, {y.data(), n, ElemType::F32, 0},
              {z.data(), n, ElemType::F32, 0}, {nullptr, 0, ElemType::F32, abits}};
    l.count = n; l.begin = 0; l.end = n;
    auto time = [&](auto&& f) {
        f();
        const auto t0 = std::chrono::steady_clock::now();
        f();
        return std::chrono::duration<double, std::nano>(std::chrono::steady_clock::now() - t0).count() / double(n);
    };
    const double plain = time([&] { for (std::uint64_t i = 0; i < n; ++i) z[i] = a * x[i] + y[i]; });
    const double kern = time([&] { run_kernel_launch(l); });
    std::printf("saxpy 32M: plain loop %.3f ns/lane, executor %.3f ns/lane, ratio %.1fx\n", plain, kern, kern / plain);
}
