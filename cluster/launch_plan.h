// How a kernel's buffers travel when its launch is cut into chunks, read from
// the parameter declarations and the kernel IR (docs/cluster.md):
//   - element-wise `T[i]` buffers: lane i touches element i, so a chunk needs
//     (and returns) only its own slice;
//   - broadcast `T[]` inputs: shipped whole, once per content, per node;
//   - broadcast buffers the kernel only `atadd`s into ("partials"): each chunk
//     adds into a zeroed copy; the home adds the copies in chunk order;
//   - any other write to, or a read of, a broadcast output (a plain store,
//     a load of an atadd target) makes the result depend on other chunks:
//     the launch is not splittable and the home runs it whole.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "isa/module.h"

namespace polymer::cluster {

struct LaunchPlan {
    bool splittable = true;
    std::vector<std::uint32_t> partial_params;  // parameter indices, ascending

    bool is_partial(std::size_t param) const {
        return std::find(partial_params.begin(), partial_params.end(), param) != partial_params.end();
    }
    std::size_t partial_index(std::size_t param) const {
        return static_cast<std::size_t>(std::find(partial_params.begin(), partial_params.end(), param) - partial_params.begin());
    }
};

LaunchPlan plan_launch(const Kernel& kernel);

}  // namespace polymer::cluster
