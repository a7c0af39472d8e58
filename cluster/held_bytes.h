// Which byte ranges of a region version hold that version's contents. A node
// recycles a region's storage for its next version (no fresh pages to fault
// in, no zeroing pass); until a put writes them, the recycled bytes are the
// old version's. A version must read as zeros wherever nothing was put, so
// the gaps are zeroed on first use, and only the part that use touches.
#pragma once

#include <cstdint>

#include "cluster/element_ranges.h"

namespace polymer::cluster {

class DefinedRanges {
public:
    // [lo, hi) now holds this version's bytes.
    void add(std::uint64_t lo, std::uint64_t hi) { ranges_.add(lo, hi); }
    // Zeroes the parts of [lo, hi) of `base` not yet defined, and defines them.
    // Returns the bytes zeroed.
    std::uint64_t zero_gaps(std::uint8_t* base, std::uint64_t lo, std::uint64_t hi);
    bool covers(std::uint64_t lo, std::uint64_t hi) const { return ranges_.covers(lo, hi); }
    std::size_t pieces() const { return ranges_.pieces(); }

private:
    ElementRanges ranges_;  // byte offsets
};

}  // namespace polymer::cluster
