#include "cluster/node_store.h"

#include "isa/byte_io.h"
#include "isa/module_io.h"

namespace polymer::cluster {

using pbc::cat;

std::shared_ptr<const Module> NodeStore::module(const Sha256& hash) const {
    auto it = modules_.find(hash);
    return it == modules_.end() ? nullptr : it->second.first;
}

std::optional<Refusal> NodeStore::reserve(std::uint64_t bytes, const std::string& what) {
    if (bytes > max_memory_ - used_)
        return Refusal{ErrorCode::OutOfMemory, cat(what, " needs ", bytes, " bytes but the node has ", max_memory_ - used_,
                                                   " of its ", max_memory_, " bytes (--max-memory) left")};
    used_ += bytes;
    return std::nullopt;
}

std::optional<Refusal> NodeStore::add_module(const ModuleUpload& upload) {
    const std::string name = "module " + to_hex(upload.hash).substr(0, 16);
    if (sha256(upload.pbc) != upload.hash)
        return Refusal{ErrorCode::BadModule, cat(name, ": the bytes do not hash to the announced SHA-256")};
    if (has_module(upload.hash)) return std::nullopt;
    Result<Module> m = load_module(upload.pbc);
    if (!m) return Refusal{ErrorCode::BadModule, cat(name, " refused: ", m.error())};
    if (auto r = reserve(upload.pbc.size(), name)) return r;
    modules_[upload.hash] = {std::make_shared<const Module>(std::move(m).value()), upload.pbc.size()};
    return std::nullopt;
}

std::optional<Refusal> NodeStore::put(const RegionPut& p) {
    return put(RegionPutView{p.region, p.version, p.total_bytes, p.offset, p.data});
}

std::optional<Refusal> NodeStore::put(const RegionPutView& p) {
    const std::string name = cat("region ", p.region, " version ", p.version);
    if (p.offset > p.total_bytes || p.data.size() > p.total_bytes - p.offset)
        return Refusal{ErrorCode::OutOfRange, cat(name, ": slice [", p.offset, ", ", p.offset + p.data.size(),
                                                  ") runs past the region's ", p.total_bytes, " bytes")};
    auto it = regions_.find(p.region);
    if (it != regions_.end() && it->second->version == p.version) {
        if (it->second->bytes.size() != p.total_bytes)
            return Refusal{ErrorCode::BadPayload, cat(name, " is ", it->second->bytes.size(), " bytes, this put says ",
                                                      p.total_bytes)};
    } else {
        // A new region or a new version: fresh zeroed storage replaces the old.
        const std::uint64_t old = it == regions_.end() ? 0 : it->second->bytes.size();
        used_ -= old;
        if (auto r = reserve(p.total_bytes, name)) {
            used_ += old;
            return r;
        }
        auto fresh = std::make_shared<StoredRegion>();
        fresh->version = p.version;
        fresh->bytes.assign(p.total_bytes, 0);
        regions_[p.region] = std::move(fresh);
        it = regions_.find(p.region);
    }
    std::copy(p.data.begin(), p.data.end(), it->second->bytes.begin() + static_cast<std::ptrdiff_t>(p.offset));
    return std::nullopt;
}

std::optional<Refusal> NodeStore::get(const RegionGet& g, std::span<const std::uint8_t>& out) const {
    auto r = region(g.region, g.version);
    if (!r) {
        auto it = regions_.find(g.region);
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
    out = std::span<const std::uint8_t>(r->bytes).subspan(static_cast<std::size_t>(g.offset), static_cast<std::size_t>(g.length));
    return std::nullopt;
}

std::shared_ptr<StoredRegion> NodeStore::region(std::uint64_t id, std::uint64_t version) const {
    auto it = regions_.find(id);
    if (it == regions_.end() || it->second->version != version) return nullptr;
    return it->second;
}

}  // namespace polymer::cluster
