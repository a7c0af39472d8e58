#include "vm/procs/region_sync.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>

namespace polymer {

namespace {

// Differing bytes closer than this join one run: a run's header costs
// about as much on the wire.
constexpr std::size_t kJoinGap = 32;
// Pages compare whole first: most of a large region is usually unchanged.
constexpr std::size_t kPage = 4096;

std::span<const std::byte> bytes_of(const Region& r) {
    return {static_cast<const std::byte*>(r.data), static_cast<std::size_t>(r.bytes())};
}

void add_run(std::vector<RegionWrite>& out, std::uint32_t region, const std::byte* base, std::size_t begin,
             std::size_t end) {
    while (begin < end) {
        const std::size_t n = std::min(end - begin, kMaxWriteBytes);
        RegionWrite w;
        w.region = region;
        w.offset = begin;
        w.bytes.assign(base + begin, base + begin + n);
        out.push_back(std::move(w));
        begin += n;
    }
}

}  // namespace

RegionTwin twin_of(const RegionStore& regions) {
    RegionTwin t(regions.size());
    for (std::size_t i = 0; i < regions.size(); ++i) {
        auto b = bytes_of(regions[i]);
        t[i].assign(b.begin(), b.end());
    }
    return t;
}

RegionTwin zero_twin(const RegionStore& regions) {
    RegionTwin t(regions.size());
    for (std::size_t i = 0; i < regions.size(); ++i) t[i].assign(regions[i].bytes(), std::byte{0});
    return t;
}

std::vector<RegionLength> take_lengths(const RegionStore& regions, RegionTwin& twin) {
    std::vector<RegionLength> out;
    for (std::size_t i = 0; i < regions.size() && i < twin.size(); ++i) {
        if (regions[i].bytes() == twin[i].size()) continue;
        out.push_back({static_cast<std::uint32_t>(i), regions[i].length});
        twin[i].assign(regions[i].bytes(), std::byte{0});
    }
    return out;
}

std::string apply_length(RegionStore& regions, RegionTwin& twin, const RegionLength& l, Backend* backend) {
    if (l.region >= regions.size() || l.region >= twin.size())
        return "region " + std::to_string(l.region) + " does not exist (the module has " + std::to_string(regions.size()) + ")";
    Region& r = regions[l.region];
    if (l.length > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        return "region '" + std::string(r.name) + "': " + std::to_string(l.length) + " elements";
    if (std::string why = regions.allocate(r, static_cast<std::int64_t>(l.length), backend); !why.empty())
        return "region '" + std::string(r.name) + "': " + why;
    twin[l.region].assign(r.bytes(), std::byte{0});
    return {};
}

std::vector<RegionWrite> take_changes(const RegionStore& regions, RegionTwin& twin) {
    std::vector<RegionWrite> out;
    for (std::size_t i = 0; i < regions.size() && i < twin.size(); ++i) {
        const auto now = bytes_of(regions[i]);
        std::vector<std::byte>& was = twin[i];
        if (now.size() != was.size()) continue;
        const std::byte* a = now.data();
        std::byte* b = was.data();
        const std::size_t n = now.size();
        std::size_t run_begin = 0, run_end = 0;  // the open run [begin, end); empty when equal
        bool open = false;
        for (std::size_t page = 0; page < n; page += kPage) {
            const std::size_t page_end = std::min(n, page + kPage);
            if (std::memcmp(a + page, b + page, page_end - page) == 0) continue;
            for (std::size_t k = page; k < page_end; ++k) {
                if (a[k] == b[k]) continue;
                if (open && k - run_end <= kJoinGap) {
                    run_end = k + 1;
                } else {
                    if (open) add_run(out, static_cast<std::uint32_t>(i), a, run_begin, run_end);
                    run_begin = k, run_end = k + 1, open = true;
                }
            }
            std::memcpy(b + page, a + page, page_end - page);
        }
        if (open) add_run(out, static_cast<std::uint32_t>(i), a, run_begin, run_end);
    }
    return out;
}

bool note_write(RegionTwin& twin, const RegionWrite& w) {
    if (w.region >= twin.size()) return false;
    std::vector<std::byte>& t = twin[w.region];
    if (w.offset > t.size() || w.bytes.size() > t.size() - w.offset) return false;
    std::copy(w.bytes.begin(), w.bytes.end(), t.begin() + static_cast<std::ptrdiff_t>(w.offset));
    return true;
}

bool apply_write(RegionStore& regions, RegionTwin& twin, const RegionWrite& w) {
    if (w.region >= regions.size() || w.region >= twin.size()) return false;
    Region& r = regions[w.region];
    if (r.bytes() != twin[w.region].size() || w.offset > r.bytes() || w.bytes.size() > r.bytes() - w.offset)
        return false;
    std::memcpy(static_cast<std::byte*>(r.data) + w.offset, w.bytes.data(), w.bytes.size());
    return note_write(twin, w);
}

}  // namespace polymer
