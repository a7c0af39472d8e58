// The home's side of nodes that come and go (docs/cluster.md, "Nodes that
// come and go"): a dialler thread per --nodes address that connects and,
// whenever the backend reports that node lost (or it was never reached),
// redials with backoff; and with --listen-nodes an accept thread that
// authenticates the nodes that dial the home (polymer-node --join). Each
// authenticated connection is an Arrival; ClusterBackend takes them between
// launches and makes them participants.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/node_addresses.h"
#include "cluster/log.h"
#include "cluster/node_client.h"
#include "isa/result.h"

namespace polymer::cluster {

struct Arrival {
    static constexpr std::size_t kJoined = static_cast<std::size_t>(-1);
    std::size_t slot = kJoined;  // index into the --nodes addresses, or kJoined: the node dialled the home
    std::unique_ptr<NodeClient> client;
    std::string address;  // "host:port" it was dialled at, or dialled from
};

struct RosterOptions {
    std::vector<NodeAddress> nodes;  // dialled by the home
    std::vector<std::uint8_t> secret;
    ClientOptions client;
    std::string listen_host;  // --listen-nodes; empty: nodes cannot dial the home
    std::uint16_t listen_port = 0;
    // Redials of a node that is not there: the first after this, then twice
    // as long each time up to the longest.
    std::chrono::milliseconds first_backoff{100};
    std::chrono::milliseconds longest_backoff{5000};
    Say say = say_on_stderr;  // its warnings (a node not there, one not admitted)
};

class NodeRoster {
public:
    // Binds the --listen-nodes address (an error when it cannot) and starts dialling.
    static Result<std::unique_ptr<NodeRoster>> start(RosterOptions options);
    ~NodeRoster();  // stops dialling and listening; a connect under way is cancelled
    NodeRoster(const NodeRoster&) = delete;
    NodeRoster& operator=(const NodeRoster&) = delete;

    std::uint16_t listen_port() const { return bound_port_; }
    // Waits until every --nodes address has been tried once and `min` nodes
    // have arrived, or until `deadline`, or (with no --listen-nodes) until
    // every address still missing has refused us; returns the number that arrived.
    std::size_t wait_for(std::size_t min, std::chrono::steady_clock::time_point deadline);
    // The connections authenticated since the last call, oldest first.
    std::vector<Arrival> take();
    // Slot `slot`'s node dropped out: dial it again (with backoff).
    void lost(std::size_t slot);
    // Why slot `slot` is not connected (its last dial's error); empty once it was reached.
    std::string why_missing(std::size_t slot) const;

private:
    NodeRoster() = default;
    void dial(std::size_t slot);
    void listen_loop();
    // Sleeps `d` unless stopping (true then).
    bool stopped_during(std::chrono::milliseconds d);

    RosterOptions options_;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::deque<Arrival> arrivals_;
    std::size_t arrived_ = 0;
    struct Slot {
        bool wanted = true;  // not connected: dial it
        bool tried = false;  // dialled at least once
        std::string why;     // the last dial's error
        // The last dial reached a node that refused us (another token, --tls
        // on one side only, another protocol): it will not come by waiting.
        bool refused = false;
    };
    std::vector<Slot> slots_;
    std::vector<std::thread> threads_;
    int listen_fd_ = -1;
    std::uint16_t bound_port_ = 0;
};

}  // namespace polymer::cluster
