#include "cluster/defined_ranges.h"

#include <cstring>

namespace polymer::cluster {

std::uint64_t DefinedRanges::zero_gaps(std::uint8_t* base, std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi || covers(lo, hi)) return 0;
    std::uint64_t zeroed = 0;
    ranges_.for_each_gap_in(lo, hi, [&](std::uint64_t a, std::uint64_t b) {
        std::memset(base + a, 0, b - a);
        zeroed += b - a;
    });
    add(lo, hi);
    return zeroed;
}

}  // namespace polymer::cluster
