// How a launch over [begin, end) is cut for the cluster (docs/cluster.md,
// "Chunks"): a fixed grid of equal grains whose boundaries depend only on the
// lane range and the options (never on timing or throughput), and claims that
// are runs of consecutive grains, sized by guided self-scheduling on each
// participant's share of the total estimated rate:
//
//     claim = clamp(ceil(remaining_grains x share / divisor), 1, cap)
//
// A participant's estimated rate is its measured rate in this launch once it
// has results (lanes per second of wall time from send to result), before
// that its advertised figure scaled into the same unit. Pure functions: the
// ClusterBackend calls them under its lock; the unit tests call them alone.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace polymer::cluster {

struct GrainGrid {
    std::uint64_t begin = 0, end = 0;
    std::uint64_t grain = 1;  // lanes per grain; the last grain may be shorter

    std::size_t size() const { return end <= begin ? 0 : static_cast<std::size_t>((end - begin + grain - 1) / grain); }
    std::uint64_t grain_begin(std::size_t g) const { return begin + g * grain; }
    std::uint64_t grain_end(std::size_t g) const { return grain_begin(g) + grain < end ? grain_begin(g) + grain : end; }
};

// Grains of max(min_grain_lanes, ceil(lanes / target_grains)) lanes.
GrainGrid make_grid(std::uint64_t begin, std::uint64_t end, std::uint64_t min_grain_lanes, std::uint64_t target_grains);

struct RateInput {
    double advertised = 0;   // elements/s (one core's saxpy) from the node's capabilities
    bool preferred = false;  // meets the kernel's `.prefers`
    double measured = 0;     // lanes/s in this launch; 0 until it has finished a claim
};

// Each participant's rate in one unit (lanes/s of this kernel once anyone has
// measured). The prior is the advertised figure (a missing one: the mean of
// the others), times `prefer_weight` for preferred participants. Measured
// participants use their measured rate; the others their prior times
// sum(measured) / sum(prior) over the measured ones, so both kinds compare.
std::vector<double> estimated_rates(std::span<const RateInput> inputs, double prefer_weight);

// Grains for one claim: ceil(remaining x share / divisor), at least one grain,
// at most `cap` (0: no cap) and never more than remain.
std::uint64_t claim_grains(double share, std::uint64_t remaining, unsigned divisor, std::uint64_t cap);

}  // namespace polymer::cluster
