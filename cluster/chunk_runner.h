// Turns a launch message into a vm/kernel_launch.h KernelLaunch over the
// node's stored regions (checking every binding against the kernel and
// counting what it will write against the memory budgets), runs it on a
// Backend, and collects the output slices the chunk wrote.
#pragma once

#include <memory>
#include <variant>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_store.h"
#include "vm/backend.h"
#include "vm/kernel_launch.h"

namespace polymer::cluster {

struct OutputSpan {
    std::uint32_t param = 0;
    std::uint64_t region = 0;
    std::uint64_t offset = 0;  // bytes
    std::uint64_t length = 0;  // bytes
};

// Keeps the module and regions alive while the chunk runs on a worker thread.
struct PreparedChunk {
    std::shared_ptr<const Module> module;
    std::vector<std::shared_ptr<StoredRegion>> regions;
    KernelLaunch launch;
    std::vector<OutputSpan> writes;   // every range the chunk may write
    std::vector<OutputSpan> outputs;  // those the result carries (all of them unless keep_outputs)
    std::vector<std::shared_ptr<StoredRegion>> fetch_targets;  // one per msg.fetches entry
    std::uint64_t rounds = 1;  // LaunchChunk::rounds
};

// Called on the io thread: looks everything up (the bindings and the halo
// fetches' targets) and checks it, then holds the pages the chunk's outputs
// and the fetched bytes will write (NodeStore::hold), so a launch that would
// pass the memory budgets is refused with out-of-memory before it runs. The
// fetches' addresses and the peer ticket are the caller's to check.
std::variant<PreparedChunk, Refusal> prepare_chunk(const LaunchChunk& msg, NodeStore& store, PeerId peer);

// Called on a worker thread: runs the launch and copies out what it wrote.
// Element-indexed outputs return lanes [begin, end), unless the launch keeps
// them on the node; broadcast outputs (atomic accumulators: partial
// reductions) always return the whole region.
ChunkResult run_chunk(const PreparedChunk& chunk, Backend& backend);

}  // namespace polymer::cluster
