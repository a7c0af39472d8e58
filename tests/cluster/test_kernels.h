// Kernel sources and byte helpers shared by the cluster tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "cluster/messages.h"

namespace polymer::cluster::testing {

// z[i] = a * x[i] + y[i]: element-wise inputs and output, one f32 uniform.
inline constexpr const char* kSaxpy = R"(
.module saxpy
.kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        ffma    f3, f2, f0, f1
        stf     z[r0], f3
.end
.proc main
        halt
.end
)";

inline Bytes floats(const std::vector<float>& v) {
    Bytes b(v.size() * 4);
    if (!b.empty()) std::memcpy(b.data(), v.data(), b.size());
    return b;
}

inline std::uint32_t bits(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

}  // namespace polymer::cluster::testing
