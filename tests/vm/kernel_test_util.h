// Shared by the CPU kernel tests and the kernels benchmark
// (tests/bench/kernels/): the saxpy kernel's source, a checked assemble, and
// launches over std::vectors.
#pragma once

#include <bit>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "vm/kernel_launch.h"

namespace polymer::test {

// z[i] = a * x[i] + y[i], fused (ffma), as in samples/10-saxpy.pasm.
inline constexpr const char* kSaxpyKernel = R"(
.kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        ffma    f3, f2, f0, f1
        stf     z[r0], f3
.end
)";

// The module of `source`, or nullopt with the assembler's messages in
// `errors` (a test fails with them; the benchmark prints them).
inline std::optional<Module> assemble_kernels(const std::string& source, std::string* errors) {
    AssembleResult r = assemble(source);
    if (r.ok()) return *r.module;
    for (const Diagnostic& d : r.diagnostics) *errors += format_diagnostic(d);
    return std::nullopt;
}

template <class T>
KernelArg buffer_arg(std::vector<T>& v, ElemType type) {
    return KernelArg{v.empty() ? nullptr : v.data(), v.size(), type, 0};
}
inline KernelArg uniform_i32(std::int32_t v) { return KernelArg{nullptr, 0, ElemType::I32, static_cast<std::uint32_t>(v)}; }
inline KernelArg uniform_f32(float v) { return KernelArg{nullptr, 0, ElemType::F32, std::bit_cast<std::uint32_t>(v)}; }

inline KernelLaunch whole_launch(const Kernel& k, std::vector<KernelArg> args, std::uint64_t count) {
    KernelLaunch l;
    l.kernel = &k;
    l.args = std::move(args);
    l.count = count;
    l.begin = 0;
    l.end = count;
    return l;
}

// saxpy over x, y into z (all of one length).
inline KernelLaunch saxpy_launch(const Kernel& k, std::vector<float>& x, std::vector<float>& y, std::vector<float>& z,
                                 float a) {
    return whole_launch(k, {buffer_arg(x, ElemType::F32), buffer_arg(y, ElemType::F32), buffer_arg(z, ElemType::F32), uniform_f32(a)},
                        x.size());
}

}  // namespace polymer::test
