#include "cluster/node_store.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

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

RegionBytes::RegionBytes(std::size_t size) : data_(size == 0 ? nullptr : static_cast<std::uint8_t*>(std::calloc(size, 1))) {
    if (data_) size_ = size;
}

void RegionBytes::Free::operator()(std::uint8_t* p) const { std::free(p); }

void map_in_fresh_pages(std::uint8_t* at, std::size_t length) {
#ifdef MADV_POPULATE_WRITE
    constexpr std::size_t kMin = 1u << 20;  // small slices: the faults cost little
    if (length < kMin) return;
    const auto page = static_cast<std::uintptr_t>(sysconf(_SC_PAGESIZE));
    const auto first = reinterpret_cast<std::uintptr_t>(at) & ~(page - 1);
    const auto last = (reinterpret_cast<std::uintptr_t>(at) + length + page - 1) & ~(page - 1);
    madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#else
    (void)at;
    (void)length;
#endif
}

std::optional<Refusal> NodeStore::put(PeerId peer, const RegionPutView& p) {
    std::span<std::uint8_t> into;
    if (auto r = prepare_put(peer, RegionPutHead{p.region, p.version, p.total_bytes, p.offset, p.data.size()}, into)) return r;
    std::copy(p.data.begin(), p.data.end(), into.begin());
    return std::nullopt;
}

std::optional<Refusal> NodeStore::prepare_put(PeerId peer, const RegionPutHead& p, std::span<std::uint8_t>& out) {
    auto name = [&p] { return cat("region ", p.region, " version ", p.version); };  // only when refusing
    if (p.offset > p.total_bytes || p.length > p.total_bytes - p.offset)
        return Refusal{ErrorCode::OutOfRange, cat(name(), ": slice [", p.offset, ", ", p.offset + p.length,
                                                  ") runs past the region's ", p.total_bytes, " bytes")};
    auto it = regions_.find({peer, p.region});
    if (it != regions_.end() && it->second->version == p.version) {
        if (it->second->bytes.size() != p.total_bytes)
            return Refusal{ErrorCode::BadPayload, cat(name(), " is ", it->second->bytes.size(), " bytes, this put says ",
                                                      p.total_bytes)};
    } else if (it != regions_.end() && it->second.use_count() == 1 && it->second->bytes.size() == p.total_bytes) {
        // The next version of a region no running chunk holds: recycle its
        // storage (no page faults, no zeroing); gaps are zeroed on first use.
        auto next = std::make_shared<StoredRegion>();
        next->version = p.version;
        next->bytes = std::move(it->second->bytes);
        next->defined.emplace();
        it->second = std::move(next);
    } else {
        // A new region, a new size, or storage still in use: fresh zeroed storage.
        const std::uint64_t old = it == regions_.end() ? 0 : it->second->bytes.size();
        budget_.release(peer, old);
        if (auto r = budget_.reserve(peer, p.total_bytes, name())) {
            budget_.reserve(peer, old, name());  // gives back what was released: it fitted before
            return r;
        }
        auto fresh = std::make_shared<StoredRegion>();
        fresh->version = p.version;
        fresh->bytes = RegionBytes(static_cast<std::size_t>(p.total_bytes));
        if (fresh->bytes.size() != p.total_bytes) {
            budget_.release(peer, p.total_bytes);
            budget_.reserve(peer, old, name());
            return Refusal{ErrorCode::OutOfMemory, cat(name(), ": cannot allocate ", p.total_bytes, " bytes")};
        }
        it = regions_.insert_or_assign({peer, p.region}, std::move(fresh)).first;
    }
    out = it->second->receive(p.offset, p.length);
    return std::nullopt;
}

std::span<std::uint8_t> StoredRegion::receive(std::uint64_t offset, std::uint64_t length) {
    if (defined) defined->add(offset, offset + length);
    else map_in_fresh_pages(bytes.data() + offset, static_cast<std::size_t>(length));
    return std::span<std::uint8_t>(bytes.data(), bytes.size())
        .subspan(static_cast<std::size_t>(offset), static_cast<std::size_t>(length));
}

void NodeStore::drop_peer(PeerId peer) {
    for (auto it = regions_.lower_bound({peer, 0}); it != regions_.end() && it->first.first == peer;) {
        budget_.release(peer, it->second->bytes.size());
        it = regions_.erase(it);
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
