// A node's connections to the other nodes of one home, for the halo fetches
// of that home's launches (docs/protocol.md, "Node-to-node transfers").
// A link is dialled on first use and kept for the home's session: TLS when
// the node runs --tls, the ordinary client handshake on the node's own token
// (a cluster shares one), then peer-access with the ticket the home gave
// this node; from then on region-gets, several fetches at once, replies
// routed by request id. Heartbeats go both ways; silence past the heartbeat
// timeout, the peer's goodbye or any fault fails the link and every fetch on
// it (the next launch dials again). Io thread only: nothing here blocks.
#pragma once

#include <asio.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "cluster/auth.h"
#include "cluster/connection.h"
#include "cluster/memory_budget.h"
#include "cluster/messages.h"
#include "cluster/node_store.h"
#include "cluster/tls_tunnel.h"

namespace polymer::cluster {

struct PeerLinkConfig {
    std::vector<std::uint8_t> secret;  // the node's token
    bool tls = false;                  // the node's --tls
    std::string name;                  // in the hello
    Nonce ticket{};                    // the home's, presented with peer-access
    std::chrono::milliseconds heartbeat_interval{1000};
    // Dial, TLS and both handshakes together, and the longest silence of a
    // dialled peer.
    std::chrono::milliseconds heartbeat_timeout{5000};
    // Counts a reply's payload against the home's budget while it waits to
    // be copied into its region (a refusal fails that fetch), and gives it back.
    std::function<std::optional<Refusal>(std::size_t bytes)> reserve;
    std::function<void(std::size_t bytes)> release;
};

class PeerLink : public std::enable_shared_from_this<PeerLink> {
public:
    PeerLink(asio::io_context& io, std::string host, std::uint16_t port, const PeerLinkConfig& config);
    ~PeerLink();

    // Reads [offset, offset + length) of the peer's region `region` at
    // `version` in region-gets of at most kSliceBytes, a window of them in
    // flight, and hands each slice, checked, to `land` (its offset in the
    // region, its bytes: valid during the call). Dials first when the link
    // is not up. Why it failed, or empty; "stopped" soon after `stopped()`
    // turns true.
    asio::awaitable<std::string> fetch(std::uint64_t region, std::uint64_t version, std::uint64_t offset, std::uint64_t length,
                                       const std::function<void(std::uint64_t, std::span<const std::uint8_t>)>& land,
                                       const std::function<bool()>& stopped);
    // Dials the link when it is not up yet; why it cannot be opened, or
    // empty once it is open (then connection() is its connection).
    asio::awaitable<std::string> connect();
    std::shared_ptr<Connection> connection() const { return state_ == State::Open ? conn_ : nullptr; }
    // Before connect(): once open, the link reads nothing itself (no
    // fetches then): its owner reads the connection (ChannelLinks hands it
    // to the chan-inbox). Heartbeats and the silence watch go on.
    void read_by_caller() { read_by_caller_ = true; }
    // Called once, on the io thread, when the link fails (not when it is
    // never opened: connect() says why).
    void on_failure(std::function<void(const std::string&)> f) { on_failure_.push_back(std::move(f)); }
    // Fails every fetch on the link with `why` and hangs up.
    void close(const std::string& why);
    bool failed() const { return state_ == State::Failed; }
    // Fetches running on the link.
    int users() const { return users_; }
    const std::string& where() const { return where_; }  // "HOST:PORT"

    static constexpr std::size_t kSliceBytes = 1u << 20;    // well under kMaxSliceBytes, as the home's gets
    static constexpr std::size_t kWindow = 16;              // slices asked for at once, per fetch

private:
    enum class State { Idle, Opening, Open, Failed };
    struct Reply {
        std::optional<Frame> frame;
        std::size_t reserved = 0;      // of the frame's payload, against the home's budget
        std::string error;             // set instead of a frame: why there is none
        asio::steady_timer* waker = nullptr;  // the fetch waiting for it
    };

