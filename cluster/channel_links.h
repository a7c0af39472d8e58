// A node's chan-frames to the home's other nodes (channels kept on nodes,
// docs/protocol.md "Channels kept on nodes"): one PeerLink per peer node,
// dialled at the first frame for it and kept for the home's session (the
// same links, tickets and handshakes as halo fetches). Frames go out in the
// order they were sent: straight from the sender's thread once the link is
// up (Connection::send takes any thread), queued until then. A peer that
// cannot be reached, or whose link fails, is reported once through `lost`,
// which fails the procedures waiting on it (NodeChannels::lost).
#pragma once

#include <asio.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cluster/messages.h"
#include "cluster/node_addresses.h"
#include "cluster/peer_link.h"

namespace polymer::cluster {

class ChannelLinks : public std::enable_shared_from_this<ChannelLinks> {
public:
    // Node n is nodes[n - 1]; `self` is this node's number (never dialled).
    ChannelLinks(asio::io_context& io, std::shared_ptr<PeerLinks> links, std::uint32_t self, std::vector<NodeAddress> nodes,
                 std::function<void(std::uint32_t node, const std::string& why)> lost);

    // Any thread: a chan-frame payload for node `node`. Why it cannot go
    // (no such node, the link failed), or empty.
    std::string send(std::uint32_t node, Bytes payload);

private:
    struct Peer {
        std::mutex mutex;
        std::shared_ptr<Connection> open;  // set once the link is up and what waited went out
        std::deque<Bytes> waiting;
        bool opening = false;
        std::string failed;
    };
    void open(std::uint32_t node);                 // io thread
    void fail(std::uint32_t node, const std::string& why);

    asio::io_context& io_;
    std::shared_ptr<PeerLinks> links_;
    const std::uint32_t self_;
    const std::vector<NodeAddress> nodes_;
    std::function<void(std::uint32_t, const std::string&)> lost_;
    std::vector<std::unique_ptr<Peer>> peers_;  // node n's is [n - 1]
};

}  // namespace polymer::cluster
