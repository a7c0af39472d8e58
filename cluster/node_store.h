// What a node keeps for its peers: modules by SHA-256 of their .pbc bytes
// (verified once on upload) and regions by id, each at one version. Both
// count against one memory limit (--max-memory); a request that would pass it
// gets an error, never an allocation failure. Used from the io thread only;
// a running chunk holds shared_ptrs, so replacing a region never frees
// storage under it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "cluster/auth.h"
#include "cluster/frame.h"
#include "cluster/messages.h"
#include "isa/module.h"

namespace polymer::cluster {

struct StoredRegion {
    std::uint64_t version = 0;
    std::vector<std::uint8_t> bytes;
};

// An error to send back: code and one-line message.
struct Refusal {
    ErrorCode code;
    std::string message;
};

class NodeStore {
public:
    explicit NodeStore(std::uint64_t max_memory) : max_memory_(max_memory) {}

    bool has_module(const Sha256& hash) const { return modules_.count(hash) != 0; }
    std::shared_ptr<const Module> module(const Sha256& hash) const;
    // Checks the hash, parses and verifies the module, then caches it.
    std::optional<Refusal> add_module(const ModuleUpload& upload);

    std::optional<Refusal> put(const RegionPut& put);
    std::optional<Refusal> put(const RegionPutView& put);
    // Views [offset, offset + length) of region `id` at `version` (valid until
    // the store changes).
    std::optional<Refusal> get(const RegionGet& get, std::span<const std::uint8_t>& out) const;
    std::shared_ptr<StoredRegion> region(std::uint64_t id, std::uint64_t version) const;

    std::uint64_t used() const { return used_; }
    std::uint64_t max_memory() const { return max_memory_; }

private:
    std::optional<Refusal> reserve(std::uint64_t bytes, const std::string& what);

    std::uint64_t max_memory_;
    std::uint64_t used_ = 0;
    std::map<Sha256, std::pair<std::shared_ptr<const Module>, std::uint64_t>> modules_;  // module, bytes counted
    std::map<std::uint64_t, std::shared_ptr<StoredRegion>> regions_;
};

}  // namespace polymer::cluster
