#include "cluster/away_host.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <new>
#include <cstdint>
#include <thread>

#include "cluster/cluster_backend.h"
#include "cluster/log.h"
#include "cluster/proc_frames.h"
#include "isa/counted.h"
#include "vm/deferred_backend.h"
#include "vm/trap.h"

namespace polymer::cluster {

using pbc::cat;

struct AwayHost::Hosted {
    std::uint64_t request = 0;
    std::uint32_t id = 0;                   // its handle at the home
    std::shared_ptr<const Module> module;   // its code and regions' layout, for as long as it runs
    std::uint64_t bytes = 0;                // its regions, counted against the home's budget
    std::unique_ptr<Backend> backend;       // null: the procedure's Machine has a CpuBackend of its own
    ClusterBackend* cluster = nullptr;      // the backend, made by now, when its launches go over the cluster (its own thread's)
    std::shared_ptr<NodeChannels> channels; // its run's channels kept on nodes (null: none)
    std::unique_ptr<AwayProcedure> proc;    // after `backend` and `channels`: its Machine goes first
    std::thread thread;
    std::atomic<bool> ended{false};     // run() returned: the thread may be joined at once
    std::atomic<bool> stopping{false};  // stop_one: its events are no longer wanted, and it waits for no room
    // Its last event (End or Trap) went out: it no longer counts against
    // the limit (its thread is on its way out; the home may start the next).
    std::atomic<bool> finished{false};
    std::string how;  // how it finished, for the log (its own thread's)
};

namespace {

// Where a procedure's launches over the cluster ran, for its End event (the
// home's --stats): "this node 5 chunks (983040 lanes), n2 (10.0.0.2:7447) 2 chunks (65536 lanes)".
std::string launched_on(ClusterBackend& cluster) {
    cluster.wait_all();
    std::string s;
    for (const ParticipantStats& p : cluster.participant_stats()) {
        if (!s.empty()) s += ", ";
        s += cat(p.remote ? p.name : std::string("this node"), " ", counted(p.chunks, "chunk"), " (", counted(p.lanes, "lane"), ")");
    }
    return s;
}

// Sends one event (as several proc-event frames when its region writes need
// them), on the procedure's own thread. A home that leaves events unread
// holds the procedure here once `max_queued` bytes wait for it.
void emit(AwayHost::Hosted& h, Connection& conn, std::size_t max_queued, AwayEvent e) {
    if (h.finished.load() || h.stopping.load()) return;
    const AwayEvent::Kind kind = e.kind;
    const std::uint32_t pc = e.pc;
    const std::uint64_t steps = e.steps;
    if (kind == AwayEvent::Kind::End) {
        h.how = cat("ended at pc ", pc, " after ", steps, " instructions");
        if (h.cluster != nullptr) e.text = launched_on(*h.cluster);
    }
    if (kind == AwayEvent::Kind::Trap) h.how = cat("trapped: ", trap_name(e.trap), " at pc ", pc, ": ", e.text);
    auto payloads = proc_event_payloads(std::move(e));
    if (!payloads) {
        // A message too large for a frame: the procedure cannot go on, and
        // traps here as it would at home on a message it cannot hold.
        AwayEvent trap;
        trap.kind = AwayEvent::Kind::Trap;
        trap.trap = TrapKind::Unsupported;
        trap.pc = pc;
        trap.steps = steps;
        trap.text = payloads.error();
        h.finished = true;
        h.how = cat("trapped: ", trap_name(trap.trap), " at pc ", pc, ": ", trap.text);
        conn.send(MsgType::ProcEvent, h.request, encode(trap));
        h.proc->stop(trap.text);
        return;
    }
    // Counted as ended before the home can see its last event, so a start
    // the home sends on seeing it finds room.
    if (kind == AwayEvent::Kind::End || kind == AwayEvent::Kind::Trap) h.finished = true;
    for (Bytes& p : payloads.value()) {
        while (conn.queued_bytes() > max_queued && !h.stopping.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
        conn.send(MsgType::ProcEvent, h.request, std::move(p));
    }
}

}  // namespace

AwayHost::AwayHost(std::shared_ptr<Connection> conn, std::string who, std::size_t max_queued_bytes, Budget budget,
                   ProcedureBackends backends, asio::io_context* io, std::function<std::shared_ptr<PeerLinks>()> peer_links)
    : conn_(std::move(conn)),
      who_(std::move(who)),
      max_queued_bytes_(max_queued_bytes),
      budget_(std::move(budget)),
      backends_(std::move(backends)),
      io_(io),
      peer_links_(std::move(peer_links)) {
    if (io_ != nullptr) {
        // A chan-frame holds at most what one frame may carry, counted
        // against the home's budget while it is taken in; one that came whole
        // in the read buffer (64 KiB) is not: the inbox takes one frame in
        // at a time.
        ReadLimits limits;
        limits.reserve = [budget = budget_](std::size_t bytes) { return budget.reserve(bytes, "a chan-frame from another node"); };
        limits.reserve_buffered = false;
        inbox_ = std::make_shared<ChannelInbox>(
            *io_, [this](const Frame& f) { return inbox_frame(f); }, std::move(limits),
            [budget = budget_](std::size_t bytes) { budget.release(bytes); },
            [this](const std::shared_ptr<Connection>& conn, const std::string& why) {
                std::shared_ptr<ChannelLinks> links;
                {
                    std::lock_guard lock(channels_mutex_);
                    links = links_;
                }
                if (links) links->connection_lost(conn, why);
            });
    }
}


AwayHost::~AwayHost() { stop_all("the node let go of the connection"); }

std::optional<Refusal> AwayHost::start(std::uint64_t request, std::shared_ptr<const Module> module, AwayStart start,
                                       std::vector<NodeAddress> cluster, std::uint32_t self, std::vector<NodeAddress> nodes,
                                       std::uint64_t run) {
    reap();
    if (self != 0 && (!channels_ || run != run_)) {  // a new run's channels (the last run's procedures keep theirs)
        if (self > nodes.size())
            return Refusal{ErrorCode::BadPayload, cat("the proc-start makes this node number ", self, " of ", nodes.size())};
        if (io_ == nullptr || !peer_links_) return Refusal{ErrorCode::BadLaunch, "this node carries no channels kept on nodes"};
        // The run's wire holds its own links and stream (procedure threads
        // send through it while a later start replaces the members). The
        // links fail the procedures waiting on a peer that cannot be
        // reached; they hold the channels only weakly, as they may outlive them.
        auto stream = std::make_shared<std::atomic<std::uint64_t>>(0);
        auto channels_of_links = std::make_shared<std::weak_ptr<NodeChannels>>();
        auto links = std::make_shared<ChannelLinks>(
            *io_, peer_links_(), self, run, std::move(nodes),
            [channels_of_links](std::uint32_t node, const std::string& why) {
                if (auto c = channels_of_links->lock()) c->lost(node, why);
            },
            [inbox = std::weak_ptr<ChannelInbox>(inbox_), run](std::shared_ptr<Connection> conn) {
                if (auto i = inbox.lock()) i->adopt(std::move(conn), run);
                else conn->close("this node's procedures are gone");  // io thread (ChannelLinks::open)
            });
        auto channels = std::make_shared<NodeChannels>(
            self, [links, stream, conn = conn_, self, run](std::uint32_t to, const ChannelFrame& f) -> std::string {
                Bytes payload = encode_chan_frame(self, run, f);
                if (to != 0) return links->send(to, std::move(payload));
                const std::uint64_t id = stream->load();
                if (id == 0) return "the home opened no channel stream to this node";
                conn->send(MsgType::ChanFrame, id, std::move(payload));
                return {};
            });
        *channels_of_links = channels;  // io thread, as the links' failures
        inbox_->drop_other_runs(run);
        std::lock_guard lock(channels_mutex_);
        run_ = run;
        channels_ = std::move(channels);
        links_ = std::move(links);
        channel_stream_ = std::move(stream);
    }
    if (procs_.count(request) != 0)
        return Refusal{ErrorCode::BadPayload, cat("request ", request, " already runs a procedure here; a proc-start needs a fresh request id")};
    if (const std::size_t n = running(); n >= kMaxPerConnection)
        return Refusal{ErrorCode::OutOfMemory, cat("this connection already runs ", n, " procedures on this node, the most it may (",
                                                   kMaxPerConnection, "); join some first")};
    if (start.rob_size > kMaxRobSize)
        return Refusal{ErrorCode::BadLaunch, cat("a reorder buffer of ", start.rob_size, " entries: at most ", kMaxRobSize, " (polymer-run --rob)")};
    auto h = std::make_unique<Hosted>();
    h->request = request;
    h->id = start.id;
    h->module = std::move(module);
    h->bytes = start_region_bytes(*h->module, start);
    if (auto refusal = budget_.reserve(h->bytes, "a procedure's copy of the regions")) return refusal;
    const std::uint32_t entry = start.entry_pc;
    // The last line of defence for the node: an allocation that fails for a
    // start the checks let through refuses it instead of ending the process.
    Result<std::unique_ptr<AwayProcedure>> made = Error{"the node ran out of memory making the procedure's machine"};
    try {
        if (backends_.local || !cluster.empty())
            h->backend = std::make_unique<DeferredBackend>(
                [backends = backends_, module = h->module, cluster = std::move(cluster), hosted = h.get()] {
                    std::unique_ptr<Backend> made = backends.make(*module, cluster);
                    hosted->cluster = dynamic_cast<ClusterBackend*>(made.get());
                    return made;
                });
        made = AwayProcedure::create(*h->module, std::move(start), h->backend.get(),
                                     [h = h.get(), conn = conn_, max = max_queued_bytes_](AwayEvent e) { emit(*h, *conn, max, std::move(e)); },
                                     (h->channels = channels_).get(), inbox_.get());
    } catch (const std::bad_alloc&) {
        budget_.release(h->bytes);
        return Refusal{ErrorCode::OutOfMemory, made.error()};
    }
    if (!made) {
        budget_.release(h->bytes);
        return Refusal{ErrorCode::BadLaunch, made.error()};
    }
    h->proc = std::move(made).value();
    log(LogLevel::Info, "peer ", who_, ": procedure #", h->id, " started at pc ", entry, " (request ", request, ")");
    Hosted* raw = h.get();
    h->thread = std::thread([raw, who = who_, conn = conn_] {
        try {
            raw->proc->run();
        } catch (const std::exception& e) {  // as above: the procedure ends, trapped, and the node goes on
            AwayEvent trap;
            trap.kind = AwayEvent::Kind::Trap;
            trap.trap = TrapKind::Unsupported;
            trap.text = cat("the node could not go on running it: ", e.what());
            if (!raw->finished.exchange(true) && !raw->stopping.load()) conn->send(MsgType::ProcEvent, raw->request, encode(trap));
            raw->how = cat("trapped: ", trap.text);
        }
        if (raw->finished) log(LogLevel::Info, "peer ", who, ": procedure #", raw->id, " ", raw->how);
        raw->ended = true;
    });
    procs_.emplace(request, std::move(h));
    return std::nullopt;
}

bool AwayHost::answer(std::uint64_t request, AwayAnswer a) {
    auto it = procs_.find(request);
    if (it == procs_.end() || it->second->ended.load() || it->second->stopping.load()) return false;
    it->second->proc->answer(std::move(a));
    return true;
}

bool AwayHost::stop(std::uint64_t request, const std::string& why) {
    auto it = procs_.find(request);
    if (it == procs_.end()) return false;
    stop_one(it, why);
    return true;
}

void AwayHost::stop_all(const std::string& why) {
    while (!procs_.empty()) stop_one(procs_.begin(), why);
}

std::size_t AwayHost::running() const {
    std::size_t n = 0;
    for (const auto& [request, h] : procs_) n += !h->ended.load() && !h->finished.load();
    return n;
}

void AwayHost::reap() {
    for (auto it = procs_.begin(); it != procs_.end();) {
        if (!it->second->ended.load()) {
            ++it;
            continue;
        }
        it->second->thread.join();
        budget_.release(it->second->bytes);
        it = procs_.erase(it);
    }
}

void AwayHost::stop_one(std::map<std::uint64_t, std::unique_ptr<Hosted>>::iterator it, const std::string& why) {
    Hosted& h = *it->second;
    const bool was_running = !h.ended.load();
    h.stopping = true;
    h.proc->stop(why);
    h.thread.join();
    if (was_running && !h.finished) log(LogLevel::Info, "peer ", who_, ": procedure #", h.id, " stopped: ", why);
    budget_.release(h.bytes);
    procs_.erase(it);
}

std::optional<Refusal> AwayHost::keep(std::uint64_t request, const ChanKeep& k) {
    if (!channels_) return Refusal{ErrorCode::BadPayload, "chan-keep before any proc-start named this node's number"};
    std::uint64_t none = 0;
    channel_stream_->compare_exchange_strong(none, request);
    channels_->keep(k.channel, k.capacity, k.expects, k.queued, k.lend);
    log(LogLevel::Debug, "peer ", who_, ": keeps channel ", k.channel, " (capacity ", k.capacity, ")");
    return std::nullopt;
}

std::optional<Refusal> AwayHost::keeper_is(const ChanKeeper& k) {
    if (!channels_) return Refusal{ErrorCode::BadPayload, "chan-keeper before any proc-start named this node's number"};
    channels_->keeper_is(k.channel, k.node);
    return std::nullopt;
}

std::optional<Refusal> AwayHost::channel_frame(ChanFrameMsg&& m) {
    std::shared_ptr<NodeChannels> channels;
    {
        std::lock_guard lock(channels_mutex_);
        if (!channels_) return Refusal{ErrorCode::BadPayload, "chan-frame before any proc-start named this node's number"};
        if (m.run != run_) return std::nullopt;  // a run that is over (or, from a peer, one this node has not seen start yet)
        channels = channels_;
    }
    if (std::string why = channels->receive(m.sender, std::move(m.frame)); !why.empty()) return Refusal{ErrorCode::BadPayload, why};
    return std::nullopt;
}

std::optional<Refusal> AwayHost::inbox_frame(const Frame& f) {
    ChanFrameMsg& m = inbox_decoded_;
    if (std::string why = decode_chan_frame_into(f.payload, m); !why.empty()) return Refusal{ErrorCode::BadPayload, std::move(why)};
    if (m.sender == 0) return Refusal{ErrorCode::BadPayload, "a chan-frame from a peer node says it comes from the home"};
    return channel_frame(std::move(m));
}

bool AwayHost::adopt_inbox(std::shared_ptr<Connection> conn, std::uint32_t sender, std::uint64_t run) {
    if (!inbox_) return false;
    if (links_ && run == run_) links_->offer(sender, conn);  // this node's frames for it go there too
    inbox_->adopt(std::move(conn), run);
    return true;
}

ChannelSnapshot AwayHost::channel_snapshot() const { return channels_ ? channels_->snapshot() : ChannelSnapshot{}; }

}  // namespace polymer::cluster
