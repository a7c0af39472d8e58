// What the peers of a node make it hold (regions, modules, frames being
// received), counted against the node's limit (--max-memory) and a quota per
// peer (--max-peer-memory), so one home cannot take what the others need. A
// request past either gets a Refusal to send back, never an allocation.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/messages.h"

namespace polymer::cluster {

// A size as people read it: "64 MiB", "1.5 GiB", "4 KiB", "100 bytes"
// (units are powers of 1024; one decimal when it is not a whole number).
std::string size_text(std::uint64_t bytes);

// Which connection something belongs to (NodeServer numbers them).
using PeerId = std::uint64_t;

// An error to send back: code and one-line message.
struct Refusal {
    ErrorCode code;
    std::string message;
};

// Any thread: the io thread counts what sessions hold, and the threads that
// read a chan-inbox (cluster/channel_inbox.h) count the frames they read.
class MemoryBudget {
public:
    // `peer_limit` 0: a peer may use the whole node.
    MemoryBudget(std::uint64_t node_limit, std::uint64_t peer_limit)
        : node_limit_(node_limit), peer_limit_(peer_limit == 0 || peer_limit > node_limit ? node_limit : peer_limit) {}

    // Counts `bytes` for `peer`, or says why not: "WHAT: 4 MiB more would
    // pass this node's memory limit of 64 MiB (--max-memory; its homes hold
    // 62 MiB)" (`what` names the request).
    std::optional<Refusal> reserve(PeerId peer, std::uint64_t bytes, std::string_view what);
    void release(PeerId peer, std::uint64_t bytes);

    std::uint64_t used() const {
        std::lock_guard lock(mutex_);
        return used_;
    }
    std::uint64_t used_by(PeerId peer) const {
        std::lock_guard lock(mutex_);
        return used_by_locked(peer);
    }
    std::uint64_t node_limit() const { return node_limit_; }
    std::uint64_t peer_limit() const { return peer_limit_; }

private:
    std::uint64_t used_by_locked(PeerId peer) const {
        auto it = by_peer_.find(peer);
        return it == by_peer_.end() ? 0 : it->second;
    }

    mutable std::mutex mutex_;
    std::uint64_t node_limit_, peer_limit_;
    std::uint64_t used_ = 0;
    std::map<PeerId, std::uint64_t> by_peer_;  // peers holding something
};

}  // namespace polymer::cluster
