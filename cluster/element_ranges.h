// Sets of element ranges of one buffer, for the lineage log (cluster/lineage.h):
// which elements were marked, and saved copies of some elements' bytes. The
// set is also a node's record of the bytes a region's storage holds
// (cluster/held_bytes.h, with bytes for elements).
// Ranges are [lo, hi) in elements; byte offsets are element * elem_size.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <utility>
#include <vector>

namespace polymer::cluster {

// The elements lanes [begin, end) read through a window parameter
// (`x: f32[i+lo..i+hi]`, isa/module.h): [begin + lo, end - 1 + hi], inside
// [0, length); empty ({0, 0}) when the lanes are or nothing is left.
std::pair<std::uint64_t, std::uint64_t> window_reach(std::uint64_t begin, std::uint64_t end, std::int64_t lo, std::int64_t hi,
                                                     std::uint64_t length);

// A set of elements, kept as disjoint ranges that never touch.
class ElementRanges {
public:
    void add(std::uint64_t lo, std::uint64_t hi);
    void remove(std::uint64_t lo, std::uint64_t hi);
    void clear() { ranges_.clear(); }
    bool empty() const { return ranges_.empty(); }
    std::size_t pieces() const { return ranges_.size(); }
    std::uint64_t elements() const;
    // Whether [lo, hi) lies inside one range of the set (an empty one: yes).
    bool covers(std::uint64_t lo, std::uint64_t hi) const;
    // Calls f(lo, hi) for each part of the set inside [lo, hi), in order.
    void for_each_in(std::uint64_t lo, std::uint64_t hi, const std::function<void(std::uint64_t, std::uint64_t)>& f) const;
    // Calls f(lo, hi) for each part of [lo, hi) outside the set, in order.
    void for_each_gap_in(std::uint64_t lo, std::uint64_t hi, const std::function<void(std::uint64_t, std::uint64_t)>& f) const;
    void for_each(const std::function<void(std::uint64_t, std::uint64_t)>& f) const;
    // Adds what lanes in the set read through a window (window_reach of each
    // range, inside [0, length)): the set keeps its own elements too.
    void widen(std::int64_t lo, std::int64_t hi, std::uint64_t length);

private:
    std::map<std::uint64_t, std::uint64_t> ranges_;  // lo -> hi
};

// Saved bytes of some elements of a buffer whose elements are `elem_size`
// bytes: the first value saved for an element is kept, later saves of it are
// ignored (so the bases of an epoch stay its start values).
class SavedElements {
public:
    explicit SavedElements(std::size_t elem_size) : elem_size_(elem_size) {}

    // Saves elements [lo, hi) of `base` (the buffer's first element) that are
    // not saved yet. Returns the bytes saved now.
    std::uint64_t save_missing(const std::byte* base, std::uint64_t lo, std::uint64_t hi);
    // Copies the saved elements inside [lo, hi) into `base`.
    void restore(std::byte* base, std::uint64_t lo, std::uint64_t hi) const;
    std::uint64_t bytes() const { return bytes_; }
    bool empty() const { return pieces_.empty(); }

private:
    struct Piece {
        std::uint64_t hi = 0;
        std::vector<std::byte> bytes;
    };
    std::size_t elem_size_;
    std::map<std::uint64_t, Piece> pieces_;  // lo -> piece: disjoint
    std::uint64_t bytes_ = 0;
};

}  // namespace polymer::cluster
