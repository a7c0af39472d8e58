// 2-bit saturating counters, one per conditional branch (by pc), for
// `--exec spec` (docs/execution.md, "The predictor"):
//   0 strongly not taken, 1 weakly not taken, 2 weakly taken, 3 strongly taken.
// Predict taken at 2 and 3; an outcome moves the counter one step toward it.
// A branch starts weakly taken when it jumps backward (a loop) and weakly not
// taken when it jumps forward, the classic static hint.
#pragma once

#include <cstdint>
#include <unordered_map>

namespace polymer::ooo {

class BranchPredictor {
public:
    bool predict(std::uint32_t pc, std::uint32_t target) { return counter(pc, target) >= 2; }
    void update(std::uint32_t pc, std::uint32_t target, bool taken) {
        std::uint8_t& c = counter(pc, target);
        if (taken && c < 3) ++c;
        if (!taken && c > 0) --c;
    }
    std::uint8_t state(std::uint32_t pc, std::uint32_t target) { return counter(pc, target); }

private:
    std::uint8_t& counter(std::uint32_t pc, std::uint32_t target) {
        auto [it, fresh] = counters_.try_emplace(pc, std::uint8_t{0});
        if (fresh) it->second = target <= pc ? 2 : 1;
        return it->second;
    }
    std::unordered_map<std::uint32_t, std::uint8_t> counters_;
};

}  // namespace polymer::ooo
