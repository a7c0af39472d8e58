// The throughput figure a participant advertises (Capabilities::throughput):
// a short single-core saxpy, so every node and the home measure the same way
// and their figures compare (docs/cluster.md, "Chunks").
#pragma once

#include <chrono>

namespace polymer::cluster {

// saxpy over 1M floats, repeated for about `duration`: elements per second.
double measure_saxpy_throughput(std::chrono::milliseconds duration = std::chrono::milliseconds(50));

}  // namespace polymer::cluster
