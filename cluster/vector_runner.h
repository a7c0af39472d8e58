// A node's side of a vector-chunk (docs/protocol.md): checks the message
// against the op's operand rules and the node's stored regions, then runs
// the op over [begin, end) of them with the CPU vector loops
// (vm/vector_op.h run_vector_piece_cpu: the same code as one machine's, so a
// cluster's result has the same bits), whatever the node's --backend.
#pragma once

#include <memory>
#include <variant>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_store.h"
#include "vm/vector_op.h"

namespace polymer::cluster {

// Bytes [lo, hi) of the storage at `base`.
struct ByteSpan {
    const void* base = nullptr;
    std::uint64_t lo = 0, hi = 0;
};

// Keeps the regions alive while the piece runs on a worker thread.
struct PreparedVector {
    std::vector<std::shared_ptr<StoredRegion>> regions;
    VectorOpArgs args;  // over the whole regions
    std::uint64_t begin = 0, end = 0;
    std::vector<ByteSpan> reads, writes;  // what the piece touches (a get or another chunk of those bytes waits)
};

// Called on the io thread: looks the regions up and checks everything
// (refused with bad-launch, unknown-region or unsupported, naming why), then
// holds the pages of dst the piece writes (out-of-memory past a budget).
std::variant<PreparedVector, Refusal> prepare_vector_chunk(const VectorChunk& msg, NodeStore& store, PeerId peer);

// Called on a worker thread (or the io thread for a small piece).
VectorChunkResult run_vector_chunk(const PreparedVector& v);

// Pieces this small run on the io thread: microseconds, no hop to the pool.
inline constexpr std::uint64_t kInlineVectorElements = 16384;

}  // namespace polymer::cluster
