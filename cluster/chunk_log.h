// Each chunk run of the cluster's launches, for --trace (docs/cluster.md,
// "Seeing it"): who ran which lanes, from the moment it was sent (or started,
// at home) until its result came back, and whether that result was the one
// applied. ClusterBackend's worker threads add to it; it records nothing until
// enabled, and stops at a limit (the trace says so) so memory stays bounded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

namespace polymer::cluster {

enum class ChunkOutcome : std::uint8_t {
    Applied,    // its result is the one that counted
    Lost,       // its result came back after another copy's: dropped
    Failed,     // its participant dropped out (or refused it): re-run elsewhere
    Abandoned,  // another copy finished first; its result was never waited for
    Fetched,    // not a chunk: region values the home fetched from the node (kernel: "fetch REGION", begin/end: elements)
    Halo,       // not a chunk: values the node fetched from another node for a chunk (kernel: "halo REGION from NODE",
                // begin/end: elements; start/finish: that chunk's, as the home saw it)
    Vector,     // not a chunk: a piece of a vector op it ran (kernel: the mnemonic, begin/end: elements)
};
const char* outcome_name(ChunkOutcome o);

struct ChunkRun {
    // Index into ClusterBackend's participants (home first when it takes
    // part); kWholeAtHome: a launch that cannot be cut, run whole at home.
    static constexpr std::uint32_t kWholeAtHome = 0xFFFF'FFFF;
    std::uint32_t participant = 0;
    std::uint64_t launch = 0;  // 1, 2, ... in the order launches ran
    std::string kernel;
    std::uint64_t begin = 0, end = 0;  // lanes
    std::chrono::steady_clock::time_point start{}, finish{};
    std::uint64_t bytes_out = 0, bytes_in = 0;  // nodes: payload sent for it / received with its result
    bool backup = false;
    ChunkOutcome outcome = ChunkOutcome::Applied;
};

class ChunkLog {
public:
    static constexpr std::size_t kDefaultLimit = 1'000'000;  // about 100 MB at most

    void enable(std::size_t limit = kDefaultLimit);
    bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
    // Thread-safe; a no-op while disabled or past the limit.
    void add(ChunkRun run);
    // Read once the launches are finished (after wait_all).
    std::vector<ChunkRun> runs() const;
    bool truncated() const;

private:
    std::atomic<bool> enabled_{false};
    mutable std::mutex mutex_;
    std::size_t limit_ = 0;
    bool truncated_ = false;
    std::vector<ChunkRun> runs_;
};

}  // namespace polymer::cluster
