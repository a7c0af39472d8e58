#include "cluster/chunk_log.h"

namespace polymer::cluster {

const char* outcome_name(ChunkOutcome o) {
    switch (o) {
    case ChunkOutcome::Applied: return "applied";
    case ChunkOutcome::Lost: return "lost";
    case ChunkOutcome::Failed: return "failed";
    case ChunkOutcome::Abandoned: return "abandoned";
    case ChunkOutcome::Fetched: return "fetched";
    case ChunkOutcome::Halo: return "halo";
    case ChunkOutcome::Vector: return "vector";
    }
    return "?";
}

void ChunkLog::enable(std::size_t limit) {
    std::lock_guard lock(mutex_);
    limit_ = limit;
    enabled_.store(true, std::memory_order_relaxed);
}

void ChunkLog::add(ChunkRun run) {
    if (!enabled()) return;
    std::lock_guard lock(mutex_);
    if (runs_.size() >= limit_) {
        truncated_ = true;
        return;
    }
    runs_.push_back(std::move(run));
}

std::vector<ChunkRun> ChunkLog::runs() const {
    std::lock_guard lock(mutex_);
    return runs_;
}

bool ChunkLog::truncated() const {
    std::lock_guard lock(mutex_);
    return truncated_;
}

}  // namespace polymer::cluster