    asio::awaitable<void> open();
    asio::awaitable<std::string> dial();
    asio::awaitable<void> open_deadline();
    asio::awaitable<void> reader();
    asio::awaitable<void> pulse();
    // Waits until the link is up or failed; why it failed, or empty.
    asio::awaitable<std::string> ready(const std::function<bool()>& stopped);
    // Request `id`'s reply (erased from the pending ones, its payload no
    // longer counted against the budget), or why there is none.
    asio::awaitable<Result<Frame>> reply(std::uint64_t id, const std::function<bool()>& stopped);
    void forget(std::uint64_t id);  // a request nobody waits for any more
    void fail(const std::string& why);
    void wake_all();

    asio::io_context& io_;
    const std::string host_;
    const std::uint16_t port_;
    const std::string where_;
    const PeerLinkConfig config_;
    State state_ = State::Idle;
    std::string failure_;
    int users_ = 0;
    bool read_by_caller_ = false;
    asio::steady_timer deadline_;  // while opening
    asio::ip::tcp::resolver resolver_;
    asio::ip::tcp::socket socket_;  // while dialling; then the tunnel's or the connection's
    std::shared_ptr<TlsTunnel> tunnel_;
    std::shared_ptr<Connection> conn_;
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, Reply> pending_;
    std::vector<asio::steady_timer*> opening_waiters_;
    std::vector<std::function<void(const std::string&)>> on_failure_;
};

// The links of one home's session on this node: one per peer HOST:PORT,
// closed with the session.
class PeerLinks {
public:
    PeerLinks(asio::io_context& io, PeerLinkConfig config) : io_(io), config_(std::move(config)) {}
    ~PeerLinks() { close_all("the home's session ended"); }
    PeerLinks(const PeerLinks&) = delete;
    PeerLinks& operator=(const PeerLinks&) = delete;

    // A new ticket (the home sent another) is presented by links dialled from now on.
    void set_ticket(const Nonce& ticket) { config_.ticket = ticket; }
    // The link to host:port, dialled when first used; a failed one is
    // replaced. Null, with `why`, after close_all, or when the session
    // already holds kMaxLinks links, all of them busy.
    std::shared_ptr<PeerLink> link(const std::string& host, std::uint16_t port, std::string& why);
    // A link to host:port of the caller's own, dialled when first used and
    // shared with nobody (a run's chan-frames to that node: ChannelLinks);
    // the caller closes it, or close_all does. Null, with `why`, after close_all.
    std::shared_ptr<PeerLink> own_link(const std::string& host, std::uint16_t port, std::string& why);
    // Closes every link; link() dials no more.
    void close_all(const std::string& why);

    // Peers one home's session may hold links to (an idle one is closed to
    // make room for another).
    static constexpr std::size_t kMaxLinks = 64;

private:
    asio::io_context& io_;
    PeerLinkConfig config_;
    std::map<std::pair<std::string, std::uint16_t>, std::shared_ptr<PeerLink>> links_;
    std::vector<std::weak_ptr<PeerLink>> own_;  // own_link's
    bool closed_ = false;
};

// The most fetches one launch may carry: a chunk's halo comes from a few
// neighbours, and each fetch costs the node a little while it runs.
inline constexpr std::size_t kMaxFetchesPerLaunch = 1024;
// The longest host name a fetch may name (DNS: 253).
inline constexpr std::size_t kMaxFetchHostBytes = 255;

// Runs a launch's fetches, each landed in `targets[i]` (the same length as
// `fetches`) at its offset as a put's bytes land (StoredRegion::receive):
// one coroutine per peer, a peer's fetches one after another, the peers at
// once. Then calls `done` on the io thread: empty when every fetch landed,
// else the first failure, naming the peer, the region and byte range, and
// why. A slice lands only once its frame is checked, whole: after a failed
// fetch the bytes of the slices that did not arrive hold what they held
// before (what the home put, else zeros). `cancelled` (the launch's) stops
// it early; `done` then gets an empty string too.
void fetch_halos(asio::io_context& io, std::shared_ptr<PeerLinks> links, std::vector<HaloFetch> fetches,
                 std::vector<std::shared_ptr<StoredRegion>> targets, std::shared_ptr<std::atomic<bool>> cancelled,
                 std::function<void(std::string)> done);

}  // namespace polymer::cluster
