#include "cluster/held_bytes.h"

#include <cstring>

namespace polymer::cluster {

std::uint64_t HeldBytes::missing(std::uint64_t lo, std::uint64_t hi) const {
    if (lo >= hi) return 0;
    const std::uint64_t a = page_down(lo), b = page_up(hi);
    std::uint64_t have = 0;
    held_.for_each_in(a, b, [&](std::uint64_t x, std::uint64_t y) { have += y - x; });
    return b - a - have;
}

std::uint64_t HeldBytes::hold(std::uint64_t lo, std::uint64_t hi, std::vector<std::pair<std::uint64_t, std::uint64_t>>* added) {
    if (lo >= hi) return 0;
    const std::uint64_t a = page_down(lo), b = page_up(hi);
    std::uint64_t more = 0;
    held_.for_each_gap_in(a, b, [&](std::uint64_t x, std::uint64_t y) {
        more += y - x;
        if (added) added->emplace_back(x, y);
    });
    held_.add(a, b);
    bytes_ += more;
    return more;
}

std::uint64_t HeldBytes::let_go(std::uint64_t lo, std::uint64_t hi) {
    std::uint64_t had = 0;
    held_.for_each_in(lo, hi, [&](std::uint64_t x, std::uint64_t y) { had += y - x; });
    held_.remove(lo, hi);
    stale_.remove(lo, hi);
    bytes_ -= had;
    return had;
}

std::uint64_t HeldBytes::zero_stale(std::uint8_t* base, std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi || stale_.empty()) return 0;
    std::uint64_t zeroed = 0;
    stale_.for_each_in(lo, hi, [&](std::uint64_t a, std::uint64_t b) {
        std::memset(base + a, 0, b - a);
        zeroed += b - a;
    });
    stale_.remove(lo, hi);
    return zeroed;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> HeldBytes::stale_pages() const {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> pages;
    stale_.for_each([&](std::uint64_t a, std::uint64_t b) {
        // A page this version has partly written stays.
        const std::uint64_t x = page_up(a), y = page_down(b);
        if (x < y) pages.emplace_back(x, y);
    });
    return pages;
}

}  // namespace polymer::cluster
