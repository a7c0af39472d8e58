// The benchmark's reference (polymer-node --raw-reference, docs/cluster.md):
// plain TCP with no framing, served by the node process itself, so
// cluster_bench compares region transfers and launch round trips with a raw
// stream and a raw ping-pong between the same two processes. A connection
// sends a little-endian u64 N, then N bytes (read into one reused buffer and
// dropped), and gets one byte back; after that every 8 bytes it sends come
// straight back, until it closes.
#pragma once

#include <asio.hpp>

#include <cstdint>

#include "isa/result.h"

namespace polymer::cluster {

// Listens on `address`, any free port, and serves connections on `io`; the port.
Result<std::uint16_t> serve_raw_reference(asio::io_context& io, const std::string& address);

}  // namespace polymer::cluster
