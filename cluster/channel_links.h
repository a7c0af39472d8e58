// A node's chan-frames to the home's other nodes (channels kept on nodes,
// docs/protocol.md "Channels kept on nodes"): one connection per pair of
// nodes in a run, both ways. The node that first has a frame for the other
// dials it (a PeerLink of the run's own: the same tickets and handshakes as
// halo fetches, not their links) and sends chan-inbox first; from then on
// both ends send their frames on it, and on both ends the threads of the
// procedures that wait read it (cluster/channel_inbox.h): a frame wakes
// only the thread waiting for it, and the answer's bytes carry the TCP
// acknowledgement of the question (one connection each way would cost each
// message an acknowledgement of its own). Should both dial at once, each
// sends on the link it dialled and reads both.
//
// Frames go out in the order they were sent: straight from the sender's
// thread once the connection is up (Connection::send takes any thread),
// queued until then. A peer that cannot be reached, or whose connection
// fails, is reported once through `lost`, which fails the procedures
// waiting on it (NodeChannels::lost). The dialled links close with the
// ChannelLinks (the run's channels are done) or with the home's session.
#pragma once

#include <asio.hpp>

#include <atomic>
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
    // `run`: the program run whose frames these are (in chan-inbox).
    // `adopt`: hands a dialled connection, out of asio, to this node's
    // chan-inbox (its replies come on it).
    ChannelLinks(asio::io_context& io, std::shared_ptr<PeerLinks> links, std::uint32_t self, std::uint64_t run,
                 std::vector<NodeAddress> nodes, std::function<void(std::uint32_t node, const std::string& why)> lost,
                 std::function<void(std::shared_ptr<Connection>)> adopt);
    ~ChannelLinks();  // any thread: the dialled links close on the io thread

    // Any thread: a chan-frame payload for node `node`. Why it cannot go
    // (no such node, the connection failed), or empty.
    std::string send(std::uint32_t node, Bytes payload);
    // Node `node` dialled this one for the run (chan-inbox on `conn`): this
    // node's frames for it go there too, unless it dialled that node itself.
    void offer(std::uint32_t node, std::shared_ptr<Connection> conn);
    // A connection the chan-inbox read and found closed or faulty: the node
    // whose frames went on it is lost. Any thread.
    void connection_lost(const std::shared_ptr<Connection>& conn, const std::string& why);

private:
    struct Peer {
        std::mutex mutex;
        std::shared_ptr<PeerLink> link;    // once dialled (io thread)
        std::shared_ptr<Connection> open;  // set once the connection is up and what waited went out
        // `open` while it has not failed, for a send without the lock (every
        // message): `open` is kept as long as the links, so it stays valid.
        std::atomic<Connection*> ready{nullptr};
        std::deque<Bytes> waiting;
        bool opening = false;
        std::string failed;
    };
    void open(std::uint32_t node);                 // io thread
    void fail(std::uint32_t node, const std::string& why);

    asio::io_context& io_;
    std::shared_ptr<PeerLinks> links_;
    const std::uint32_t self_;
    const std::uint64_t run_;
    const std::vector<NodeAddress> nodes_;
    std::function<void(std::uint32_t, const std::string&)> lost_;
    std::function<void(std::shared_ptr<Connection>)> adopt_;
    std::vector<std::unique_ptr<Peer>> peers_;  // node n's is [n - 1]
};

}  // namespace polymer::cluster
