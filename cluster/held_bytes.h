// Which bytes of a node's region storage hold something. The storage is
// a mapping of zero pages that cost nothing until written
// (cluster/node_store.h), so what a region costs the node is the pages that
// puts, halo fetches and chunks wrote: the *held* pages, which count against
// the memory budgets (cluster/memory_budget.h). A node recycles a region's
// storage for its next version (no fresh pages to fault in, no zeroing pass);
// until this version writes them, the held bytes are *stale*: the old
// version's. A version must read as zeros wherever nothing was put, so stale
// bytes are zeroed on first use, and only the part that use touches; bytes
// never held are zero pages already.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "cluster/element_ranges.h"

namespace polymer::cluster {

class HeldBytes {
public:
    HeldBytes() = default;
    // Storage in pages of `page` bytes (a power of two).
    explicit HeldBytes(std::uint64_t page) : page_(page) {}

    // Bytes held: whole pages.
    std::uint64_t bytes() const { return bytes_; }
    // What holding [lo, hi) would add: its pages not held yet.
    std::uint64_t missing(std::uint64_t lo, std::uint64_t hi) const;
    // Holds the pages of [lo, hi); returns the bytes added, and appends the
    // page ranges added to `added` when given (to undo with let_go).
    std::uint64_t hold(std::uint64_t lo, std::uint64_t hi, std::vector<std::pair<std::uint64_t, std::uint64_t>>* added = nullptr);
    // Stops holding the whole pages [lo, hi) (stale or not); returns the bytes.
    std::uint64_t let_go(std::uint64_t lo, std::uint64_t hi);

    // The storage goes on to the next version: everything held is stale.
    void recycle() { stale_ = held_; }
    // This version writes [lo, hi) whole (a put's or a fetch's bytes).
    void overwritten(std::uint64_t lo, std::uint64_t hi) { stale_.remove(lo, hi); }
    // Zeroes the stale bytes of [lo, hi) of `base`: [lo, hi) then reads as
    // this version. Returns the bytes zeroed.
    std::uint64_t zero_stale(std::uint8_t* base, std::uint64_t lo, std::uint64_t hi);
    // The whole pages that hold only stale bytes: no version needs them, and
    // giving them back to the kernel makes them zero pages again.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> stale_pages() const;
    bool has_stale() const { return !stale_.empty(); }

private:
    std::uint64_t page_down(std::uint64_t at) const { return at & ~(page_ - 1); }
    std::uint64_t page_up(std::uint64_t at) const { return (at + page_ - 1) & ~(page_ - 1); }

    std::uint64_t page_ = 4096;
    ElementRanges held_;   // byte offsets, whole pages
    ElementRanges stale_;  // byte offsets inside held_
    std::uint64_t bytes_ = 0;
};

}  // namespace polymer::cluster
