// What the reorder-buffer engine counts for `polymer-run --stats`
// (docs/execution.md defines a cycle).
#pragma once

#include <cstdint>

namespace polymer {

struct EngineStats {
    std::uint64_t cycles = 0;           // passes of the engine loop (commit, execute, issue)
    std::uint64_t committed = 0;        // instructions retired, `interpreted` included
    std::uint64_t interpreted = 0;      // of those, run by the interpreter with the ROB empty
    std::uint64_t occupancy_sum = 0;    // ROB entries in use, summed over cycles
    std::uint64_t occupancy_max = 0;
    std::uint64_t frames = 0;           // frames mode: frames executed
    std::uint64_t predictions = 0;      // spec: branches predicted (condition not ready at issue)
    std::uint64_t mispredictions = 0;
    std::uint64_t squashed = 0;         // instructions squashed (misprediction or an older trap)
    std::uint64_t squashed_long_ns = 0; // time squashed vector ops and kernels spent in flight
    std::uint64_t stall_waits = 0;      // cycles that blocked on a backend ticket

    // Instructions through the ROB per cycle (the interpreted stretches have no cycles).
    double ipc() const {
        return cycles == 0 ? 0.0 : static_cast<double>(committed - interpreted) / static_cast<double>(cycles);
    }
    double mean_occupancy() const {
        return cycles == 0 ? 0.0 : static_cast<double>(occupancy_sum) / static_cast<double>(cycles);
    }
    double hit_rate() const {
        return predictions == 0 ? 0.0
                                : static_cast<double>(predictions - mispredictions) / static_cast<double>(predictions);
    }
};

}  // namespace polymer
