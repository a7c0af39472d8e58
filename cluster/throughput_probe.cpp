#include "cluster/throughput_probe.h"

#include <cstdint>
#include <vector>

namespace polymer::cluster {

double measure_saxpy_throughput(std::chrono::milliseconds duration) {
    std::vector<float> x(1 << 20, 1.5f), y(1 << 20, 0.25f);
    const float a = 1.0001f;
    const auto start = std::chrono::steady_clock::now();
    std::uint64_t elements = 0;
    std::chrono::duration<double> elapsed{};
    do {
        for (std::size_t i = 0; i < x.size(); ++i) y[i] = a * x[i] + y[i];
        elements += x.size();
        elapsed = std::chrono::steady_clock::now() - start;
    } while (elapsed < duration);
    volatile float sink = y[12345];
    (void)sink;
    return static_cast<double>(elements) / elapsed.count();
}

}  // namespace polymer::cluster
