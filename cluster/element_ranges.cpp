#include "cluster/element_ranges.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace polymer::cluster {

std::pair<std::uint64_t, std::uint64_t> window_reach(std::uint64_t begin, std::uint64_t end, std::int64_t lo, std::int64_t hi,
                                                     std::uint64_t length) {
    if (begin >= end || length == 0) return {0, 0};
    // first = begin + lo and last = end - 1 + hi, in 128 bits: no wrap for any offsets.
    const __int128 first = static_cast<__int128>(begin) + lo, last = static_cast<__int128>(end) - 1 + hi;
    if (last < 0 || first >= static_cast<__int128>(length) || first > last) return {0, 0};
    const std::uint64_t a = first < 0 ? 0 : static_cast<std::uint64_t>(first);
    const std::uint64_t b = last >= static_cast<__int128>(length) ? length : static_cast<std::uint64_t>(last) + 1;
    return {a, b};
}

void ElementRanges::widen(std::int64_t lo, std::int64_t hi, std::uint64_t length) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> reach;
    for (const auto& [a, b] : ranges_) reach.push_back(window_reach(a, b, lo, hi, length));
    for (const auto& [a, b] : reach) add(a, b);
}

void ElementRanges::add(std::uint64_t lo, std::uint64_t hi) {
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

void ElementRanges::remove(std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi) return;
    auto it = ranges_.upper_bound(lo);
    if (it != ranges_.begin() && std::prev(it)->second > lo) --it;
    while (it != ranges_.end() && it->first < hi) {
        const std::uint64_t a = it->first, b = it->second;
        it = ranges_.erase(it);
        if (a < lo) ranges_.emplace(a, lo);
        if (b > hi) {
            ranges_.emplace(hi, b);
            break;
        }
    }
}

std::uint64_t ElementRanges::elements() const {
    std::uint64_t n = 0;
    for (const auto& [lo, hi] : ranges_) n += hi - lo;
    return n;
}

void ElementRanges::for_each_in(std::uint64_t lo, std::uint64_t hi,
                                const std::function<void(std::uint64_t, std::uint64_t)>& f) const {
    if (lo >= hi) return;
    auto it = ranges_.upper_bound(lo);
    if (it != ranges_.begin() && std::prev(it)->second > lo) --it;
    for (; it != ranges_.end() && it->first < hi; ++it) {
        const std::uint64_t a = std::max(lo, it->first), b = std::min(hi, it->second);
        if (a < b) f(a, b);
    }
}

bool ElementRanges::covers(std::uint64_t lo, std::uint64_t hi) const {
    if (lo >= hi) return true;
    auto it = ranges_.upper_bound(lo);
    if (it == ranges_.begin()) return false;
    --it;
    return it->first <= lo && it->second >= hi;
}

void ElementRanges::for_each_gap_in(std::uint64_t lo, std::uint64_t hi,
                                    const std::function<void(std::uint64_t, std::uint64_t)>& f) const {
    if (lo >= hi) return;
    std::uint64_t at = lo;
    for_each_in(lo, hi, [&](std::uint64_t a, std::uint64_t b) {
        if (a > at) f(at, a);
        at = b;
    });
    if (at < hi) f(at, hi);
}

void ElementRanges::for_each(const std::function<void(std::uint64_t, std::uint64_t)>& f) const {
    for (const auto& [lo, hi] : ranges_) f(lo, hi);
}

std::uint64_t SavedElements::save_missing(const std::byte* base, std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi) return 0;
    // The gaps of [lo, hi) between saved pieces.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> gaps;
    std::uint64_t at = lo;
    auto it = pieces_.upper_bound(lo);
    if (it != pieces_.begin()) --it;
    for (; it != pieces_.end() && it->first < hi; ++it) {
        if (it->second.hi <= at) continue;
        if (it->first > at) gaps.emplace_back(at, it->first);
        at = std::max(at, it->second.hi);
    }
    if (at < hi) gaps.emplace_back(at, hi);

    std::uint64_t saved = 0;
    for (auto [a, b] : gaps) {
        const std::byte* src = base + a * elem_size_;
        const std::size_t n = static_cast<std::size_t>((b - a) * elem_size_);
        // Chunks land in lane order, so a gap usually continues the piece
        // before it: grow that one rather than add a piece per write.
        auto left = pieces_.lower_bound(a);
        if (left != pieces_.begin() && std::prev(left)->second.hi == a) {
            Piece& p = std::prev(left)->second;
            p.bytes.insert(p.bytes.end(), src, src + n);
            p.hi = b;
        } else {
            pieces_.emplace(a, Piece{b, std::vector<std::byte>(src, src + n)});
        }
        saved += n;
    }
    bytes_ += saved;
    return saved;
}

void SavedElements::restore(std::byte* base, std::uint64_t lo, std::uint64_t hi) const {
    if (lo >= hi) return;
    auto it = pieces_.upper_bound(lo);
    if (it != pieces_.begin() && std::prev(it)->second.hi > lo) --it;
    for (; it != pieces_.end() && it->first < hi; ++it) {
        const std::uint64_t a = std::max(lo, it->first), b = std::min(hi, it->second.hi);
        if (a >= b) continue;
        std::memcpy(base + a * elem_size_, it->second.bytes.data() + (a - it->first) * elem_size_,
                    static_cast<std::size_t>((b - a) * elem_size_));
    }
}

}  // namespace polymer::cluster
