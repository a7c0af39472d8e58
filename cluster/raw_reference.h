// The benchmark's reference (polymer-node --raw-reference, docs/cluster.md):
// plain TCP with no framing, served by the node process itself, so
// cluster_bench compares region transfers and launch round trips with a raw
// stream and a raw ping-pong between the same two processes. A connection
// sends two little-endian u64s, N and KEEP, then N bytes, and gets one byte
// back; after that every 8 bytes it sends come straight back, until it
// closes. KEEP = 0: the bytes go through one reused 1 MiB buffer and are
// dropped (what iperf does); 1: they land in one N-byte buffer that later
// such streams reuse (what receiving a region's next version costs, without a
// protocol); 2: they land in new storage, allocated and mapped in as a new
// region's is (what receiving a new region costs, without a protocol).
#pragma once

#include <asio.hpp>

#include <cstdint>

#include "isa/result.h"

namespace polymer::cluster {

// Listens on `address`, any free port, and serves connections on `io`; the port.
Result<std::uint16_t> serve_raw_reference(asio::io_context& io, const std::string& address);

}  // namespace polymer::cluster
