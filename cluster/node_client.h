// The home side of one node connection: connect and handshake (mutual HMAC),
// then blocking calls that send a request and wait for its reply. The calls
// write and read the socket themselves (one waiting caller reads for all,
// routing replies by request id: docs/protocol.md, Threads); a background io
// thread sends heartbeats, takes in what comes between calls and watches for
// the node's heartbeats. When nothing arrives from the node for the heartbeat
// timeout (a hung or stopped node), every waiting call and every later one
// fails with that reason. Calls may come from several threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "cluster/frame.h"
#include "cluster/messages.h"
#include "isa/result.h"

namespace polymer::cluster {

struct ClientOptions {
    std::string name = "home";
    std::chrono::milliseconds heartbeat_interval{1000};
    std::chrono::milliseconds heartbeat_timeout{5000};
    std::uint16_t version = 0;  // protocol version to claim; 0: kProtocolVersion (tests set others)
    // Connect and handshake together take at most this long (a node whose
    // address drops packets would otherwise hold the caller for minutes).
    std::chrono::milliseconds connect_timeout{5000};
    // When set and it turns true, a connect still under way gives up at once
    // (a home that exits does not wait out a dial to a powered-off box).
    const std::atomic<bool>* cancel = nullptr;
    bool tls = false;           // TLS 1.3 keyed by the token (cluster/tls.h), as the node's --tls
};

struct Done {};

class NodeClient {
public:
    static Result<std::unique_ptr<NodeClient>> connect(const std::string& host, std::uint16_t port,
                                                       std::span<const std::uint8_t> secret,
                                                       const ClientOptions& options = {});
    // The same on a connection a node opened to this home (polymer-node
    // --join): `fd` is the accepted socket (taken over, closed on failure),
    // `where` names the peer ("node HOST:PORT"). The home is still the
    // client; the proofs say the node dialled (cluster/auth.h).
    static Result<std::unique_ptr<NodeClient>> accept_joined(int fd, const std::string& where,
                                                             std::span<const std::uint8_t> secret,
                                                             const ClientOptions& options = {});
    ~NodeClient();
    NodeClient(const NodeClient&) = delete;
    NodeClient& operator=(const NodeClient&) = delete;

    const Capabilities& capabilities() const;

    Result<bool> have_module(const Sha256& hash);
    // Uploads a module's .pbc bytes unless the node has it already; returns its hash.
    Result<Sha256> upload_module(std::span<const std::uint8_t> pbc);
    // Stores `bytes` as [offset, offset + size) of region `id` at `version`
    // (`total_bytes` long), in 1 MiB slices (node_client.cpp says why).
    Result<Done> put_region(std::uint64_t id, std::uint64_t version, std::uint64_t total_bytes, std::uint64_t offset,
                            std::span<const std::uint8_t> bytes);
    Result<Bytes> get_region(std::uint64_t id, std::uint64_t version, std::uint64_t offset, std::uint64_t length);
    Result<ChunkResult> launch(const LaunchChunk& chunk);
    // The same in two steps, so several chunks can be in flight on one node:
    // start_launch returns the request id (for cancel), wait_launch its result.
    std::uint64_t start_launch(const LaunchChunk& chunk);
    // `refused`, when given, is set to the error code when the node answered
    // the launch with an error frame (peer-fetch-failed: a halo fetch failed
    // and the node is fine), and left unset when the launch failed otherwise
    // (a lost connection).
    Result<ChunkResult> wait_launch(std::uint64_t request, std::optional<ErrorCode>* refused = nullptr);
    // wait_launch for at most `timeout`: nullopt when the result has not come
    // yet (the launch stays waitable).
    std::optional<Result<ChunkResult>> wait_launch_for(std::uint64_t request, std::chrono::milliseconds timeout,
                                                       std::optional<ErrorCode>* refused = nullptr);
    // A vector op over a piece of regions the node holds (vector-chunk):
    // start_vector returns the request id, wait_vector its result (a
    // reduction's partial), each waited for once.
    std::uint64_t start_vector(const VectorChunk& chunk);
    Result<VectorChunkResult> wait_vector(std::uint64_t request);
    // Forgets a started launch whose result is no longer wanted, and tells
    // the node to stop it (Cancel; the ack is not waited for).
    void abandon_launch(std::uint64_t request);
    Result<Done> cancel(std::uint64_t launch_request);

    // Gives the node this home's peer ticket (protocol version 6): another
    // node that presents it (peer-access) may then region-get this home's
    // regions there, which is how a launch's halo fetches read them. A second
    // ticket replaces the first; the node forgets it when this connection
    // closes.
    Result<Done> send_peer_ticket(const Nonce& ticket);
    // Tells the node it may free these regions of ours (region-drop): we
    // never name them again. No reply; dropped once the connection has failed.
    void drop_regions(std::vector<std::uint64_t> ids);

    // Streamed replies (protocol version 7's proc-start: one request, then
    // a frame after frame under its request id until the caller has seen the
    // last). open_stream sends the request; each frame that comes for it is
    // kept, in order of arrival with those of the other open streams, for
    // next_streamed. When the connection fails, every open stream gets one
    // error (the reason) after the frames that came before, and is closed.
    std::uint64_t open_stream(MsgType type, Bytes payload);
    // The next frame of any open stream, with its request id; nullopt when
    // none came by `deadline`. Reads the socket itself, as wait_launch does.
    std::optional<std::pair<std::uint64_t, Result<Frame>>> next_streamed(std::chrono::steady_clock::time_point deadline);
    // The same without waiting: takes in what has arrived (unless another
    // thread is reading, which will keep it).
    std::optional<std::pair<std::uint64_t, Result<Frame>>> poll_streamed();
    // No more frames of stream `request` are wanted: those kept and those
    // still to come are dropped.
    void close_stream(std::uint64_t request);
    // close_stream, and tells the node to stop what the stream reports
    // (cancel; its ack is not waited for).
    void abandon_stream(std::uint64_t request);
    // Called (from any thread) when a frame for a stream is kept by a thread
    // other than one in next_streamed, or a failure closes the streams: for a
    // caller that waits on several nodes in one poll() (socket_fd).
    void on_streamed(std::function<void()> wake);
    // The connection's socket, to poll() for arrivals: see on_streamed.
    int socket_fd() const;
    // Sends a frame under a request id already in use (proc-answer, under
    // its proc-start's), expecting no reply. Dropped once the connection has failed.
    void send_one_way(MsgType type, std::uint64_t request_id, Bytes payload);

    // How long nothing has come from the node. A live node sends at least a
    // heartbeat every interval (busy or not), so a long silence means it is
    // stopped, hung or cut off, well before the heartbeat timeout says so.
    std::chrono::milliseconds silence() const;

    // While on, a call waiting for a reply returns an error ending in
    // kStoppedWaiting as soon as its request is out, instead of waiting (the
    // home's launch finished without this node's work). The connection stays.
    void stop_waiting(bool on);
    static constexpr const char* kStoppedWaiting = "stopped waiting for the reply: the launch finished without it";

    // Stops trusting the node now, as the heartbeat timeout would later:
    // closes the connection, and every waiting call (and every later one)
    // fails with `why`.
    void give_up(const std::string& why);

    // Why the connection is gone; empty while it is up.
    std::string failure() const;

    struct State;  // the io thread's side (node_client.cpp)

private:
    explicit NodeClient(std::shared_ptr<State> state);
    static Result<std::unique_ptr<NodeClient>> open(std::shared_ptr<State> state, std::span<const std::uint8_t> secret,
                                                    const ClientOptions& options);
    std::shared_ptr<State> state_;
};

}  // namespace polymer::cluster
