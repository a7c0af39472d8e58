#include "cluster/chunk_sizing.h"

#include <algorithm>
#include <cmath>

namespace polymer::cluster {

GrainGrid make_grid(std::uint64_t begin, std::uint64_t end, std::uint64_t min_grain_lanes, std::uint64_t target_grains) {
    GrainGrid g;
    g.begin = begin;
    g.end = std::max(begin, end);
    const std::uint64_t lanes = g.end - g.begin;
    const std::uint64_t parts = std::max<std::uint64_t>(1, target_grains);
    g.grain = std::max<std::uint64_t>({1, min_grain_lanes, lanes / parts + (lanes % parts != 0)});
    return g;
}

namespace {
bool usable(double v) { return std::isfinite(v) && v > 0; }
}  // namespace

std::vector<double> estimated_rates(std::span<const RateInput> inputs, double prefer_weight) {
    double known = 0;
    std::size_t known_count = 0;
    for (const RateInput& r : inputs)
        if (usable(r.advertised)) {
            known += r.advertised;
            ++known_count;
        }
    const double fallback = known_count != 0 ? known / static_cast<double>(known_count) : 1.0;
    const double weight = usable(prefer_weight) ? prefer_weight : 1.0;
    std::vector<double> prior(inputs.size());
    double measured_sum = 0, measured_prior = 0;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        prior[i] = (usable(inputs[i].advertised) ? inputs[i].advertised : fallback) * (inputs[i].preferred ? weight : 1.0);
        if (usable(inputs[i].measured)) {
            measured_sum += inputs[i].measured;
            measured_prior += prior[i];
        }
    }
    const double scale = measured_prior > 0 ? measured_sum / measured_prior : 1.0;
    std::vector<double> out(inputs.size());
    for (std::size_t i = 0; i < inputs.size(); ++i)
        out[i] = usable(inputs[i].measured) ? inputs[i].measured : prior[i] * scale;
    return out;
}

std::uint64_t claim_grains(double share, std::uint64_t remaining, unsigned divisor, std::uint64_t cap) {
    if (remaining == 0) return 0;
    if (!std::isfinite(share) || share < 0) share = 0;
    const double want = std::ceil(static_cast<double>(remaining) * std::min(share, 1.0) / std::max(1u, divisor));
    std::uint64_t n = want < 1 ? 1 : static_cast<std::uint64_t>(want);
    n = std::min(n, remaining);
    if (cap != 0) n = std::min(n, cap);
    return n;
}

}  // namespace polymer::cluster
