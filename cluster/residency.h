// The home's directory of region data on a cluster (docs/cluster.md, "Data
// lives on the nodes"): for each home buffer, runs of elements and the set of
// participants holding their current values. The home's own memory is one
// holder (bit 0); each node that may keep data has its own bit. A run with no
// holder lost its values with a node and waits for recovery (lineage).
//
// Each buffer starts as one run held by the home alone; launches, fetches and
// home writes split runs, and neighbours with equal state merge again, so a
// buffer computed a chunk per node is a handful of runs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <vector>

namespace polymer::cluster {

using HolderSet = std::uint64_t;
inline constexpr HolderSet kHomeMemory = 1;  // the home's copy (and the home's own chunks)
// A distributed region's elements nobody has written yet (docs/cluster.md,
// "Placement"): every copy, the home's and each node's, reads them as zeros,
// so every participant holds them, nodes that join later too (all bits), and
// no one's memory holds anything for them (this bit says so). Nodes get
// bits 1..62.
inline constexpr HolderSet kZeros = HolderSet{1} << 63;
inline constexpr HolderSet kEveryone = ~HolderSet{0};
inline constexpr bool unwritten(HolderSet h) { return (h & kZeros) != 0; }

// A run of elements [begin, end) and its state.
struct DirectoryRun {
    std::uint64_t begin = 0, end = 0;
    HolderSet holders = kHomeMemory;
    // Read by a launch the lineage log holds, and not changed by the home
    // program since the last logged launch: a home write must be told to
    // the log (the write fence covers it).
    bool logged_input = false;
};

class Directory {
public:
    // Buffers are keyed by their home storage; one not yet seen is all home,
    // or with `zeros` (a distributed region's fresh storage) all kEveryone.
    // `length` is its element count (a key seen again with another length
    // starts afresh: the storage was replaced).
    void track(const void* key, std::uint64_t length, bool zeros = false);
    bool tracks(const void* key) const { return buffers_.count(key) != 0; }
    void forget(const void* key) { buffers_.erase(key); }

    // The runs covering [begin, end) (clipped to the buffer), split at its ends.
    std::vector<DirectoryRun> runs(const void* key, std::uint64_t begin, std::uint64_t end) const;
    // Holders of [begin, end) become exactly `holders`.
    void set(const void* key, std::uint64_t begin, std::uint64_t end, HolderSet holders);
    // `more` also holds [begin, end).
    void add(const void* key, std::uint64_t begin, std::uint64_t end, HolderSet more);
    void mark_logged_input(const void* key, std::uint64_t begin, std::uint64_t end, bool logged);
    // Clears every logged_input mark (a new lineage epoch).
    void clear_logged_inputs();
    // Removes `gone` from every run; calls `lost` for each run left with no holder.
    void drop_holder(HolderSet gone, const std::function<void(const void* key, std::uint64_t begin, std::uint64_t end)>& lost);

    // Hulls for the Region fences: elements the home does not hold (reads),
    // elements held elsewhere too or logged inputs (writes). (0, 0): none.
    std::pair<std::uint64_t, std::uint64_t> read_hull(const void* key) const;
    std::pair<std::uint64_t, std::uint64_t> write_hull(const void* key) const;
    // Whether every element of every buffer is current at home.
    bool all_at_home() const;
    // Elements (and runs) `who` holds, over all buffers, not counting
    // unwritten ones (no memory holds them); for --stats and memory plans.
    struct Held {
        std::uint64_t runs = 0, elements = 0;
    };
    Held held_by(HolderSet who, const std::function<std::uint64_t(const void* key)>& elem_size, std::uint64_t* bytes) const;
    // Every buffer and its runs, in key order (for residency reports).
    void each(const std::function<void(const void* key, const std::vector<DirectoryRun>& runs)>& f) const;

private:
    struct Entry {
        std::uint64_t end = 0;
        HolderSet holders = kHomeMemory;
        bool logged_input = false;
        bool operator==(const Entry& o) const { return holders == o.holders && logged_input == o.logged_input; }
    };
    struct Buffer {
        std::uint64_t length = 0;
        std::map<std::uint64_t, Entry> runs;  // begin -> run; covers [0, length) with no gap
    };
    // Splits so that a run starts at `at` (0 < at < length); returns it.
    static std::map<std::uint64_t, Entry>::iterator split(Buffer& b, std::uint64_t at);
    // Applies `f` to the runs of [begin, end), then merges equal neighbours.
    static void update(Buffer& b, std::uint64_t begin, std::uint64_t end, const std::function<void(Entry&)>& f);
    static void merge_around(Buffer& b, std::uint64_t begin, std::uint64_t end);
    std::map<const void*, Buffer> buffers_;
};

}  // namespace polymer::cluster
