#include "cluster/memory_budget.h"

#include <cstdio>

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

std::string size_text(std::uint64_t bytes) {
    static const char* const kUnits[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) return cat(bytes, bytes == 1 ? " byte" : " bytes");
    int unit = 0;
    while (unit < 5 && bytes >= (std::uint64_t{1024} << (10 * (unit + 1)))) ++unit;
    const std::uint64_t one = std::uint64_t{1} << (10 * (unit + 1));
    if (bytes % one == 0) return cat(bytes / one, " ", kUnits[unit]);
    char text[32];
    std::snprintf(text, sizeof text, "%.1f %s", static_cast<double>(bytes) / static_cast<double>(one), kUnits[unit]);
    return text;
}

std::optional<Refusal> MemoryBudget::reserve(PeerId peer, std::uint64_t bytes, std::string_view what) {
    std::lock_guard lock(mutex_);
    const std::uint64_t mine = used_by_locked(peer);
    if (bytes > node_limit_ - used_)
        return Refusal{ErrorCode::OutOfMemory, cat(what, ": ", size_text(bytes), " more would pass this node's memory limit of ",
                                                   size_text(node_limit_), " (--max-memory; its homes hold ", size_text(used_), ")")};
    if (bytes > peer_limit_ - mine)
        return Refusal{ErrorCode::OutOfMemory, cat(what, ": ", size_text(bytes), " more would pass this home's memory limit of ",
                                                   size_text(peer_limit_), " (--max-peer-memory; it holds ", size_text(mine), ")")};
    used_ += bytes;
    if (bytes != 0) by_peer_[peer] = mine + bytes;
    return std::nullopt;
}

void MemoryBudget::release(PeerId peer, std::uint64_t bytes) {
    std::lock_guard lock(mutex_);
    auto it = by_peer_.find(peer);
    if (it == by_peer_.end() || bytes == 0) return;
    const std::uint64_t n = std::min(bytes, it->second);
    used_ -= n;
    if ((it->second -= n) == 0) by_peer_.erase(it);
}

}  // namespace polymer::cluster
