// The worker daemon's server: an accept loop, one session per peer (handshake,
// heartbeats, requests), the node's module cache and region store, and a
// thread pool that runs kernel chunks on the node's backend. Networking runs
// on one io thread (C++20 coroutines), so the store needs no locks; chunks
// run on the pool and their results are posted back to the io thread.
#pragma once

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/admission.h"
#include "cluster/chunk_runner.h"
#include "cluster/descriptors.h"
#include "cluster/log_throttle.h"
#include "cluster/messages.h"
#include "cluster/node_addresses.h"
#include "cluster/node_limits.h"
#include "cluster/node_store.h"
#include "cluster/tls.h"
#include "isa/result.h"
#include "vm/backend.h"

namespace polymer::cluster {

inline constexpr std::chrono::milliseconds kDefaultHeartbeatInterval{1000};
inline constexpr std::chrono::milliseconds kDefaultHeartbeatTimeout{5000};

struct NodeConfig {
    std::string address = "127.0.0.1";
    std::uint16_t port = kDefaultPort;  // 0: any free port
    std::vector<std::uint8_t> secret;
    unsigned threads = 1;
    // name, cores, memory, max_memory, throughput, devices (listen() sets
    // peer_port). max_memory: the node's --max-memory; the welcome
    // advertises what one home may use, min(--max-memory, --max-peer-memory).
    Capabilities caps;
    std::chrono::milliseconds heartbeat_interval = kDefaultHeartbeatInterval;
    std::chrono::milliseconds heartbeat_timeout = kDefaultHeartbeatTimeout;
    NodeLimits limits;  // what peers may cost the node (docs/security.md)
    // --peer-port: the port the home tells this node's peers to dial for
    // halos, when a NAT or port forward maps another port to the listening
    // one; 0: the listening port.
    std::uint16_t advertised_peer_port = 0;
    // --tls: every connection is TLS 1.3 keyed by `secret` (cluster/tls.h);
    // a plain client is refused with an error frame that says so.
    bool tls = false;
    // Runs one prepared chunk on a worker thread (cluster/chunk_runner.h):
    // the outputs, or why this node's backend cannot run it.
    std::function<Result<ChunkResult>(const PreparedChunk&)> execute;
    // Whether a chunk is so small and bounded that `execute` may run it on
    // the io thread (no hop to the pool and back: a tiny launch's round trip
    // is mostly those hops). Unset: every chunk goes to the pool.
    std::function<bool(const PreparedChunk&)> runs_inline;
    // Makes the backend a procedure spawned onto this node runs its vector
    // ops and kernels on, on the procedure's thread when it first needs one
    // (vm/deferred_backend.h): the node's Vulkan device under --backend
    // vulkan. Unset: each procedure has a CpuBackend of its own.
    std::function<std::unique_ptr<Backend>()> procedure_backend;
    // Called once on the io thread when SIGINT/SIGTERM starts the shutdown
    // (polymer-node tells systemd STOPPING=1). Unset: nothing.
    std::function<void()> on_shutdown;
};

class Session;

class NodeServer {
public:
    NodeServer(asio::io_context& io, NodeConfig config);
    ~NodeServer();

    // Binds and listens (and makes the TLS context with --tls); returns the
    // port (useful with port 0).
    Result<std::uint16_t> listen();
    // Starts accepting (when listen() bound) and handling SIGINT/SIGTERM; the caller runs the io_context.
    void start();
    // polymer-node --join: dials the home at host:port and serves it on that
    // connection as on an accepted one (the home is still the client; the
    // proofs say the node dialled, cluster/auth.h). Dials again, with
    // backoff, while the home is not up and whenever the connection ends.
    void join(const std::string& host, std::uint16_t port);

private:
    friend class Session;
    asio::awaitable<void> accept_loop();
    asio::awaitable<void> join_loop(std::string host, std::uint16_t port);
    // At the descriptor limit: makes room for a waiting connection by closing
    // the oldest unauthenticated one, else accepts it and closes it at once.
    void out_of_descriptors();
    // The open home session that gave the node this peer ticket, if any.
    std::shared_ptr<Session> session_with_ticket(const Nonce& ticket) const;
    asio::awaitable<void> shutdown(int signal);

    asio::io_context& io_;
    NodeConfig config_;
    asio::ip::tcp::acceptor acceptor_;
    std::shared_ptr<TlsContext> tls_;  // set by listen() with config_.tls
    asio::signal_set signals_;
    asio::thread_pool pool_;
    NodeStore store_;
    Admission admission_;  // after config_, whose limits it reads
    SpareDescriptor spare_;
    // One per kind of line an attacker could make the node repeat at will.
    LogThrottle accept_log_, rate_log_, crowd_log_, deadline_log_, full_log_, tls_log_;
    std::vector<std::weak_ptr<Session>> sessions_;
    PeerId next_peer_id_ = 1;
    std::atomic<int> in_flight_{0};
    bool shutting_down_ = false;
};

}  // namespace polymer::cluster
