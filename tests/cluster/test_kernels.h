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

// z[i] = n after a loop of n iterations: a chunk as slow as n says (never
// run on a node's io thread); the kernel alone, and as a whole program.
inline const std::string kSpinKernel =
    ".kernel spin (out z: i32[i], n: i32)\n"
    "        gid     r0\n"
    "        ldp     r3, n\n"
    "        li      r1, 0\n"
    "        loop\n"
    "            lt      r2, r1, r3\n"
    "            if      r2\n"
    "            else\n"
    "                break\n"
    "            end\n"
    "            addi    r1, r1, 1\n"
    "        end\n"
    "        st      z[r0], r1\n"
    ".end\n";
inline const std::string kSpin = ".module spin\n" + kSpinKernel + ".proc main\n        halt\n.end\n";

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
