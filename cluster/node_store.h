// What a node keeps for its peers: modules by the peer that uploaded them and
// the SHA-256 of their .pbc bytes (verified on upload), and regions by the
// peer that put them and id, each at one version. Two homes never see each
// other's modules or regions (not even whether the other uploaded a module),
// and a peer's modules and regions go when its connection does. A module
// counts its bytes against the node's memory limit and the peer's quota
// (memory_budget.h), a region only the pages it holds (held_bytes.h): a node
// may hold a slice of a region far larger than its memory. A request that
// would pass a limit gets an error, never an allocation failure. Used from
// the io thread only; a running chunk holds shared_ptrs, so replacing a
// region never frees storage under it.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "cluster/auth.h"
#include "cluster/frame.h"
#include "cluster/held_bytes.h"
#include "cluster/memory_budget.h"
#include "cluster/messages.h"
#include "isa/module.h"

namespace polymer::cluster {

// Maps in the fresh pages a slice is about to land in, with one system call
// instead of a page fault per 4 KiB while the bytes arrive (a third of a new
// region's receive time here). Only an optimisation: failure changes nothing.
void map_in_fresh_pages(std::uint8_t* at, std::size_t length);

// A region version's bytes: an anonymous private mapping with no swap
// reserved (MAP_NORESERVE), so a fresh version reads as zeros without a pass
// over it and costs nothing until its pages are written: a node can hold a
// slice of a region larger than its memory.
class RegionBytes {
public:
    RegionBytes() = default;
    // Empty (nullptr data) when the mapping fails or `size` is 0.
    explicit RegionBytes(std::size_t size);
    std::uint8_t* data() const { return data_.get(); }
    std::size_t size() const { return size_; }
    // Gives the whole pages [lo, hi) back to the kernel: they read as zeros.
    void release(std::uint64_t lo, std::uint64_t hi);
    // Its huge page size when it is mapped on their boundary, else 0.
    std::uint64_t huge_page() const { return huge_; }
    // The kernel may map the whole huge pages in [lo, hi) as such.
    void prefer_huge_pages(std::uint64_t lo, std::uint64_t hi);

private:
    struct Unmap {
        std::size_t length;  // no initializer: GCC 12 then takes it as default-constructible in the class
        void operator()(std::uint8_t* p) const;
    };
    void advise(std::uint64_t lo, std::uint64_t hi, int advice);  // on the whole huge pages in [lo, hi)

    std::unique_ptr<std::uint8_t[], Unmap> data_{nullptr, Unmap{0}};
    std::size_t size_ = 0;
    std::uint64_t huge_ = 0;  // the huge page size when mapped on its boundary, else 0
};

// The system's page size: what region storage is held in.
std::uint64_t page_bytes();

struct StoredRegion {
    std::uint64_t id = 0;
    std::uint64_t version = 0;
    RegionBytes bytes;
    // The pages puts, fetches and chunks wrote (counted against the budgets),
    // and which of them still hold an older version's bytes.
    HeldBytes held{page_bytes()};

    // Makes [lo, hi) read as this version: zeroes what an older version left
    // there. Called before a chunk or a get uses the range (io thread).
    void settle(std::uint64_t lo, std::uint64_t hi) { held.zero_stale(bytes.data(), lo, hi); }
    // Where `length` bytes written at `offset` go (a put's slice, a halo
    // fetched from another node): they count as this version's from now on.
    // The caller checked that they lie inside and holds them (NodeStore::hold).
    std::span<std::uint8_t> receive(std::uint64_t offset, std::uint64_t length);
    // Pages [lo, hi) were just held: lets the kernel map each huge page
    // around them that is now held whole as one (a stream over it then
    // takes few TLB misses; what that gains and costs: docs/benchmarks.md,
    // "Huge pages on the nodes"). Only those, so the node's memory stays
    // what its held pages count: a huge page is mapped whole at its first
    // write, and RegionBytes::release makes pages of it again.
    void prefer_huge_pages(std::uint64_t lo, std::uint64_t hi);
    // "region 3 version 1 (holds 32 MiB of its 1 GiB here)"
    std::string describe() const;
};

// Bytes [lo, hi) of a stored region that are about to be written.
struct HoldRange {
    StoredRegion* region = nullptr;
    std::uint64_t lo = 0, hi = 0;
};

// How many regions a node maps, for one home and for all: each is a
// mapping of the process (the kernel allows some 65,000), and an empty one
// costs no memory, so the memory budget alone would not bound them.
inline constexpr std::size_t kMaxRegionsPerHome = 4096;
inline constexpr std::size_t kMaxRegionsPerNode = 32768;
// The largest region a node maps (address space, not memory: 128 TiB per
// process on x86-64).
inline constexpr std::uint64_t kMaxRegionBytes = std::uint64_t{1} << 40;

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
    // Checks a put and makes its region version when new (fresh storage, or
    // the older version's recycled), counts the pages the slice adds (refused
    // with out-of-memory past a limit), then points `out` at the
    // `head.length` bytes it will write, for the bytes to be received
    // straight there.
    std::optional<Refusal> prepare_put(PeerId peer, const RegionPutHead& head, std::span<std::uint8_t>& out);
    // Counts the pages of each range that its region does not hold yet
    // against `peer`'s budgets and holds them, all or none, before anything
    // writes there (a chunk's outputs, a fetched halo). When they would not
    // fit, first gives back the pages of recycled storage that only an older
    // version used, then refuses with out-of-memory, naming the region, what
    // it holds, the bytes asked and the limit.
    std::optional<Refusal> hold(PeerId peer, std::span<const HoldRange> ranges);
    // Forgets the peer's regions with these ids (its home will not name them
    // again): their pages stop counting at once; a running chunk that holds
    // one keeps its storage until it is done. Unknown ids are skipped.
    // Returns how many it forgot.
    std::size_t drop_regions(PeerId peer, std::span<const std::uint64_t> ids);
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
    // Region `id` at `version` for `peer`: the one held, or a new version on
    // recycled or fresh storage (the old one's pages no longer counted).
    std::variant<StoredRegion*, Refusal> version_for_put(PeerId peer, const RegionPutHead& p);
    // Gives back the pages only older versions used (HeldBytes::stale_pages),
    // of every peer's regions that nothing in flight holds; returns the bytes.
    std::uint64_t give_back_stale();

    MemoryBudget budget_;
    std::map<std::pair<PeerId, Sha256>, std::pair<std::shared_ptr<const Module>, std::uint64_t>> modules_;  // module, bytes counted
    std::map<std::pair<PeerId, std::uint64_t>, std::shared_ptr<StoredRegion>> regions_;
};

}  // namespace polymer::cluster
