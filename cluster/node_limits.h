// The limits a node holds its peers to before and after authentication
// (docs/security.md): what an unauthenticated connection may cost, how long
// a handshake may take, how fast one address may connect, and what an
// authenticated home may make the node hold. polymer-node sets them from its
// options; the defaults suit a home lab.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace polymer::cluster {

// The largest frame payload before authentication: a hello (a version and a
// name) or a response (64 bytes) fits many times over.
inline constexpr std::size_t kMaxHandshakePayload = 4096;

struct NodeLimits {
    // The whole handshake, from accept to welcome; bytes trickling in do not
    // extend it.
    std::chrono::milliseconds handshake_timeout{5000};
    // Connections accepted and not yet authenticated, all addresses together.
    unsigned max_unauthenticated = 64;
    // New connections one source address may open: a sustained rate per
    // second and a burst (a token bucket).
    double connection_rate = 20;
    unsigned connection_burst = 40;
    // What one authenticated home may hold (regions, modules, a frame being
    // received); 0: all of --max-memory.
    std::uint64_t max_peer_memory = 0;
    // Replies queued for a home that does not read them: past this the node
    // reads nothing more from that home until they drain.
    std::size_t max_queued_bytes = 128u << 20;
    // Launches one home may have queued or running on the node; past this
    // the node reads nothing more from it until one finishes.
    unsigned max_launches_in_flight = 1024;
};

}  // namespace polymer::cluster
