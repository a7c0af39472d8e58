#include "cluster/memory_budget.h"

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

std::optional<Refusal> MemoryBudget::reserve(PeerId peer, std::uint64_t bytes, const std::string& what) {
    const std::uint64_t mine = used_by(peer);
    if (bytes > node_limit_ - used_)
        return Refusal{ErrorCode::OutOfMemory, cat(what, " needs ", bytes, " bytes but the node has ", node_limit_ - used_,
                                                   " of its ", node_limit_, " bytes (--max-memory) left")};
    if (bytes > peer_limit_ - mine)
        return Refusal{ErrorCode::OutOfMemory, cat(what, " needs ", bytes, " bytes but this home has ", peer_limit_ - mine,
                                                   " of its ", peer_limit_, " bytes (--max-peer-memory) left")};
    used_ += bytes;
    if (bytes != 0) by_peer_[peer] = mine + bytes;
    return std::nullopt;
}

void MemoryBudget::release(PeerId peer, std::uint64_t bytes) {
    auto it = by_peer_.find(peer);
    if (it == by_peer_.end() || bytes == 0) return;
    const std::uint64_t n = std::min(bytes, it->second);
    used_ -= n;
    if ((it->second -= n) == 0) by_peer_.erase(it);
}

}  // namespace polymer::cluster
