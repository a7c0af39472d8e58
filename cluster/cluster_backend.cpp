#include "cluster/cluster_backend.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

#include "cluster/chunk_sizing.h"
#include "cluster/launch_plan.h"
#include "cluster/node_server.h"
#include "cluster/throughput_probe.h"
#include "isa/byte_io.h"
#include "isa/module_io.h"
#include "vm/interrupt.h"

namespace polymer::cluster {

using pbc::cat;
using Clock = std::chrono::steady_clock;

namespace {

bool gpu_class(const Capabilities& caps) {
    return std::any_of(caps.devices.begin(), caps.devices.end(),
                       [](const DeviceDesc& d) { return d.type == "discrete" || d.type == "integrated"; });
}

std::uint64_t physical_memory() {
    return static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace

// One place chunks run: a node (a client connection) or the home itself.
struct Participant {
    ParticipantStats stats;
    std::unique_ptr<NodeClient> client;  // null: the home, or a node not connected (now)
    std::size_t slot = Arrival::kJoined;  // its --nodes address (the roster redials it), or it dialled the home
    bool connected_once = false;
    Capabilities caps;
    bool gpu = false;
    bool alive = true;
    bool module_uploaded = false;
    Sha256 module_hash{};
    // The node's copy of each home buffer: region id, the version it holds,
    // and (for broadcast inputs) the bytes it holds, to skip resending them.
    std::map<const void*, std::uint64_t> region_ids;
    std::map<std::uint64_t, std::uint64_t> versions;
    std::map<std::uint64_t, Bytes> broadcast_bytes;
    std::uint64_t next_region = 1;
    std::uint64_t next_partial_version = 1;
    // Its rate in the launch in progress: lanes of the results it returned
    // over the time it had claims out (send to result; overlaps counted once).
    std::uint64_t launch_lanes = 0;
    Clock::duration busy{};
    int outstanding = 0;
    Clock::time_point busy_since{};

    double measured_rate(Clock::time_point now) const {
        const Clock::duration t = busy + (outstanding > 0 ? now - busy_since : Clock::duration{});
        const double seconds = std::chrono::duration<double>(t).count();
        return launch_lanes == 0 || seconds <= 0 ? 0.0 : static_cast<double>(launch_lanes) / seconds;
    }
};

// One claim of the launch being spread (a run of grains, exactly one grain
// when the kernel has partials) and who runs it.
struct ChunkState {
    std::uint64_t begin = 0, end = 0;
    std::size_t grains = 0;
    enum class Status { Pending, Running, Done } status = Status::Pending;
    int runners = 0;               // attempts in flight
    bool backed_up = false;
    bool runners_first = false;    // taken before any claim of `first` finished in this launch (may carry the module)
    Participant* first = nullptr;  // who took it first
    Clock::time_point started{};
    std::vector<Bytes> partials;   // per partial param, the winner's buffer
};

// How many of a launch's workers still run; the last one to finish wakes
// the dispatcher at once (a launch ends when its workers do, not at a poll).
struct WorkersLeft {
    std::size_t count;
    std::mutex mutex;
    std::condition_variable changed;
    void finished() {
        std::lock_guard lock(mutex);
        if (--count == 0) changed.notify_all();
    }
    // True once none is left; waits at most `d` for that.
    bool none_within(std::chrono::milliseconds d) {
        std::unique_lock lock(mutex);
        return changed.wait_for(lock, d, [&] { return count == 0; });
    }
};

struct ClusterBackend::Impl {
    ClusterOptions options;
    Backend* local = nullptr;
    Bytes module_pbc;
    Sha256 module_hash{};
    // Home first when local_work, then one per --nodes address (connected or
    // not), then the nodes that dialled the home. Only the dispatcher (or
    // create) adds or re-admits, between launches, under `mutex`.
    std::vector<std::unique_ptr<Participant>> participants;
    std::unique_ptr<NodeRoster> roster;

    // Tickets: vector ops go to the local backend under their own ticket.
    std::mutex mutex;
    std::condition_variable changed;
    Ticket next_ticket = 1;
    std::map<Ticket, Ticket> local_tickets;
    struct Job {
        Ticket ticket = 0;
        KernelLaunch launch;
    };
    std::deque<Job> queue;
    struct Outcome {
        std::string error;  // fatal ("" = ok)
        KernelFault fault;  // a lane that broke the kernel contract
    };
    std::map<Ticket, Outcome> finished;
    bool stopping = false;
    bool running = false;  // the dispatcher is inside a launch
    Ticket cleared_upto = 0;
    std::thread dispatcher;
    std::uint64_t launch_seq = 0;

    // The launch in progress (dispatcher + worker threads).
    // `chunks` holds the claims, in grain order as they were made; it has a
    // slot per grain from the start (a claim is at least one grain), so it
    // never reallocates under a worker reading its own claim without the lock.
    std::mutex chunk_mutex;
    std::condition_variable claims_changed;  // a claim finished or was given back
    std::vector<ChunkState> chunks;
    std::size_t claims_made = 0;
    GrainGrid grid;
    std::size_t next_grain = 0;       // grains before it are claimed
    std::deque<std::size_t> pending;  // claims given back by a node that dropped out: re-run whole
    std::size_t done_count = 0;       // grains done
    std::vector<Participant*> sharing;  // the launch's participants, for the shares
    bool one_grain_claims = false;
    std::uint64_t claim_cap = 0;  // most grains in one claim (0: no cap)
    std::size_t partial_count = 0;
    bool prefers_gpu = false;
    double mean_lane_ns = 0;  // send to result, per lane: what "much longer than usual" is measured against
    // The launch's fault by the rule of vm/kernel_fault.h, over every claim
    // applied; claims above its lane (or all, once interrupted) are not run.
    KernelFault launch_fault;
    ChunkLog chunk_log;  // --trace only

    // --trace: one chunk run of the launch in progress; p null: the home running a launch whole.
    void log_run(const Participant* p, const KernelLaunch& launch, std::uint64_t b, std::uint64_t e, Clock::time_point start,
                 bool backup, ChunkOutcome outcome, std::uint64_t bytes_out = 0, std::uint64_t bytes_in = 0) {
        if (!chunk_log.enabled()) return;
        std::uint32_t who = ChunkRun::kWholeAtHome;
        for (std::size_t i = 0; i < participants.size(); ++i)
            if (participants[i].get() == p) who = static_cast<std::uint32_t>(i);
        chunk_log.add(ChunkRun{who, launch_seq, launch.kernel->name, b, e, start, Clock::now(), bytes_out, bytes_in, backup, outcome});
    }

    void run_dispatcher() {
        for (;;) {
            Job job;
            {
                std::unique_lock lock(mutex);
                changed.wait(lock, [&] { return stopping || !queue.empty(); });
                if (queue.empty()) return;
                job = std::move(queue.front());
                queue.pop_front();
                running = true;
            }
            std::string error = run_launch(job.launch);
            std::lock_guard lock(mutex);
            running = false;
            finished[job.ticket] = Outcome{std::move(error), launch_fault};
            changed.notify_all();
        }
    }

    static bool meets(const Participant& p, const KernelRequirements& r) {
        if (!p.alive) return false;
        if (r.requires_gpu && !p.gpu) return false;
        const std::uint64_t memory = p.stats.remote ? p.caps.max_memory : physical_memory();
        return memory >= r.min_memory;
    }

    static std::string requirement_text(const KernelRequirements& r) {
        std::string s;
        if (r.requires_gpu) s = ".requires gpu";
        if (r.min_memory != 0) s += cat(s.empty() ? ".requires " : ", ", "mem >= ", r.min_memory, " bytes");
        return s.empty() ? "no requirement" : s;
    }

    // Runs the whole launch on the home's own CPU backend.
    static KernelFault run_at_home(const KernelLaunch& launch) {
        CpuBackend cpu;
        return cpu.wait(cpu.submit(launch)).fault;
    }

    void note_fault(const KernelFault& f) {
        std::lock_guard lock(chunk_mutex);
        merge_fault(launch_fault, f);
    }
    bool interrupted() {
        std::lock_guard lock(chunk_mutex);
        return launch_fault.kind == KernelFault::Kind::Interrupted;
    }

    std::string run_launch(const KernelLaunch& launch) {
        const Kernel& k = *launch.kernel;
        ++launch_seq;
        launch_fault = {};
        if (launch.begin >= launch.end) return {};
        admit_arrivals();
        const LaunchPlan plan = plan_launch(k);
        if (!plan.splittable) {
            // Nothing to cut safely (docs/cluster.md): the home runs it whole.
            const auto start = Clock::now();
            note_fault(run_at_home(launch));
            log_run(nullptr, launch, launch.begin, launch.end, start, false, ChunkOutcome::Applied);
            return {};
        }
        // Every capable participant takes part; `.prefers gpu` weighs the
        // GPU-class ones' claims up (chunk_sizing.h) rather than leaving the rest idle.
        std::vector<Participant*> capable;
        for (auto& p : participants)
            if (meets(*p, k.requirements)) capable.push_back(p.get());
        if (capable.empty()) return no_capable_node(k);
        if (capable.size() > 1)
            for (Participant* p : capable)
                if (!p->client && !(p->caps.throughput > 0)) p->caps.throughput = measure_saxpy_throughput();

        // The grid depends only on the lanes and the options (never on timing
        // or on who is alive), so partial sums combine the same way every run.
        const std::uint64_t configured = std::max(options.nodes.size(), options.min_nodes) + (options.local_work ? 1 : 0);
        const unsigned per = options.grains_per_participant;
        {
            std::lock_guard lock(chunk_mutex);
            grid = make_grid(launch.begin, launch.end, options.min_chunk_lanes, configured * std::max(1u, per));
            // A claim's element-wise outputs come back in one frame: at most
            // kMaxSliceBytes of them per claim (and per grain), so no claim is
            // ever refused as too large, and results stream back in pieces.
            std::uint64_t out_bytes_per_lane = 0;
            for (const KernelParam& param : k.params)
                if (param.kind != ParamKind::Uniform && param.access != Access::In && param.indexing == Indexing::Element)
                    out_bytes_per_lane += elem_size(param.type);
            const std::uint64_t lane_cap = out_bytes_per_lane == 0 ? 0 : std::max<std::uint64_t>(1, kMaxSliceBytes / out_bytes_per_lane);
            if (lane_cap != 0 && grid.grain > lane_cap) grid.grain = lane_cap;  // still a function of count, options, kernel
            claim_cap = options.max_claim_grains;
            if (lane_cap != 0 && (claim_cap == 0 || claim_cap > lane_cap / grid.grain))
                claim_cap = std::max<std::uint64_t>(1, lane_cap / grid.grain);
            chunks.assign(grid.size(), ChunkState{});
            claims_made = 0;
            mean_lane_ns = 0;
            next_grain = 0;
            pending.clear();
            done_count = 0;
            sharing = capable;
            one_grain_claims = !plan.partial_params.empty();
            partial_count = plan.partial_params.size();
            prefers_gpu = k.requirements.prefers_gpu;
            for (auto& p : participants) {
                p->launch_lanes = 0;
                p->busy = {};
                p->outstanding = 0;
            }
        }
        // Rounds: when every participant of a round dropped out (the home
        // may have stopped claiming before the nodes failed), the rest take over.
        for (int round = 0; round < 2; ++round) {
            std::vector<std::jthread> workers;
            WorkersLeft working{capable.size()};
            for (Participant* p : capable)
                workers.emplace_back([this, p, &launch, &plan, &working] {
                    p->client ? remote_worker(*p, launch, plan) : home_worker(*p, launch, plan);
                    working.finished();
                });
            give_up_on_silent_nodes(capable, working);
            workers.clear();  // joins
            for (Participant* p : capable)
                if (p->client) p->client->stop_waiting(false);
            if (done_count == grid.size() || interrupted()) break;
            admit_arrivals();  // a node back meanwhile takes the rest
            capable.clear();
            for (auto& p : participants)
                if (meets(*p, k.requirements)) capable.push_back(p.get());
            if (capable.empty()) return no_capable_node(k);
            std::lock_guard lock(chunk_mutex);
            sharing = capable;
        }
        if (interrupted()) return {};  // the fault says so
        if (done_count != grid.size()) return no_capable_node(k);
        combine_partials(launch, plan);
        return {};
    }

    // Waits for the launch's workers. Once every claim is done, a worker
    // still waiting for a node's reply (to a put or an upload for a claim a
    // backup finished) stops waiting; a node whose socket takes nothing more
    // (stopped, cut off: the worker cannot even finish sending) and that has
    // been silent for a third of the heartbeat timeout is given up on now, not
    // when the timeout drops it.
    void give_up_on_silent_nodes(const std::vector<Participant*>& launch_participants, WorkersLeft& working) {
        const auto silent_limit = options.client.heartbeat_timeout / 3;
        std::vector<const Participant*> given_up;
        std::optional<Clock::time_point> stopped_waiting;
        while (!working.none_within(std::chrono::milliseconds(5))) {
            if (!all_done()) continue;
            if (!stopped_waiting) {
                for (Participant* p : launch_participants)
                    if (p->client) p->client->stop_waiting(true);
                stopped_waiting = Clock::now();
            }
            // Workers that only waited for a reply return within a poll or two.
            if (Clock::now() - *stopped_waiting < std::chrono::milliseconds(100)) continue;
            for (Participant* p : launch_participants) {
                if (!p->client || p->client->silence() <= silent_limit ||
                    std::find(given_up.begin(), given_up.end(), p) != given_up.end())
                    continue;
                given_up.push_back(p);
                p->client->give_up(cat("silent for ", p->client->silence().count(),
                                       " ms while the launch finished without it: stopped or cut off"));
            }
        }
    }

    std::string no_capable_node(const Kernel& k) {
        std::string lost;
        for (auto& p : participants)
            if (!p->stats.lost.empty()) lost += cat("; ", p->stats.name, " lost: ", p->stats.lost);
        return cat("kernel '", k.name, "' (", requirement_text(k.requirements), "): no capable node left to run it",
                   options.local_work ? "" : " (--no-local-work)", lost);
    }

    void combine_partials(const KernelLaunch& launch, const LaunchPlan& plan) {
        for (std::size_t i = 0; i < plan.partial_params.size(); ++i) {
            const KernelArg& arg = launch.args[plan.partial_params[i]];
            auto* home = static_cast<std::uint32_t*>(arg.data);
            for (std::size_t ci = 0; ci < claims_made; ++ci) {  // one grain each, in grain order: deterministic
                const ChunkState& c = chunks[ci];
                const Bytes& part = c.partials[i];
                const std::size_t n = std::min<std::size_t>(arg.length, part.size() / 4);
                for (std::size_t e = 0; e < n; ++e) {
                    std::uint32_t v;
                    std::memcpy(&v, part.data() + 4 * e, 4);
                    home[e] += v;  // atadd on i32/u32: wrapping add
                }
            }
        }
    }

    // `p` has one more claim out / one fewer (with the lanes it returned):
    // the busy time its measured rate is taken over.
    static void run_started(Participant& p, Clock::time_point now) {
        if (p.outstanding++ == 0) p.busy_since = now;
    }
    static void run_ended(Participant& p, Clock::time_point now, std::uint64_t lanes) {
        p.launch_lanes += lanes;
        if (p.outstanding > 0 && --p.outstanding == 0) p.busy += now - p.busy_since;
    }

    // p's share of the estimated rate of the launch's live participants.
    double share_of(const Participant& p, Clock::time_point now) const {
        std::vector<RateInput> inputs;
        std::size_t self = 0;
        for (const Participant* q : sharing) {
            if (!q->alive && q != &p) continue;
            if (q == &p) self = inputs.size();
            inputs.push_back(RateInput{q->caps.throughput, prefers_gpu && q->gpu, q->measured_rate(now)});
        }
        const std::vector<double> rates = estimated_rates(inputs, options.prefer_weight);
        double total = 0;
        for (double r : rates) total += r;
        return total > 0 && self < rates.size() ? rates[self] / total : 1.0;
    }

    // The next claim for `p`: one given back by a failed node, else the next
    // run of grains sized by p's share, else a backup copy of a straggling
    // claim (below).
    std::optional<std::size_t> take(Participant& p, bool& backup) {
        std::lock_guard lock(chunk_mutex);
        backup = false;
        const auto now = Clock::now();
        std::optional<std::size_t> got;
        if (!pending.empty()) {
            got = pending.front();
            pending.pop_front();
        } else if (next_grain < grid.size() && launch_fault &&
                   (launch_fault.kind == KernelFault::Kind::Interrupted || grid.grain_begin(next_grain) > launch_fault.lane)) {
            done_count += grid.size() - next_grain;  // cannot change what is reported: not run
            claims_changed.notify_all();
            next_grain = grid.size();
        } else if (next_grain < grid.size()) {
            const std::uint64_t n = one_grain_claims ? 1
                                                     : claim_grains(share_of(p, now), grid.size() - next_grain,
                                                                    options.claim_divisor, claim_cap);
            got = claims_made++;
            ChunkState& c = chunks[*got];
            c.begin = grid.grain_begin(next_grain);
            next_grain += n;
            c.end = grid.grain_end(next_grain - 1);
            c.grains = n;
            c.partials.resize(partial_count);
        }
        if (got) {
            ChunkState& c = chunks[*got];
            c.status = ChunkState::Status::Running;
            ++c.runners;
            c.first = &p;
            c.runners_first = p.launch_lanes == 0;  // nothing of p's has finished in this launch yet
            c.started = now;
            run_started(p, now);
            return got;
        }
        for (std::size_t i = 0; i < claims_made; ++i) {
            ChunkState& c = chunks[i];
            if (c.status != ChunkState::Status::Running || c.backed_up || c.first == &p || !straggling(c, now)) continue;
            c.backed_up = true;
            ++c.runners;
            backup = true;
            run_started(p, now);
            return i;
        }
        return std::nullopt;
    }

    // A claim is straggling, worth a backup copy, when its node has gone
    // silent (no frame, not even a heartbeat, for a third of the heartbeat
    // timeout: stopped, hung or cut off) or it has run twice as long as its
    // lanes usually take, send to result (at least 20 ms; four times for a
    // participant's first claim of the launch, which may carry the module
    // and a node that just joined). Either happens long before the heartbeat
    // timeout drops the node.
    bool straggling(const ChunkState& c, Clock::time_point now) const {
        if (c.first && c.first->client && c.first->client->silence() > options.client.heartbeat_timeout / 3) return true;
        if (mean_lane_ns == 0) return false;  // nothing finished yet: no "usual" to compare with
        const double usual = (c.runners_first ? 4 : 2) * mean_lane_ns * static_cast<double>(c.end - c.begin);
        return now - c.started >= std::chrono::nanoseconds(static_cast<std::int64_t>(std::max(20e6, usual)));
    }

    // Sleeps until a claim finishes or is given back, or `d` passes (a claim
    // may have become a straggler meanwhile).
    void wait_for_claims(std::chrono::milliseconds d) {
        std::unique_lock lock(chunk_mutex);
        claims_changed.wait_for(lock, d);
    }

    bool all_done() {
        std::lock_guard lock(chunk_mutex);
        return done_count == grid.size();
    }
    bool nothing_pending() {
        std::lock_guard lock(chunk_mutex);
        return pending.empty() && next_grain == grid.size();
    }

    // A runner gave up on claim i (its node failed): back to the queue unless
    // another copy is still running or it is done.
    void give_back(std::size_t i, Participant& p) {
        std::lock_guard lock(chunk_mutex);
        ChunkState& c = chunks[i];
        --c.runners;
        run_ended(p, Clock::now(), 0);
        if (c.status == ChunkState::Status::Done) return;
        ++p.stats.retries;
        if (c.runners == 0) {
            c.status = ChunkState::Status::Pending;
            c.backed_up = false;
            pending.push_front(i);
            claims_changed.notify_all();
        }
    }

    // Records claim i as done by `p`; false when another copy won already.
    bool claim(std::size_t i, Participant& p, bool backup, std::uint64_t kernel_ns) {
        std::lock_guard lock(chunk_mutex);
        ChunkState& c = chunks[i];
        const auto now = Clock::now();
        --c.runners;
        run_ended(p, now, c.end - c.begin);  // a losing copy's lanes still say how fast p is
        if (c.status == ChunkState::Status::Done) return false;
        c.status = ChunkState::Status::Done;
        done_count += c.grains;
        claims_changed.notify_all();
        ++p.stats.chunks;
        if (p.stats.rejoins != 0) ++p.stats.chunks_since_rejoin;
        p.stats.lanes += c.end - c.begin;
        p.stats.kernel_ns += kernel_ns;
        if (backup) ++p.stats.backups_won;
        const double per_lane = std::chrono::duration<double, std::nano>(now - c.started).count() / static_cast<double>(c.end - c.begin);
        mean_lane_ns = mean_lane_ns == 0 ? per_lane : (mean_lane_ns * 7 + per_lane) / 8;
        return true;
    }

    // Runs claims on the home's CPU until every claim is done; once the
    // queue is empty it stays to take backup copies of straggling claims.
    void home_worker(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan) {
        for (;;) {
            bool backup = false;
            auto i = take(p, backup);
            if (!i) {
                if (all_done() || interrupted()) return;
                wait_for_claims(std::chrono::milliseconds(2));
                continue;
            }
            KernelLaunch piece = launch;
            piece.begin = chunks[*i].begin;
            piece.end = chunks[*i].end;
            std::vector<Bytes> partials(plan.partial_params.size());
            for (std::size_t j = 0; j < partials.size(); ++j) {
                KernelArg& a = piece.args[plan.partial_params[j]];
                partials[j].assign(a.length * elem_size(a.type), 0);
                a.data = partials[j].empty() ? nullptr : partials[j].data();
            }
            const auto start = Clock::now();
            const KernelFault fault = run_at_home(piece);  // element-wise outputs land in place: this range is ours alone
            const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
            const bool won = claim(*i, p, backup, ns);
            if (won || fault.kind == KernelFault::Kind::Interrupted) note_fault(fault);
            if (won) chunks[*i].partials = std::move(partials);
            log_run(&p, launch, piece.begin, piece.end, start, backup, won ? ChunkOutcome::Applied : ChunkOutcome::Lost);
        }
    }

    // Puts what chunk [b, e) needs on the node and starts it; the request id.
    Result<std::uint64_t> send_chunk(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan, std::uint64_t b,
                                     std::uint64_t e) {
        NodeClient& c = *p.client;
        if (!p.module_uploaded) {
            auto have = c.have_module(module_hash);
            if (!have) return Error{have.error()};
            if (!have.value()) {
                auto up = c.upload_module(module_pbc);
                if (!up) return Error{up.error()};
                p.stats.bytes_out += module_pbc.size();
            }
            p.module_uploaded = true;
        }
        const Kernel& k = *launch.kernel;
        LaunchChunk msg;
        msg.module = module_hash;
        msg.kernel = launch.kernel_index;
        msg.count = launch.count;
        msg.begin = b;
        msg.end = e;
        msg.max_iterations = launch.max_iterations;
        for (std::size_t i = 0; i < k.params.size(); ++i) {
            const KernelParam& param = k.params[i];
            const KernelArg& arg = launch.args[i];
            if (param.kind == ParamKind::Uniform) {
                msg.args.push_back(Binding{Binding::Kind::Uniform, 0, 0, static_cast<std::uint32_t>(arg.uniform)});
                continue;
            }
            const std::size_t size = elem_size(arg.type);
            const std::uint64_t total = arg.length * size;
            const auto* data = static_cast<const std::uint8_t*>(arg.data);
            auto [it, fresh] = p.region_ids.try_emplace(arg.data, 0);
            if (fresh) it->second = p.next_region++;
            const std::uint64_t id = it->second;
            std::uint64_t& have = p.versions[id];
            auto put = [&](std::uint64_t version, std::uint64_t offset, std::span<const std::uint8_t> bytes) -> Result<Done> {
                p.stats.bytes_out += bytes.size();
                return c.put_region(id, version, total, offset, bytes);
            };
            std::uint64_t version = 0;
            if (plan.is_partial(i)) {
                // Zeroed per chunk: the node returns this chunk's sums alone.
                version = p.next_partial_version++ | (1ull << 63);
                auto r = put(version, 0, {});
                if (!r) return Error{r.error()};
            } else if (param.indexing == Indexing::Broadcast) {
                Bytes& held = p.broadcast_bytes[id];
                const bool same = have != 0 && held.size() == total && (total == 0 || std::memcmp(held.data(), data, total) == 0);
                if (same) {
                    version = have;
                } else {
                    version = (launch_seq << 8) | 1;
                    auto r = put(version, 0, {data, total});
                    if (!r) return Error{r.error()};
                    held.assign(data, data + total);
                }
            } else {
                version = launch_seq << 8;
                const std::uint64_t first = std::min(b, arg.length), last = std::min(e, arg.length);
                std::span<const std::uint8_t> slice;
                if (param.access != Access::Out && last > first) slice = {data + first * size, (last - first) * size};
                if (have != version || !slice.empty()) {
                    auto r = put(version, first * size, slice);
                    if (!r) return Error{r.error()};
                }
                p.broadcast_bytes.erase(id);
            }
            have = version;
            msg.args.push_back(Binding{Binding::Kind::Region, id, version, 0});
        }
        return c.start_launch(msg);
    }

    // Copies a node's result into the home regions (or keeps its partials).
    // False when another copy's result was applied first (this one is dropped).
    bool apply(Participant& p, std::size_t i, const KernelLaunch& launch, const LaunchPlan& plan, ChunkResult& r, bool backup) {
        std::uint64_t in = 0;
        for (const OutputSlice& s : r.outputs) in += s.data.size();
        p.stats.bytes_in += in;
        if (!claim(i, p, backup, r.kernel_ns)) return false;
        note_fault(r.fault);
        for (OutputSlice& s : r.outputs) {
            if (s.param >= launch.args.size()) continue;
            const KernelArg& arg = launch.args[s.param];
            if (plan.is_partial(s.param)) {
                chunks[i].partials[plan.partial_index(s.param)] = std::move(s.data);
                continue;
            }
            const std::uint64_t total = arg.length * elem_size(arg.type);
            if (s.offset > total || s.data.size() > total - s.offset || s.data.empty()) continue;
            std::memcpy(static_cast<std::uint8_t*>(arg.data) + s.offset, s.data.data(), s.data.size());
        }
        return true;
    }

    void lose(Participant& p, const std::string& why) {
        std::lock_guard lock(chunk_mutex);
        p.alive = false;
        if (p.stats.lost.empty()) p.stats.lost = why;
        std::fprintf(stderr, "polymer-run: warning: %s dropped out: %s; its chunks run elsewhere\n", p.stats.name.c_str(), why.c_str());
        if (roster) roster->lost(p.slot);  // redialled in the background (a node that dialled us dials again itself)
    }

    // Makes each node the roster authenticated since the last call a
    // participant: back in its own place (a --nodes address, or a node that
    // dialled before under the same name and is gone), else a new one. It
    // starts afresh: no module, no regions (a restarted node has none).
    void admit_arrivals() {
        if (!roster) return;
        for (Arrival& a : roster->take()) {
            Participant* p = nullptr;
            for (auto& q : participants) {
                const bool same_slot = a.slot != Arrival::kJoined && q->slot == a.slot;
                const bool same_joined = a.slot == Arrival::kJoined && q->slot == Arrival::kJoined && q->stats.remote &&
                                         !q->alive && q->caps.name == a.client->capabilities().name;
                if (same_slot || same_joined) p = q.get();
            }
            auto random = random_nonce();
            if (!random) {
                std::fprintf(stderr, "polymer-run: warning: node %s not admitted: %s\n", a.address.c_str(), random.error().c_str());
                continue;
            }
            std::lock_guard lock(mutex);
            if (p == nullptr) {
                participants.push_back(std::make_unique<Participant>());
                p = participants.back().get();
                p->slot = Arrival::kJoined;
                p->stats.remote = true;
            }
            p->client = std::move(a.client);
            p->caps = p->client->capabilities();
            p->gpu = gpu_class(p->caps);
            p->alive = true;
            p->module_uploaded = false;
            p->region_ids.clear();
            p->versions.clear();
            p->broadcast_bytes.clear();
            // Region ids unique to this home: a node's store is shared by all its
            // peers, so two homes (two polymer-run processes) must not collide.
            std::uint64_t base = 0;
            std::memcpy(&base, random.value().data(), sizeof base);
            p->next_region = (base & ~0xFFFF'FFFFull) | 1;
            p->stats.name = cat(p->caps.name, " (", p->slot == Arrival::kJoined ? "dialled in from " : "", a.address, ")");
            p->stats.lost.clear();
            if (p->connected_once) {
                ++p->stats.rejoins;
                p->stats.chunks_since_rejoin = 0;
                std::fprintf(stderr, "polymer-run: note: %s is back; it takes chunks again\n", p->stats.name.c_str());
            }
            p->connected_once = true;
        }
    }

    void remote_worker(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan) {
        struct InFlight {
            std::size_t chunk;
            std::uint64_t request;
            bool backup;
            Clock::time_point sent;   // --trace
            std::uint64_t bytes_out;  // --trace
        };
        std::deque<InFlight> in_flight;
        auto log_flight = [&](const InFlight& f, ChunkOutcome outcome, std::uint64_t bytes_in = 0) {
            log_run(&p, launch, chunks[f.chunk].begin, chunks[f.chunk].end, f.sent, f.backup, outcome, f.bytes_out, bytes_in);
        };
        auto fail = [&](const std::string& why, std::optional<std::size_t> extra) {
            lose(p, why);
            if (extra) give_back(*extra, p);
            for (const InFlight& f : in_flight) {
                give_back(f.chunk, p);
                log_flight(f, ChunkOutcome::Failed);
            }
        };
        for (;;) {
            while (in_flight.size() < std::max(1u, options.in_flight_per_node)) {
                bool backup = false;
                // Backups only when this node has nothing else to do.
                if (!in_flight.empty() && nothing_pending()) break;
                auto i = take(p, backup);
                if (!i) break;
                const auto sent = Clock::now();
                const std::uint64_t out_before = p.stats.bytes_out;
                auto id = send_chunk(p, launch, plan, chunks[*i].begin, chunks[*i].end);
                if (!id && id.error().ends_with(NodeClient::kStoppedWaiting)) {  // the launch is done: the node stays
                    log_flight({*i, 0, backup, sent, p.stats.bytes_out - out_before}, ChunkOutcome::Abandoned);
                    give_back(*i, p);
                    for (const InFlight& f : in_flight) {
                        log_flight(f, ChunkOutcome::Abandoned);
                        p.client->abandon_launch(f.request);
                        give_back(f.chunk, p);
                    }
                    return;
                }
                if (!id) {
                    log_flight({*i, 0, backup, sent, p.stats.bytes_out - out_before}, ChunkOutcome::Failed);
                    fail(id.error(), *i);
                    return;
                }
                in_flight.push_back({*i, id.value(), backup, sent, p.stats.bytes_out - out_before});
            }
            if (in_flight.empty()) {
                if (all_done()) return;
                wait_for_claims(std::chrono::milliseconds(2));
                continue;
            }
            // Stops waiting for every chunk this node still runs: the node is
            // told (Cancel) and the chunks are no longer counted as running here.
            auto abandon_all = [&] {
                for (const InFlight& g : in_flight) {
                    log_flight(g, ChunkOutcome::Abandoned);
                    p.client->abandon_launch(g.request);
                    std::lock_guard lock(chunk_mutex);
                    --chunks[g.chunk].runners;
                }
            };
            InFlight f = in_flight.front();
            auto polled = p.client->wait_launch_for(f.request, std::chrono::milliseconds(5));
            if (!polled && interrupt_requested()) {  // Ctrl-C: stop waiting for the node
                note_fault({KernelFault::Kind::Interrupted, 0, 0, 0, 0, 0});
                abandon_all();
                return;
            }
            if (!polled) {
                // Still running. When backups have finished every chunk, stop
                // waiting for this (hung or slow) node: its results are not needed.
                if (all_done()) {
                    abandon_all();
                    return;
                }
                // While waiting, take a backup or a requeued chunk if there is room.
                continue;
            }
            in_flight.pop_front();
            auto& r = *polled;
            if (!r) {
                // A refusal from a live node (unsupported, out of memory) or a lost one: either way it stops here.
                log_flight(f, ChunkOutcome::Failed);
                fail(r.error(), f.chunk);
                return;
            }
            std::uint64_t in = 0;
            for (const OutputSlice& s : r.value().outputs) in += s.data.size();
            const bool won = apply(p, f.chunk, launch, plan, r.value(), f.backup);
            log_flight(f, won ? ChunkOutcome::Applied : ChunkOutcome::Lost, in);
        }
    }
};

ClusterBackend::ClusterBackend(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
    impl_->dispatcher = std::thread([i = impl_.get()] { i->run_dispatcher(); });
}

ClusterBackend::~ClusterBackend() {
    {
        std::lock_guard lock(impl_->mutex);
        impl_->stopping = true;
    }
    impl_->changed.notify_all();
    if (impl_->dispatcher.joinable()) impl_->dispatcher.join();
}

Result<std::unique_ptr<ClusterBackend>> ClusterBackend::create(const Module& module, Backend& local, ClusterOptions options) {
    auto impl = std::make_unique<Impl>();
    impl->local = &local;
    impl->module_pbc = write_module(module);
    impl->module_hash = sha256(impl->module_pbc);
    if (options.local_work) {
        auto home = std::make_unique<Participant>();
        home->stats.name = "home";
        home->caps.throughput = options.home_throughput;  // 0: measured when it first shares a launch
        impl->participants.push_back(std::move(home));
    }
    if (!options.local_work && options.nodes.empty() && options.listen_host.empty())
        return Error{"no nodes and --no-local-work: nothing can run kernels"};
    for (std::size_t i = 0; i < options.nodes.size(); ++i) {
        const NodeAddress& a = options.nodes[i];
        auto p = std::make_unique<Participant>();
        p->slot = i;
        p->alive = false;  // until the roster reaches it
        p->stats.remote = true;
        p->stats.name = format_address(a);
        impl->participants.push_back(std::move(p));
    }
    if (!options.nodes.empty() || !options.listen_host.empty()) {
        RosterOptions r;
        r.nodes = options.nodes;
        r.secret = options.secret;
        r.client = options.client;
        r.listen_host = options.listen_host;
        r.listen_port = options.listen_port;
        auto roster = NodeRoster::start(std::move(r));
        if (!roster) return Error{roster.error()};
        impl->roster = std::move(roster).value();
        if (!options.listen_host.empty())
            std::fprintf(stderr, "polymer-run: listening for nodes on %s:%u\n", options.listen_host.c_str(),
                         static_cast<unsigned>(impl->roster->listen_port()));
        const auto deadline = Clock::now() + options.wait_nodes;
        const std::size_t arrived = impl->roster->wait_for(options.min_nodes, deadline);
        impl->admit_arrivals();
        std::string missing;
        for (auto& p : impl->participants)
            if (p->stats.remote && !p->alive) {
                p->stats.lost = impl->roster->why_missing(p->slot);
                missing += cat("; ", p->stats.lost);
            }
        if (arrived < options.min_nodes) {
            const std::string when = Clock::now() < deadline ? std::string(" (the others refused this home)")
                                                             : cat(" within ", pbc::cat(static_cast<double>(options.wait_nodes.count()) / 1000),
                                                                   " s (--wait-nodes)");
            return Error{cat("only ", arrived, " of the ", options.min_nodes, " nodes asked for (--min-nodes) connected", when, missing)};
        }
    }
    if (!options.on_fatal)
        options.on_fatal = [](const std::string& why) {
            std::fprintf(stderr, "polymer-run: error: %s\n", why.c_str());
            std::exit(2);
        };
    impl->options = std::move(options);
    return std::unique_ptr<ClusterBackend>(new ClusterBackend(std::move(impl)));
}

Ticket ClusterBackend::submit(const VectorOpArgs& args) {
    const Ticket local = impl_->local->submit(args);
    std::lock_guard lock(impl_->mutex);
    const Ticket t = impl_->next_ticket++;
    impl_->local_tickets[t] = local;
    return t;
}

Ticket ClusterBackend::submit(const KernelLaunch& launch) {
    std::lock_guard lock(impl_->mutex);
    const Ticket t = impl_->next_ticket++;
    impl_->queue.push_back(Impl::Job{t, launch});
    impl_->changed.notify_all();
    return t;
}

VectorOpResult ClusterBackend::wait(Ticket ticket) {
    std::unique_lock lock(impl_->mutex);
    if (auto it = impl_->local_tickets.find(ticket); it != impl_->local_tickets.end()) {
        const Ticket local = it->second;
        impl_->local_tickets.erase(it);
        lock.unlock();
        return impl_->local->wait(local);
    }
    if (ticket <= impl_->cleared_upto && impl_->finished.count(ticket) == 0) return {};  // settled by wait_all
    impl_->changed.wait(lock, [&] { return impl_->finished.count(ticket) != 0; });
    Impl::Outcome outcome = std::move(impl_->finished[ticket]);
    impl_->finished.erase(ticket);
    lock.unlock();
    if (!outcome.error.empty()) impl_->options.on_fatal(outcome.error);
    VectorOpResult result;
    result.fault = outcome.fault;
    return result;
}

void ClusterBackend::wait_all() {
    impl_->local->wait_all();
    std::unique_lock lock(impl_->mutex);
    impl_->local_tickets.clear();
    impl_->changed.wait(lock, [&] { return impl_->queue.empty() && !impl_->running; });
    std::string error;
    for (auto& [t, e] : impl_->finished)
        if (!e.error.empty() && error.empty()) error = e.error;
    impl_->finished.clear();
    impl_->cleared_upto = impl_->next_ticket - 1;
    lock.unlock();
    if (!error.empty()) impl_->options.on_fatal(error);
}

BackendStats ClusterBackend::stats() const { return impl_->local->stats(); }

void ClusterBackend::record_chunk_runs(std::size_t limit) { impl_->chunk_log.enable(limit); }

const ChunkLog& ClusterBackend::chunk_log() const { return impl_->chunk_log; }

std::vector<ParticipantStats> ClusterBackend::participant_stats() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<ParticipantStats> out;
    for (auto& p : impl_->participants) out.push_back(p->stats);
    return out;
}

std::uint16_t ClusterBackend::listen_port() const { return impl_->roster ? impl_->roster->listen_port() : 0; }

std::string ClusterBackend::describe_nodes() const {
    std::lock_guard lock(impl_->mutex);
    std::string s;
    for (auto& p : impl_->participants) {
        if (!p->stats.remote) continue;
        if (!p->alive) {
            s += cat(p->stats.name, ": not connected: ", p->stats.lost, "\n");
            continue;
        }
        const Capabilities& c = p->caps;
        s += cat(p->stats.name, ": backend ", c.backend, ", ", c.cores, " cores, memory ", c.memory_bytes >> 20,
                 " MiB (max-memory ", c.max_memory >> 20, " MiB), throughput ",
                 static_cast<std::uint64_t>(c.throughput / 1e6), " M elements/s", p->gpu ? ", GPU-class" : "");
        if (c.devices.empty()) s += ", no Vulkan devices";
        for (const DeviceDesc& d : c.devices) s += cat(", device '", d.name, "' (", d.type, ", ", d.memory_bytes >> 20, " MiB)");
        s += "\n";
    }
    return s;
}

}  // namespace polymer::cluster
