#include "cluster/defined_ranges.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace polymer::cluster {

void DefinedRanges::add(std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi) return;
    // Absorb every range that overlaps or touches [lo, hi).
    auto it = ranges_.upper_bound(lo);
    if (it != ranges_.begin() && std::prev(it)->second >= lo) --it;
    while (it != ranges_.end() && it->first <= hi) {
        lo = std::min(lo, it->first);
        hi = std::max(hi, it->second);
        it = ranges_.erase(it);
    }
    ranges_.emplace(lo, hi);
}

bool DefinedRanges::covers(std::uint64_t lo, std::uint64_t hi) const {
    if (lo >= hi) return true;
    auto it = ranges_.upper_bound(lo);
    if (it == ranges_.begin()) return false;
    --it;
    return it->first <= lo && it->second >= hi;
}

std::uint64_t DefinedRanges::zero_gaps(std::uint8_t* base, std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi || covers(lo, hi)) return 0;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
    std::uint64_t at = lo;
    auto it = ranges_.upper_bound(lo);
    if (it != ranges_.begin()) --it;
    for (; it != ranges_.end() && it->first < hi; ++it) {
        if (it->second <= at) continue;
        if (it->first > at) gaps.emplace_back(at, it->first);
        at = std::max(at, it->second);
    }
    if (at < hi) gaps.emplace_back(at, hi);
    std::uint64_t zeroed = 0;
    for (auto [a, b] : gaps) {
        std::memset(base + a, 0, b - a);
        zeroed += b - a;
    }
    add(lo, hi);
    return zeroed;
}

}  // namespace polymer::cluster
