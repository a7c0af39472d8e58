// What a node keeps for its peers: modules by the peer that uploaded them and
// the SHA-256 of their .pbc bytes (verified on upload), and regions by the
// peer that put them and id, each at one version. Two homes never see each
// other's modules or regions (not even whether the other uploaded a module),
// and a peer's modules and regions go when its connection does. Both count
// against the node's memory limit and the peer's quota (memory_budget.h); a
// request that would pass one gets an error, never an allocation failure. Used from the io thread only;
// a running chunk holds shared_ptrs, so replacing a region never frees
// storage under it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "cluster/auth.h"
#include "cluster/defined_ranges.h"
#include "cluster/frame.h"
#include "cluster/memory_budget.h"
#include "cluster/messages.h"
#include "isa/module.h"

namespace polymer::cluster {

// Maps in the fresh pages a slice is about to land in, with one system call
// instead of a page fault per 4 KiB while the bytes arrive (a third of a new
// region's receive time here). Only an optimisation: failure changes nothing.
void map_in_fresh_pages(std::uint8_t* at, std::size_t length);

// A region version's bytes, from calloc: a fresh version reads as zeros
// without a pass over it (the kernel maps zero pages as they are first
// touched, and a put's bytes are what touches them).
class RegionBytes {
public:
    RegionBytes() = default;
    // Empty (nullptr data) when the allocation fails or `size` is 0.
    explicit RegionBytes(std::size_t size);
    std::uint8_t* data() const { return data_.get(); }
    std::size_t size() const { return size_; }

private:
    struct Free {
        void operator()(std::uint8_t* p) const;
    };
    std::unique_ptr<std::uint8_t[], Free> data_;
    std::size_t size_ = 0;
};

struct StoredRegion {
    std::uint64_t version = 0;
    RegionBytes bytes;
    // Set when the storage was recycled from the previous version: what this
    // version has defined so far. Unset: fresh storage, zero wherever not put.
    std::optional<DefinedRanges> defined;

    // Makes [lo, hi) read as this version: zeroes what no put has written.
    // Called before a chunk or a get uses the range (io thread).
    void settle(std::uint64_t lo, std::uint64_t hi) {
        if (defined) defined->zero_gaps(bytes.data(), lo, hi);
    }
    // Where `length` bytes written at `offset` go (a put's slice, a halo
    // fetched from another node): they count as this version's from now on.
    // The caller checked that they lie inside.
    std::span<std::uint8_t> receive(std::uint64_t offset, std::uint64_t length);
};

class NodeStore {
public:
    // `max_peer_memory` 0: one peer may use all of `max_memory`.
    explicit NodeStore(std::uint64_t max_memory, std::uint64_t max_peer_memory = 0) : budget_(max_memory, max_peer_memory) {}

    // Whether `peer` uploaded the module: a home learns nothing of another's.
    bool has_module(PeerId peer, const Sha256& hash) const { return modules_.count({peer, hash}) != 0; }
    std::shared_ptr<const Module> module(PeerId peer, const Sha256& hash) const;
    // Checks the hash, parses and verifies the module, then keeps it for `peer`.
    std::optional<Refusal> add_module(PeerId peer, const ModuleUpload& upload);

    std::optional<Refusal> put(PeerId peer, const RegionPutView& put);
    // Checks a put and makes its region version (a new version: fresh zeroed
    // storage), then points `out` at the `head.length` bytes it will write,
    // for the bytes to be received straight there.
    std::optional<Refusal> prepare_put(PeerId peer, const RegionPutHead& head, std::span<std::uint8_t>& out);
    // Forgets every module and region of a peer (its connection closed).
    void drop_peer(PeerId peer);
    // Views [offset, offset + length) of region `id` at `version` (valid until
    // the store changes).
    std::optional<Refusal> get(PeerId peer, const RegionGet& get, std::span<const std::uint8_t>& out);
    std::shared_ptr<StoredRegion> region(PeerId peer, std::uint64_t id, std::uint64_t version) const;

    std::uint64_t used() const { return budget_.used(); }
    std::uint64_t max_memory() const { return budget_.node_limit(); }
    // Also counts what a peer holds outside the store (a frame being received).
    MemoryBudget& budget() { return budget_; }

private:
    MemoryBudget budget_;
    std::map<std::pair<PeerId, Sha256>, std::pair<std::shared_ptr<const Module>, std::uint64_t>> modules_;  // module, bytes counted
    std::map<std::pair<PeerId, std::uint64_t>, std::shared_ptr<StoredRegion>> regions_;
};

}  // namespace polymer::cluster
