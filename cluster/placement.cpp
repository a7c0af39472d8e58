#include "cluster/placement.h"

#include <algorithm>
#include <cmath>

namespace polymer::cluster {

std::optional<std::vector<std::uint64_t>> place_blocks(std::uint64_t grains, std::span<const PlacementInput> participants) {
    const std::size_t n = participants.size();
    std::uint64_t room = 0;
    for (const PlacementInput& p : participants) room += std::min(p.room_grains, grains);
    if (n == 0 || room < grains) return std::nullopt;
    // A participant that gives no rate counts as the mean of those that do.
    std::vector<double> rate(n);
    double known = 0;
    std::size_t with_rate = 0;
    for (const PlacementInput& p : participants)
        if (p.rate > 0) known += p.rate, ++with_rate;
    const double mean = with_rate == 0 ? 1.0 : known / static_cast<double>(with_rate);
    for (std::size_t k = 0; k < n; ++k) rate[k] = participants[k].rate > 0 ? participants[k].rate : mean;

    // Water-filling: fix the participants whose share passes their room at
    // their room, and share what is left among the others, until none does.
    std::vector<std::uint64_t> out(n, 0);
    std::vector<bool> full(n, false);
    std::uint64_t left = grains;
    for (;;) {
        double total = 0;
        for (std::size_t k = 0; k < n; ++k)
            if (!full[k]) total += rate[k];
        bool capped = false;
        for (std::size_t k = 0; k < n; ++k) {
            if (full[k] || static_cast<double>(left) * rate[k] / total <= static_cast<double>(participants[k].room_grains)) continue;
            out[k] = participants[k].room_grains;
            full[k] = true;
            left -= out[k];
            capped = true;
        }
        if (!capped) break;
    }
    // The rest by largest remainder, each within its room (the room check
    // above leaves every share at most its room, so the rounding fits but
    // for a grain that goes to whoever still has room).
    double total = 0;
    for (std::size_t k = 0; k < n; ++k)
        if (!full[k]) total += rate[k];
    std::vector<std::pair<double, std::size_t>> remainders;
    std::uint64_t given = 0;
    for (std::size_t k = 0; k < n; ++k) {
        if (full[k]) continue;
        const double share = static_cast<double>(left) * rate[k] / total;
        out[k] = std::min(static_cast<std::uint64_t>(std::floor(share)), participants[k].room_grains);
        given += out[k];
        remainders.emplace_back(share - std::floor(share), k);
    }
    std::stable_sort(remainders.begin(), remainders.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    for (std::size_t pass = 0; given < left && pass < 2; ++pass)
        for (const auto& [fraction, k] : remainders) {
            if (given == left) break;
            if (out[k] < participants[k].room_grains && (pass == 1 || fraction > 0)) ++out[k], ++given;
        }
    for (std::size_t k = 0; k < n && given < left; ++k)  // only rooms left: anyone with room
        while (given < left && out[k] < participants[k].room_grains) ++out[k], ++given;
    return out;
}

}  // namespace polymer::cluster
