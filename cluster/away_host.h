// A node's side of procedures spawned onto it (protocol version 7,
// docs/protocol.md "Procedures on the nodes"): one AwayHost per home
// connection hosts the AwayProcedures (vm/procs/away.h) its proc-starts ask
// for, each on a std::thread of its own (not the chunk pool: a procedure may
// run for ever). A procedure's events go to the home as proc-event frames
// straight from its thread (Connection::send works from any thread), under
// the request id of the proc-start that started it; the home's proc-answer
// frames reach it through answer().
//
// Everything but the procedures' own threads runs on the node's io thread.
// Stopping a procedure (cancel, the connection closing, the node shutting
// down) joins its thread, which AwayProcedure::stop promises is soon.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "cluster/channel_inbox.h"
#include "cluster/channel_links.h"
#include "cluster/connection.h"
#include "cluster/memory_budget.h"
#include "cluster/procedure_cluster.h"
#include "isa/module.h"
#include "vm/procs/away.h"

namespace polymer::cluster {

class AwayHost {
public:
    // Procedures one connection may have running at once: each is a thread
    // and a copy of the module's regions.
    static constexpr std::size_t kMaxPerConnection = 64;
    // The largest reorder buffer a start may ask for (polymer-run --rob's
    // range): the Machine allocates it whole.
    static constexpr std::uint32_t kMaxRobSize = 1u << 20;

    // What a procedure's copy of the regions costs the home's memory budget
    // (--max-memory, --max-peer-memory): `reserve` before it is made (a
    // refusal refuses the start), `release` once it is gone. Io thread.
    // `what` names what the bytes are for, in a refusal. Any thread (a
    // chan-inbox frame is counted on the thread that reads it).
    struct Budget {
        std::function<std::optional<Refusal>(std::uint64_t bytes, std::string_view what)> reserve;
        std::function<void(std::uint64_t bytes)> release;
    };
    // `conn`: the home's connection, where events go; `who` names the home
    // in log lines; past `max_queued_bytes` unsent on `conn` (a home that
    // does not read), a procedure waits before it sends its next event.
    // `backends` makes each procedure's backend on its own thread (the
    // node's own, or a cluster's for `.launches cluster`); with neither a
    // local maker nor a cluster, a procedure has a CpuBackend of its own.
    //
    // Channels kept on nodes (protocol version 12) reach the home's other
    // nodes over `peer_links()`'s links (made at the first start that needs
    // them), on `io`; their frames to this node come on chan-inbox
    // connections (version 14), read by the procedures' own threads
    // (cluster/channel_inbox.h).
    AwayHost(std::shared_ptr<Connection> conn, std::string who, std::size_t max_queued_bytes, Budget budget,
             ProcedureBackends backends = {}, asio::io_context* io = nullptr,
             std::function<std::shared_ptr<PeerLinks>()> peer_links = {});
    ~AwayHost();  // stops and joins every procedure
    AwayHost(const AwayHost&) = delete;
    AwayHost& operator=(const AwayHost&) = delete;

    // Starts the procedure proc-start `request` asks for, over `module`:
    // bad-launch when AwayProcedure::create refuses it, out-of-memory past
    // kMaxPerConnection or when the budget cannot take its regions,
    // bad-payload for a request id already running. `cluster`: the home's
    // other nodes, for a procedure whose launches go over the cluster.
    // `self`, `nodes`: this node's number among the home's procedure nodes
    // and all of them (version 12; 0 and empty: the home keeps every channel).
    // `run`: the home's program run; a new one gets channels of its own.
    std::optional<Refusal> start(std::uint64_t request, std::shared_ptr<const Module> module, AwayStart start,
                                 std::vector<NodeAddress> cluster = {}, std::uint32_t self = 0,
                                 std::vector<NodeAddress> nodes = {}, std::uint64_t run = 0);

    // --- channels kept on nodes (vm/procs/node_channels.h) ---
    // chan-keep under `request` (the first one's id is the channel stream:
    // the chan-frames to the home go under it).
    std::optional<Refusal> keep(std::uint64_t request, const ChanKeep& k);
    std::optional<Refusal> keeper_is(const ChanKeeper& k);
    // A chan-frame from the home (sender 0) or a peer node's link. Any thread.
    std::optional<Refusal> channel_frame(ChanFrameMsg&& m);
    // A peer node's connection that from now on carries only chan-frames,
    // both ways (node `sender` sent chan-inbox for `run`;
    // Connection::leave_io ran): the procedures here read it while they
    // wait, and this node's frames for that node go on it. False when this
    // host carries no channels kept on nodes. Io thread.
    bool adopt_inbox(std::shared_ptr<Connection> conn, std::uint32_t sender, std::uint64_t run);
    ChannelSnapshot channel_snapshot() const;
    // Passes a proc-answer on; false when no procedure has that request id
    // (it may have just ended).
    bool answer(std::uint64_t request, AwayAnswer a);
    // Stops one procedure and joins its thread; false when there is none.
    bool stop(std::uint64_t request, const std::string& why);
    // Stops them all (the connection closed, the node shuts down).
    void stop_all(const std::string& why);
    // Procedures that have not ended yet (sent their End or Trap).
    std::size_t running() const;

    struct Hosted;

private:
    // A frame read from a chan-inbox connection (the reading thread's).
    std::optional<Refusal> inbox_frame(const Frame& f);
    // What inbox_frame decodes into, reused (its credits' room stays): the
    // inbox has one reading thread at a time, its leader.
    ChanFrameMsg inbox_decoded_;
    // Joins the threads of procedures that have ended.
    void reap();
    void stop_one(std::map<std::uint64_t, std::unique_ptr<Hosted>>::iterator it, const std::string& why);

    std::shared_ptr<Connection> conn_;
    std::string who_;
    std::size_t max_queued_bytes_;
    Budget budget_;
    ProcedureBackends backends_;
    // Channels kept on nodes: made at the first start that names this
    // node's number; before procs_, which use them until they are joined.
    // Replaced on the io thread under channels_mutex_, which the threads
    // reading the inbox take to find them.
    mutable std::mutex channels_mutex_;
    std::shared_ptr<NodeChannels> channels_;
    std::shared_ptr<ChannelLinks> links_;  // the run's connections to the other nodes
    std::uint64_t run_ = 0;
    // The run's channel stream: the first chan-keep's request id (0: none yet).
    std::shared_ptr<std::atomic<std::uint64_t>> channel_stream_;
    asio::io_context* io_ = nullptr;
    std::function<std::shared_ptr<PeerLinks>()> peer_links_;
    // How the procedures here wait: reading the chan-inbox connections (with
    // `io`), else each on a PlainWaits of its own. Before procs_.
    std::shared_ptr<ChannelInbox> inbox_;  // shared: a run's links hold it weakly
    std::map<std::uint64_t, std::unique_ptr<Hosted>> procs_;  // by proc-start request id
};

}  // namespace polymer::cluster
