// The kernels of the resident-data process tests (resident_data_test,
// placement_run_test): `start` makes x[i] = 7i and y[i] = i, `step` makes
// y := 3y + x + i. Each test declares its own regions and main around them.
#pragma once

namespace polymer::cluster::testing {

inline constexpr const char* kResidentKernels = R"(.kernel start (out x: i32[i], out y: i32[i])
        gid     r0
        muli    r1, r0, 7
        st      x[r0], r1
        st      y[r0], r0
.end
.kernel step (in x: i32[i], inout y: i32[i])
        gid     r0
        ld      r1, x[r0]
        ld      r2, y[r0]
        muli    r2, r2, 3
        add     r2, r2, r1
        add     r2, r2, r0
        st      y[r0], r2
.end
)";

}  // namespace polymer::cluster::testing
