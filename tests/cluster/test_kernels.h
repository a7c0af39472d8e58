// Kernel sources and byte helpers shared by the cluster tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "cluster/messages.h"
#include "tests/vm/kernel_test_util.h"

namespace polymer::cluster::testing {

// saxpy (z[i] = a * x[i] + y[i]: element-wise inputs and output, one f32
// uniform; tests/vm/kernel_test_util.h) as a whole program.
inline const std::string kSaxpy =
    std::string(".module saxpy\n") + polymer::test::kSaxpyKernel + ".proc main\n        halt\n.end\n";

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
