// The home's side of procedures spawned onto nodes (vm/procs/away.h,
// ProcedureNodes; protocol version 7, docs/protocol.md "Procedures on the
// nodes"). It keeps a NodeClient of its own per node, opened at the first
// procedure started there (the ClusterBackend's connections belong to the
// launch dispatcher's thread), uploads the module once per connection, and
// carries each procedure as a proc-start stream: its events come back as
// proc-event frames under the proc-start's request id, and the home's
// answers go out as proc-answer frames under it.
//
// Everything runs on the VM's thread, which reads the sockets itself: with
// one node in play it waits in that node's NodeClient (it polls the socket
// awake for a few tens of microseconds, then sleeps in poll()); with
// several, in one poll() over all their sockets (and an eventfd that the
// clients' other readers ring when they keep a frame for it), so an event
// from any node wakes it at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "cluster/auth.h"
#include "cluster/messages.h"
#include "cluster/node_addresses.h"
#include "cluster/node_client.h"
#include "vm/procs/away.h"

namespace polymer::cluster {

class AwayNodes : public ProcedureNodes {
public:
    // Node n (from 1) is nodes[n - 1].
    AwayNodes(std::vector<NodeAddress> nodes, std::vector<std::uint8_t> secret, ClientOptions options);
    ~AwayNodes() override;
    AwayNodes(const AwayNodes&) = delete;
    AwayNodes& operator=(const AwayNodes&) = delete;

    std::size_t count() const override { return nodes_.size(); }
    std::string name(std::size_t node) const override;
    // From what the node advertised (it is dialled to ask, when it was not yet).
    std::string unmet(std::size_t node, const ProcRequirements& r) const override;
    Result<std::uint64_t> start(std::size_t node, const Module& module, const AwayStart& start) override;
    void answer(std::uint64_t key, AwayAnswer answer) override;
    std::optional<std::pair<std::uint64_t, AwayEvent>> next_event(std::chrono::steady_clock::time_point deadline) override;
    void stop(std::uint64_t key, const std::string& why) override;

    // Channels kept on nodes (protocol version 12): the first chan-keep to a
    // node opens its channel stream, which carries the keeper's answers to
    // the home; the home's own frames go one way under that stream's id.
    bool direct_channels() const override { return direct_channels_; }
    // Off: the home keeps every channel, as before version 12 (benchmarks
    // compare the two in one run).
    void set_direct_channels(bool on) { direct_channels_ = on; }
    // Off: the nodes' keepers lend no credits, and every send to a keeper on
    // another node waits for its acceptance, as before version 13 (the same).
    void set_channel_credits(bool on) { channel_credits_ = on; }
    void begin_run() override;
    void keep(std::size_t node, std::uint32_t channel, std::uint64_t capacity,
              const std::vector<std::pair<std::uint32_t, std::uint64_t>>& expects, std::vector<KeptMessage> queued) override;
    void to_keeper(std::size_t node, ChannelFrame f) override;
    std::optional<std::pair<std::uint32_t, ChannelFrame>> next_channel_frame() override;
    std::optional<std::vector<ChannelSnapshot>> snapshot() override;

private:
    using Clock = std::chrono::steady_clock;
    using Streamed = std::pair<std::uint64_t, Result<Frame>>;
    struct Node {
        NodeAddress address;
        std::unique_ptr<NodeClient> client;      // opened by the first start here
        std::set<Sha256> modules;                // uploaded on `client`
        std::map<std::uint64_t, std::uint64_t> keys;  // proc-start request id -> key, of its live procedures
        bool started = false;                     // a proc-start went to it on `client`: it knows its number
        std::uint64_t channel_stream = 0;         // its first chan-keep's request id, once it keeps a channel
        std::uint64_t snapshot_request = 0;       // a chan-snapshot in flight
        std::optional<ChannelSnapshot> snapshot;  // its reply
    };
    struct Where {
        std::size_t node = 0;  // from 1
        std::uint64_t request = 0;
    };

    // The connection to `node`, opened (again, after a failure) when needed.
    Result<NodeClient*> client_for(std::size_t node);
    // A stream's frame as the event it carries; nullopt for one no longer
    // wanted. Ends the procedure's bookkeeping at its last event.
    std::optional<std::pair<std::uint64_t, AwayEvent>> event_of(std::size_t node, Streamed s);
    // The procedure is over: forget it (`abandon`: and stop it on its node).
    void forget(std::uint64_t key, bool abandon);
    // A keeper's frame (or the end of its channel stream) to channel_frames_.
    void channel_frame_of(std::size_t node, Result<Frame> frame);
    static ChannelFrame keeper_failed(const std::string& why);  // the node that kept channels is gone: `why`
    // Waits across several nodes' sockets.
    std::optional<std::pair<std::uint64_t, AwayEvent>> wait_many(const std::vector<std::size_t>& live, Clock::time_point deadline);

    std::vector<Node> nodes_;
    std::vector<std::uint8_t> secret_;
    ClientOptions options_;
    std::map<std::uint64_t, Where> procs_;  // live procedures by key
    std::uint64_t next_key_ = 1;
    std::deque<std::pair<std::uint64_t, AwayEvent>> made_here_;  // Lost events of answers that could not be carried
    std::deque<std::pair<std::uint32_t, ChannelFrame>> channel_frames_;  // keepers' answers to the home, by node
    std::uint64_t run_ = 0;  // the program run going on (ProcStart::run)
    bool direct_channels_ = true;
    bool channel_credits_ = true;
    Nonce ticket_{};  // the peer ticket every node of this home gets: their links to each other present it
    std::size_t next_first_ = 0;  // wait_many: which live node it looks at first (each in turn)
    int wake_fd_ = -1;            // an eventfd the clients ring (NodeClient::on_streamed)
    // The module's bytes and hash, made at the first start with that Module
    // object (so one AwayNodes serves one program, whose module stays put
    // and unchanged while it runs: polymer-run's does).
    const Module* module_ = nullptr;
    Bytes pbc_;
    Sha256 hash_{};
};

}  // namespace polymer::cluster
