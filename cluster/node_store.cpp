#include "cluster/node_store.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <iterator>

#include "isa/byte_io.h"
#include "isa/module_io.h"

namespace polymer::cluster {

using pbc::cat;

std::shared_ptr<const Module> NodeStore::module(PeerId peer, const Sha256& hash) const {
    auto it = modules_.find({peer, hash});
    return it == modules_.end() ? nullptr : it->second.first;
}

std::optional<Refusal> NodeStore::add_module(PeerId peer, const ModuleUpload& upload) {
    const std::string name = "module " + to_hex(upload.hash).substr(0, 16);
    if (sha256(upload.pbc) != upload.hash)
        return Refusal{ErrorCode::BadModule, cat(name, ": the bytes do not hash to the announced SHA-256")};
    if (has_module(peer, upload.hash)) return std::nullopt;
    Result<Module> m = load_module(upload.pbc);
    if (!m) return Refusal{ErrorCode::BadModule, cat(name, " refused: ", m.error())};
    if (auto r = budget_.reserve(peer, upload.pbc.size(), name)) return r;
    modules_[{peer, upload.hash}] = {std::make_shared<const Module>(std::move(m).value()), upload.pbc.size()};
    return std::nullopt;
}

namespace {

// The transparent huge page size when the kernel gives huge pages to a
// mapping that asks (THP "always" or "madvise"), else 0.
std::uint64_t huge_page_bytes() {
    static const std::uint64_t huge = [] {
        std::ifstream enabled("/sys/kernel/mm/transparent_hugepage/enabled");
        const std::string modes((std::istreambuf_iterator<char>(enabled)), std::istreambuf_iterator<char>());
        if (modes.empty() || modes.find("[never]") != std::string::npos) return std::uint64_t{0};
        std::ifstream size("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size");
        std::uint64_t bytes = 0;
        size >> bytes;
        return bytes > page_bytes() && (bytes & (bytes - 1)) == 0 ? bytes : std::uint64_t{0};
    }();
    return huge;
}

}  // namespace

RegionBytes::RegionBytes(std::size_t size) {
    if (size == 0) return;
    const std::uint64_t huge = huge_page_bytes();
    // A region of a huge page or more is mapped on a huge page boundary, so
    // its offsets' huge pages are the kernel's (prefer_huge_pages).
    const std::size_t slack = huge != 0 && size >= huge ? static_cast<std::size_t>(huge) : 0;
    void* p = mmap(nullptr, size + slack, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) return;
    auto* at = static_cast<std::uint8_t*>(p);
    if (slack != 0) {
        const auto address = reinterpret_cast<std::uintptr_t>(at);
        const auto head = static_cast<std::size_t>(((address + slack - 1) & ~(std::uintptr_t{slack} - 1)) - address);
        if (head != 0) munmap(at, head);
        if (slack != head) munmap(at + head + size, slack - head);
        at += head;
        huge_ = slack;
    }
    data_ = std::unique_ptr<std::uint8_t[], Unmap>(at, Unmap{size});
    size_ = size;
}

void RegionBytes::Unmap::operator()(std::uint8_t* p) const { munmap(p, length); }

void RegionBytes::release(std::uint64_t lo, std::uint64_t hi) {
    if (lo >= hi) return;
    madvise(data_.get() + lo, static_cast<std::size_t>(hi - lo), MADV_DONTNEED);
    // Its huge pages are no longer held whole: pages again (prefer_huge_pages).
    if (huge_ != 0) advise(lo & ~(huge_ - 1), (hi + huge_ - 1) & ~(huge_ - 1), MADV_NOHUGEPAGE);
}

void RegionBytes::prefer_huge_pages(std::uint64_t lo, std::uint64_t hi) {
    if (huge_ != 0) advise((lo + huge_ - 1) & ~(huge_ - 1), hi & ~(huge_ - 1), MADV_HUGEPAGE);
}

void RegionBytes::advise(std::uint64_t lo, std::uint64_t hi, int advice) {
    hi = std::min<std::uint64_t>(hi, size_ & ~(huge_ - 1));  // the last, partial one is never huge
    if (lo < hi) madvise(data_.get() + lo, static_cast<std::size_t>(hi - lo), advice);
}

std::uint64_t page_bytes() {
    static const auto page = static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
    return page;
}

void map_in_fresh_pages(std::uint8_t* at, std::size_t length) {
#ifdef MADV_POPULATE_WRITE
    constexpr std::size_t kMin = 1u << 20;  // small slices: the faults cost little
    if (length < kMin) return;
    const std::uint64_t page = page_bytes();
    const auto first = reinterpret_cast<std::uintptr_t>(at) & ~(page - 1);
    const auto last = (reinterpret_cast<std::uintptr_t>(at) + length + page - 1) & ~(page - 1);
    madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#else
    (void)at;
    (void)length;
#endif
}

std::string StoredRegion::describe() const {
    return cat("region ", id, " version ", version, " (holds ", size_text(held.bytes()), " of its ", size_text(bytes.size()), " here)");
}

void StoredRegion::prefer_huge_pages(std::uint64_t lo, std::uint64_t hi) {
    const std::uint64_t huge = bytes.huge_page();
    if (huge == 0) return;
    for (std::uint64_t g = lo & ~(huge - 1); g < hi; g += huge)
        if (held.missing(g, g + huge) == 0) bytes.prefer_huge_pages(g, g + huge);
}

std::span<std::uint8_t> StoredRegion::receive(std::uint64_t offset, std::uint64_t length) {
    held.overwritten(offset, offset + length);
    map_in_fresh_pages(bytes.data() + offset, static_cast<std::size_t>(length));
    return std::span<std::uint8_t>(bytes.data(), bytes.size())
        .subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
}

std::optional<Refusal> NodeStore::put(PeerId peer, const RegionPutView& p) {
    std::span<std::uint8_t> into;
    if (auto r = prepare_put(peer, RegionPutHead{p.region, p.version, p.total_bytes, p.offset, p.data.size()}, into)) return r;
    std::copy(p.data.begin(), p.data.end(), into.begin());
    return std::nullopt;
}

std::optional<Refusal> NodeStore::prepare_put(PeerId peer, const RegionPutHead& p, std::span<std::uint8_t>& out) {
    if (p.offset > p.total_bytes || p.length > p.total_bytes - p.offset)
        return Refusal{ErrorCode::OutOfRange, cat("region ", p.region, " version ", p.version, ": slice [", p.offset, ", ",
                                                  p.offset + p.length, ") runs past the region's ", p.total_bytes, " bytes")};
    auto made = version_for_put(peer, p);
    if (auto* refusal = std::get_if<Refusal>(&made)) return std::move(*refusal);
    StoredRegion& region = *std::get<StoredRegion*>(made);
    const HoldRange slice{&region, p.offset, p.offset + p.length};
    if (auto r = hold(peer, std::span(&slice, 1))) return r;
    out = region.receive(p.offset, p.length);
    return std::nullopt;
}

std::variant<StoredRegion*, Refusal> NodeStore::version_for_put(PeerId peer, const RegionPutHead& p) {
    auto name = [&p] { return cat("region ", p.region, " version ", p.version); };  // only when refusing
    auto it = regions_.find({peer, p.region});
    if (it != regions_.end() && it->second->version == p.version) {
        if (it->second->bytes.size() != p.total_bytes)
            return Refusal{ErrorCode::BadPayload, cat(name(), " is ", it->second->bytes.size(), " bytes, this put says ", p.total_bytes)};
        return it->second.get();
    }
    auto next = std::make_shared<StoredRegion>();
    next->id = p.region;
    next->version = p.version;
    if (it != regions_.end() && it->second.use_count() == 1 && it->second->bytes.size() == p.total_bytes) {
        // The next version of a region no running chunk holds: recycle its
        // storage (no page faults, no zeroing); what it held stays counted,
        // stale until this version writes it or a settle zeroes it.
        next->bytes = std::move(it->second->bytes);
        next->held = std::move(it->second->held);
        next->held.recycle();
        it->second = std::move(next);
        return it->second.get();
    }
    // A new region, a new size, or storage still in use: fresh zero pages.
    if (p.total_bytes > kMaxRegionBytes)
        return Refusal{ErrorCode::OutOfMemory, cat(name(), ": ", size_text(p.total_bytes), " is over the largest region a node maps (",
                                                   size_text(kMaxRegionBytes), ")")};
    if (it == regions_.end()) {
        const auto mine = std::distance(regions_.lower_bound({peer, 0}), regions_.upper_bound({peer, UINT64_MAX}));
        if (static_cast<std::size_t>(mine) >= kMaxRegionsPerHome)
            return Refusal{ErrorCode::OutOfMemory, cat(name(), ": this home has ", mine, " regions here, the most a node keeps for one home")};
        if (regions_.size() >= kMaxRegionsPerNode)
            return Refusal{ErrorCode::OutOfMemory, cat(name(), ": this node keeps ", regions_.size(), " regions for its homes, its most")};
    }
    next->bytes = RegionBytes(static_cast<std::size_t>(p.total_bytes));
    if (next->bytes.size() != p.total_bytes)
        return Refusal{ErrorCode::OutOfMemory, cat(name(), ": cannot map ", size_text(p.total_bytes), " of address space")};
    if (it != regions_.end()) {
        budget_.release(peer, it->second->held.bytes());
        it->second = std::move(next);
        return it->second.get();
    }
    return regions_.emplace(std::make_pair(peer, p.region), std::move(next)).first->second.get();
}

namespace {

// A byte offset in a refusal: "512 MiB", "100".
std::string offset_text(std::uint64_t at) { return at < 1024 ? std::to_string(at) : size_text(at); }

}  // namespace

std::optional<Refusal> NodeStore::hold(PeerId peer, std::span<const HoldRange> ranges) {
    for (int attempt = 0;; ++attempt) {
        std::vector<std::pair<StoredRegion*, std::pair<std::uint64_t, std::uint64_t>>> added;  // to undo
        std::optional<Refusal> refusal;
        for (const HoldRange& r : ranges) {
            const std::uint64_t more = r.region->held.missing(r.lo, r.hi);
            if (more == 0) continue;
            refusal = budget_.reserve(peer, more, cat(r.region->describe(), ", bytes [", offset_text(r.lo), ", ", offset_text(r.hi), ")"));
            if (refusal) break;
            std::vector<std::pair<std::uint64_t, std::uint64_t>> pages;
            r.region->held.hold(r.lo, r.hi, &pages);
            for (const auto& range : pages) added.emplace_back(r.region, range);
        }
        if (!refusal) {
            for (const auto& [region, range] : added) region->prefer_huge_pages(range.first, range.second);
            return std::nullopt;
        }
        for (const auto& [region, range] : added) budget_.release(peer, region->held.let_go(range.first, range.second));
        if (attempt != 0 || give_back_stale() == 0) return refusal;
    }
}

std::uint64_t NodeStore::give_back_stale() {
    std::uint64_t freed = 0;
    for (auto& [key, region] : regions_) {
        // Only storage nothing else holds: a running chunk's or a fetch's
        // target may still be written (a fetch's range is stale until its
        // bytes are in).
        if (!region->held.has_stale() || region.use_count() != 1) continue;
        for (const auto& [lo, hi] : region->held.stale_pages()) {
            region->bytes.release(lo, hi);
            const std::uint64_t n = region->held.let_go(lo, hi);
            budget_.release(key.first, n);
            freed += n;
        }
    }
    return freed;
}

std::size_t NodeStore::drop_regions(PeerId peer, std::span<const std::uint64_t> ids) {
    std::size_t dropped = 0;
    for (std::uint64_t id : ids) {
        auto it = regions_.find({peer, id});
        if (it == regions_.end()) continue;
        budget_.release(peer, it->second->held.bytes());
        regions_.erase(it);  // unmapped here, or when the last running chunk that holds it is done
        ++dropped;
    }
    return dropped;
}

void NodeStore::drop_peer(PeerId peer) {
    for (auto it = regions_.lower_bound({peer, 0}); it != regions_.end() && it->first.first == peer;) {
        budget_.release(peer, it->second->held.bytes());
        it = regions_.erase(it);  // unmapped here, or when the last running chunk that holds it is done
    }
    for (auto it = modules_.lower_bound({peer, Sha256{}}); it != modules_.end() && it->first.first == peer;) {
        budget_.release(peer, it->second.second);  // a running chunk keeps its own shared_ptr
        it = modules_.erase(it);
    }
}

std::optional<Refusal> NodeStore::get(PeerId peer, const RegionGet& g, std::span<const std::uint8_t>& out) {
    auto r = region(peer, g.region, g.version);
    if (!r) {
        auto it = regions_.find({peer, g.region});
        if (it == regions_.end()) return Refusal{ErrorCode::UnknownRegion, cat("region ", g.region, " is not on this node")};
        return Refusal{ErrorCode::UnknownRegion, cat("region ", g.region, " is at version ", it->second->version,
                                                     " on this node, not ", g.version)};
    }
    if (g.length > kMaxSliceBytes)
        return Refusal{ErrorCode::OutOfRange, cat("region ", g.region, ": a get of ", g.length,
                                                  " bytes is over the slice limit of ", kMaxSliceBytes)};
    if (g.offset > r->bytes.size() || g.length > r->bytes.size() - g.offset)
        return Refusal{ErrorCode::OutOfRange, cat("region ", g.region, ": slice [", g.offset, ", ", g.offset + g.length,
                                                  ") runs past its ", r->bytes.size(), " bytes")};
    r->settle(g.offset, g.offset + g.length);
    out = std::span<const std::uint8_t>(r->bytes.data(), r->bytes.size()).subspan(static_cast<std::size_t>(g.offset), static_cast<std::size_t>(g.length));
    return std::nullopt;
}

std::shared_ptr<StoredRegion> NodeStore::region(PeerId peer, std::uint64_t id, std::uint64_t version) const {
    auto it = regions_.find({peer, id});
    if (it == regions_.end() || it->second->version != version) return nullptr;
    return it->second;
}

}  // namespace polymer::cluster
