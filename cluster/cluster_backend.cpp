#include "cluster/cluster_backend.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unistd.h>

#include "cluster/chunk_sizing.h"
#include "cluster/element_ranges.h"
#include "cluster/launch_plan.h"
#include "cluster/lineage.h"
#include "cluster/placement.h"
#include "cluster/node_server.h"
#include "cluster/residency.h"
#include "cluster/throughput_probe.h"
#include "cluster/vector_plan.h"
#include "isa/byte_io.h"
#include "isa/module_io.h"
#include "isa/vector_rules.h"
#include "vm/interrupt.h"
#include "vm/region_store.h"

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
    // Residency (docs/cluster.md, "Data lives on the nodes"): its bit in the
    // directory (0: it keeps nothing, its outputs come home) and the node
    // region id of its resident copy of each home buffer (one version,
    // kResidentVersion, filled by puts and by the chunks it runs).
    HolderSet bit = 0;
    std::map<const void*, std::uint64_t> resident_ids;
    // Node-to-node transfers (docs/cluster.md, "Halos: node to node"): where
    // the other nodes reach it (the host the home knows it by and its
    // advertised peer port; 0: it accepts no peers) and whether it took the
    // run's peer ticket (it then fetches what it lacks from the nodes that
    // hold it, and serves them). Off after a fetch of its failed: what it
    // lacks then comes through the home.
    std::string host;
    std::uint16_t peer_port = 0;
    bool has_ticket = false;
    bool fetches_from_peers = false;
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
    Participant* winner = nullptr; // whose result was applied
    bool kept = false;             // the winner kept its element-wise outputs (they are only there)
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
    std::vector<char> grain_taken;    // per grain: claimed (or skipped past a fault)
    std::vector<const Participant*> grain_runner;  // per grain: who claimed it first
    std::size_t grains_left = 0;      // grains not taken
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

    // --- Residency (docs/cluster.md, "Data lives on the nodes") ---
    // Element-wise buffers of Regions (KernelArg::region set: the VM's
    // fences work for them) stay where the chunks that wrote them ran; the
    // directory says who holds what. Guarded by residency_mutex; transfers
    // run outside it (concurrent chunks touch disjoint elements).
    static constexpr std::uint64_t kResidentVersion = 1ull << 62;  // the one version of a node's resident copy
    static constexpr std::uint64_t kFetchWindowBytes = 1u << 20;  // bring_home fetches at least this much around an element
    // What a steal assumes moving a grain's data costs: a home-lab LAN's
    // 1 Gbit/s (next_claim_start, worth_stealing).
    static constexpr double kStealLinkBytesPerSecond = 125e6;
    struct BufferInfo {
        Region* region = nullptr;
        std::size_t elem = 4;
        std::uint64_t length = 0;
    };
    mutable std::mutex residency_mutex;
    Directory directory;
    // --stats: bytes each region moved, by direction, a row per region in
    // the order each first moved (residency_mutex). A freed region's row
    // stays; its storage address may come back as another region's.
    std::vector<RegionTraffic> traffic_rows;
    std::map<const void*, std::size_t> traffic_row;
    // The run's peer ticket (cluster/messages.h, PeerTicket): sent to each
    // node as it is admitted; unset when no random bytes could be had (halos
    // then come through the home).
    std::optional<Nonce> peer_ticket;
    // How values only a node held are recomputed when it dies (cluster/lineage.h).
    Lineage lineage;
    std::mutex recovery_mutex;  // one recovery at a time
    std::optional<std::size_t> launch_record;  // the launch in progress's number in the log (chunk_mutex)
    std::map<const void*, BufferInfo> buffers;
    std::vector<Participant*> grain_owner;  // the launch in progress: who holds most of each grain's inputs (null: nobody but the home)
    std::uint64_t steal_bytes_per_lane = 0;  // the launch in progress: resident bytes a lane's steal moves, now or next launch
    std::map<const Participant*, std::uint64_t> planned;  // the launch in progress: bytes each participant will hold (chunk_mutex)

    // --- Placement (docs/cluster.md, "Placement") ---
    // A distributed region's blocks: who holds each part of it until it is
    // written (place_blocks), and the regions that fit nowhere (their
    // launches fail with the reason). residency_mutex.
    struct Block {
        const Participant* who = nullptr;
        std::uint64_t begin = 0, end = 0;
    };
    std::map<const void*, std::vector<Block>> placed;
    std::map<const void*, std::string> placement_error;
    // Elements of distributed regions the home's pages hold (it fetched or
    // wrote them); they count against home_budget until the region goes.
    std::map<const void*, ElementRanges> home_touched;
    std::uint64_t home_budget = 0;  // bytes of distributed regions the home may hold; 0: no limit
    bool in_launch = false;                 // the launch's workers run (chunk_mutex)
    std::string residency_error;            // a transfer the launch needed failed for good (chunk_mutex)
    const KernelLaunch* current_launch = nullptr;

    // --trace: one chunk run of the launch in progress; p null: the home running a launch whole.
    void log_run(const Participant* p, const KernelLaunch& launch, std::uint64_t b, std::uint64_t e, Clock::time_point start,
                 bool backup, ChunkOutcome outcome, std::uint64_t bytes_out = 0, std::uint64_t bytes_in = 0) {
        if (!chunk_log.enabled()) return;
        std::uint32_t who = ChunkRun::kWholeAtHome;
        for (std::size_t i = 0; i < participants.size(); ++i)
            if (participants[i].get() == p) who = static_cast<std::uint32_t>(i);
        chunk_log.add(ChunkRun{who, launch_seq, launch.kernel->name, b, e, start, Clock::now(), bytes_out, bytes_in, backup, outcome});
    }


    // A halo a node fetches from another for the chunk it is sent with (--trace).
    struct HaloNote {
        std::string what;  // "halo REGION from NODE"
        std::uint64_t begin = 0, end = 0;
    };

    // --trace: a halo p fetched from another node for a chunk sent at `sent`.
    void log_halo(const Participant& p, const HaloNote& h, Clock::time_point sent) {
        if (!chunk_log.enabled()) return;
        for (std::size_t i = 0; i < participants.size(); ++i)
            if (participants[i].get() == &p)
                chunk_log.add(ChunkRun{static_cast<std::uint32_t>(i), launch_seq, h.what, h.begin, h.end, sent, Clock::now(), 0, 0, false,
                                       ChunkOutcome::Halo});
    }

    // ---- Residency (docs/cluster.md, "Data lives on the nodes") ----

    // Bits 1..62 go to the first 62 nodes; later ones keep nothing (0).
    HolderSet next_next_bit = 2;
    HolderSet next_holder_bit() {
        const HolderSet b = next_next_bit;
        if (b != kZeros && b != 0) next_next_bit <<= 1;
        return b == kZeros ? 0 : b;
    }

    // ---- Placement and memory (docs/cluster.md, "Placement") ----

    static std::string mib(std::uint64_t bytes) {
        char text[32];
        std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
        return text;
    }
    std::string region_name(const void* key) const {
        auto it = buffers.find(key);
        return it != buffers.end() && it->second.region ? cat("'", it->second.region->name, "'") : std::string("(a buffer)");
    }
    static bool is_home(const Participant& p) { return p.bit == kHomeMemory; }
    bool is_placed(const void* key) const { return placed.count(key) != 0 || placement_error.count(key) != 0; }
    std::size_t elem_of(const void* key) const {
        auto it = buffers.find(key);
        return it == buffers.end() ? 1 : it->second.elem;
    }
    // Grains a launch over `lanes` lanes is cut into (run_launch's grid).
    std::uint64_t target_grains() const {
        const std::uint64_t configured = std::max(options.nodes.size(), options.min_nodes) + (options.local_work ? 1 : 0);
        return configured * std::max(1u, options.grains_per_participant);
    }
    // The most p may hold (residency_mutex): a node's advertised
    // --max-memory less room for a frame being received; the home's budget.
    std::uint64_t limit_of(const Participant& p) const {
        constexpr std::uint64_t kNoLimit = std::numeric_limits<std::uint64_t>::max();
        if (is_home(p)) return home_budget == 0 ? kNoLimit : home_budget;
        const std::uint64_t m = p.caps.max_memory;
        if (m == 0) return kNoLimit;
        return m - std::min<std::uint64_t>(m / 4, kMaxSliceBytes + (1u << 20));
    }
    // What p's memory holds or is promised (residency_mutex): a node's
    // written runs and the unwritten parts of the blocks placed on it; the
    // home's touched elements of distributed regions (its other regions are
    // allocated whole anyway).
    // The unwritten elements of [b, e) of `key` in blocks placed on `who`
    // (residency_mutex): promised to it, not yet in anyone's memory.
    std::uint64_t unwritten_in_blocks(const Participant& who, const void* key, std::uint64_t b, std::uint64_t e) const {
        auto blocks = placed.find(key);
        if (blocks == placed.end()) return 0;
        std::uint64_t n = 0;
        for (const Block& blk : blocks->second) {
            if (blk.who != &who || blk.end <= b || e <= blk.begin) continue;
            for (const DirectoryRun& r : directory.runs(key, std::max(b, blk.begin), std::min(e, blk.end)))
                if (unwritten(r.holders)) n += r.end - r.begin;
        }
        return n;
    }
    // The home's: the elements of distributed regions its pages hold, and
    // the unwritten parts of its blocks (its other regions are allocated
    // whole anyway).
    std::uint64_t home_usage() const {
        std::uint64_t bytes = 0;
        for (const auto& [key, touched] : home_touched) bytes += touched.elements() * elem_of(key);
        if (const Participant* home = home_participant())
            for (const auto& [key, blocks] : placed) bytes += unwritten_in_blocks(*home, key, 0, elem_count(key)) * elem_of(key);
        return bytes;
    }
    std::uint64_t home_new_bytes(const void* key, std::uint64_t b, std::uint64_t e) const {
        if (!is_placed(key)) return 0;
        std::uint64_t n = 0;
        auto it = home_touched.find(key);
        if (it == home_touched.end()) n = e - b;
        else it->second.for_each_gap_in(b, e, [&](std::uint64_t lo, std::uint64_t hi) { n += hi - lo; });
        if (const Participant* home = home_participant()) n -= std::min(n, unwritten_in_blocks(*home, key, b, e));
        return n * elem_of(key);
    }
    const Participant* home_participant() const {
        for (const auto& p : participants)
            if (is_home(*p)) return p.get();
        return nullptr;
    }
    std::uint64_t elem_count(const void* key) const {
        auto it = buffers.find(key);
        return it == buffers.end() ? 0 : it->second.length;
    }
    std::uint64_t usage(const Participant& p) const {
        if (is_home(p)) return home_usage();
        std::uint64_t bytes = 0;
        if (p.bit == 0) return 0;
        directory.held_by(p.bit, [&](const void* key) -> std::uint64_t { return elem_of(key); }, &bytes);
        for (const auto& [key, blocks] : placed) bytes += unwritten_in_blocks(p, key, 0, elem_count(key)) * elem_of(key);
        return bytes;
    }
    // The bytes p's memory would take on to hold elements [b, e) of `key`
    // (residency_mutex): those it holds no written copy of, but for
    // unwritten ones in its own blocks (usage counts them). The home takes
    // on only elements of distributed regions it has not touched.
    std::uint64_t new_bytes(const Participant& p, const void* key, std::uint64_t b, std::uint64_t e) const {
        if (is_home(p)) return home_new_bytes(key, b, e);
        const std::uint64_t elem = elem_of(key);
        std::uint64_t bytes = 0;
        std::uint64_t unwritten_elements = 0;
        for (const DirectoryRun& r : directory.runs(key, b, e)) {
            if (unwritten(r.holders)) unwritten_elements += r.end - r.begin;
            else if (!(r.holders & p.bit)) bytes += (r.end - r.begin) * elem;
        }
        return bytes + (unwritten_elements - unwritten_in_blocks(p, key, b, e)) * elem;
    }
    // What running lanes [b, e) of the launch adds to p's memory, and the
    // region adding most (residency_mutex).
    std::uint64_t launch_bytes(const Participant& p, const KernelLaunch& launch, std::uint64_t b, std::uint64_t e,
                               const void** most = nullptr) const {
        std::uint64_t total = 0, top = 0;
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            if (!resident(launch, i)) continue;
            const auto [lo, hi] = reach(launch, i, b, e);
            const std::uint64_t n = lo < hi ? new_bytes(p, launch.args[i].data, lo, hi) : 0;
            total += n;
            if (most && n > top) top = n, *most = launch.args[i].data;
        }
        return total;
    }
    std::string who_name(const Participant& p) const { return is_home(p) ? std::string("the home") : cat("node ", p.stats.name); }
    std::string limit_name(const Participant& p) const {
        return !is_home(p) ? cat("its --max-memory of ", mib(p.caps.max_memory), " (less ", mib(p.caps.max_memory - limit_of(p)),
                              " for a frame being received)")
                        : home_limit_name();
    }
    std::string home_limit_name() const {
        return cat("what the home's --max-memory of ", mib(options.home_memory), " leaves for distributed regions is ", mib(home_budget));
    }

    // Places a distributed region's fresh storage (ClusterBackend::place_region):
    // all of it unwritten, every participant's copy reads it as zeros, and
    // its grains cut into one block per participant that keeps data, by rate
    // and within the memory each has room for. Distributed regions of the
    // same length that nothing has written yet are placed together, with the
    // same blocks, so a launch over several of them finds each grain's
    // elements on one participant. A region that fits nowhere keeps the
    // reason: its first launch stops with it.
    void place_region(Region& r) {
        if (r.data == nullptr || r.length == 0 || !options.keep_data) return;
        std::lock_guard lock(residency_mutex);
        const void* key = r.data;
        directory.forget(key);
        directory.track(key, r.length, true);
        buffers[key] = BufferInfo{&r, elem_size(r.type), r.length};
        home_touched.erase(key);
        std::vector<const void*> group{key};
        for (const auto& [other, info] : buffers) {
            if (other == key || info.length != r.length || !is_placed(other)) continue;
            const std::vector<DirectoryRun> runs = directory.runs(other, 0, info.length);
            if (runs.size() == 1 && unwritten(runs[0].holders) && !home_touched.count(other)) group.push_back(other);
        }
        std::uint64_t lane_bytes = 0;
        std::string names;
        for (const void* k : group) {
            placed.erase(k);
            placement_error.erase(k);
            lane_bytes += elem_of(k);
            names += cat(names.empty() ? "" : ", ", region_name(k));
        }
        std::vector<const Participant*> who;
        for (const auto& p : participants)
            if (p->alive && p->bit != 0 && (p->client || is_home(*p))) who.push_back(p.get());
        const GrainGrid grid_of_region = make_grid(0, r.length, options.min_chunk_lanes, target_grains());
        const std::uint64_t grain_bytes = grid_of_region.grain * lane_bytes;
        std::vector<PlacementInput> in;
        std::string rooms;
        for (const Participant* p : who) {
            const std::uint64_t used = usage(*p), limit = limit_of(*p);
            const std::uint64_t room = limit > used ? limit - used : 0;
            in.push_back(PlacementInput{p->caps.throughput, room / grain_bytes});
            if (limit != std::numeric_limits<std::uint64_t>::max())
                rooms += cat(rooms.empty() ? "" : ", ", who_name(*p), " ", mib(room));
        }
        const auto counts = place_blocks(grid_of_region.size(), in);
        for (const void* k : group) {
            if (!counts) {
                placement_error[k] = cat("region ", region_name(k), " (", mib(elem_count(k) * elem_of(k)), ") does not fit",
                                         group.size() > 1 ? cat(" beside the regions placed with it (", names, ": ", mib(lane_bytes * r.length),
                                                                " in all)")
                                                          : std::string(),
                                         ": ", who.empty() ? std::string("no node keeps data") : cat("the room left is ", rooms),
                                         " (docs/cluster.md, \"Placement\")");
                continue;
            }
            std::vector<Block>& blocks = placed[k];
            std::uint64_t g = 0;
            for (std::size_t n = 0; n < who.size(); ++n) {
                if ((*counts)[n] == 0) continue;
                const std::uint64_t end = g + (*counts)[n];
                blocks.push_back(Block{who[n], grid_of_region.grain_begin(g), grid_of_region.grain_end(end - 1)});
                g = end;
            }
        }
        set_fences(key);
    }

    // Before the home's pages take elements [b, e) of a distributed region
    // (a fetch, a write, a piece it runs): an error when that passes its
    // budget; else they count from now on (residency_mutex held).
    std::optional<std::string> home_takes(const void* key, std::uint64_t b, std::uint64_t e) {
        if (!is_placed(key) || b >= e) return std::nullopt;
        if (home_budget != 0) {
            const std::uint64_t more = home_new_bytes(key, b, e), used = home_usage();
            if (used + more > home_budget)
                return cat("region ", region_name(key), ": bringing elements [", b, ", ", e, ") home needs ", mib(more),
                           " more of the home's memory; it holds ", mib(used), " of distributed regions, and ", home_limit_name());
        }
        home_touched[key].add(b, e);
        return std::nullopt;
    }

    // Whether param i's values stay where the chunks that write them run:
    // an element-wise buffer of a home Region (the VM's fences work for it).
    bool resident(const KernelLaunch& launch, std::size_t i) const {
        const KernelParam& param = launch.kernel->params[i];
        const KernelArg& a = launch.args[i];
        return options.keep_data && param.kind != ParamKind::Uniform &&
               (param.indexing == Indexing::Element || param.indexing == Indexing::Window) && a.region != nullptr && a.data != nullptr;
    }
    // Whether p keeps this launch's element-wise outputs (they do not come
    // home): only when every one of them is resident, so nothing else is
    // left on the node (a loop kernel's per-lane partials are not Regions).
    bool keeps_outputs(const Participant& p, const KernelLaunch& launch) const {
        if (p.bit == 0 || !p.client) return false;
        bool any = false;
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            const KernelParam& param = launch.kernel->params[i];
            if (param.kind == ParamKind::Uniform || param.indexing != Indexing::Element || param.access == Access::In) continue;
            if (!resident(launch, i)) return false;
            any = true;
        }
        return any;
    }

    // Elements [b, e) of buffer param i, clipped to its length.
    static std::pair<std::uint64_t, std::uint64_t> clip(const KernelArg& a, std::uint64_t b, std::uint64_t e) {
        return {std::min(b, a.length), std::min(e, a.length)};
    }
    // The elements of buffer param i that lanes [b, e) read: their own, and
    // through a window the halo around them.
    static std::pair<std::uint64_t, std::uint64_t> reach(const KernelLaunch& launch, std::size_t i, std::uint64_t b, std::uint64_t e) {
        const KernelParam& param = launch.kernel->params[i];
        if (param.indexing == Indexing::Window) return window_reach(b, e, param.window_lo, param.window_hi, launch.args[i].length);
        return clip(launch.args[i], b, e);
    }

    // --stats: `bytes` of region `key` moved one way (residency_mutex held).
    enum class Way { ToNodes, ToHome, NodeToNode };
    void count_traffic(const void* key, const Region* region, Way way, std::uint64_t bytes) {
        if (region == nullptr || bytes == 0) return;
        auto [it, fresh] = traffic_row.try_emplace(key, traffic_rows.size());
        if (fresh) traffic_rows.push_back(RegionTraffic{std::string(region->name)});
        RegionTraffic& t = traffic_rows[it->second];
        (way == Way::ToNodes ? t.home_to_nodes : way == Way::ToHome ? t.nodes_to_home : t.node_to_node) += bytes;
    }

    void track_buffers(const KernelLaunch& launch) {
        if (!options.keep_data) return;
        std::lock_guard lock(residency_mutex);
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            const KernelArg& a = launch.args[i];
            if (launch.kernel->params[i].kind == ParamKind::Uniform || a.region == nullptr || a.data == nullptr) continue;
            directory.track(a.data, a.length);
            buffers[a.data] = BufferInfo{a.region, elem_size(a.type), a.length};
        }
    }

    // Sets each buffer's Region fences from the directory (after a launch,
    // a fetch, a home write). residency_mutex held.
    void set_fences(const void* key) {
        auto it = buffers.find(key);
        if (it == buffers.end() || it->second.region == nullptr) return;
        Region& r = *it->second.region;
        const auto [read_begin, read_end] = directory.read_hull(key);
        const auto [write_begin, write_end] = directory.write_hull(key);
        r.set_fences(read_begin, read_end, write_begin, write_end);
    }
    void update_fences(const KernelLaunch& launch) {
        std::lock_guard lock(residency_mutex);
        for (const KernelArg& a : launch.args)
            if (a.region != nullptr && a.data != nullptr) set_fences(a.data);
    }

    // Who holds most of each grain's resident inputs, among the launch's
    // nodes. When nobody but the home holds any (the first launch), a launch
    // whose outputs stay where they are computed gets a first placement:
    // one block of grains per participant, sized by its advertised rate, so
    // each keeps one contiguous slice (a stencil's halos then cross only
    // between neighbours). Empty: no owners, claims go first come.
    std::vector<Participant*> owners(const KernelLaunch& launch, const std::vector<Participant*>& capable) {
        std::vector<Participant*> found = holders_of_inputs(launch, capable);
        if (!found.empty() || !outputs_stay(launch)) return found;
        return first_placement(launch, capable);
    }

    // One block of grains per participant, by advertised rate, none past
    // the memory it has room for (place_blocks); empty when they cannot
    // hold it all (plan_memory and take then say who cannot).
    std::vector<Participant*> first_placement(const KernelLaunch& launch, const std::vector<Participant*>& capable) const {
        std::vector<RateInput> inputs;
        for (const Participant* p : capable) inputs.push_back(RateInput{p->caps.throughput, prefers_gpu && p->gpu, 0});
        const std::vector<double> rates = estimated_rates(inputs, options.prefer_weight);
        if (capable.size() < 2 || grid.size() == 0) return {};
        std::vector<PlacementInput> in;
        {
            std::lock_guard lock(residency_mutex);
            const std::uint64_t grain_bytes = std::max<std::uint64_t>(1, launch_bytes(*capable.front(), launch, grid.grain_begin(0),
                                                                                      grid.grain_end(0)));
            for (std::size_t k = 0; k < capable.size(); ++k) {
                const std::uint64_t used = usage(*capable[k]), limit = limit_of(*capable[k]);
                const std::uint64_t per = !is_home(*capable[k]) ? grain_bytes : std::max<std::uint64_t>(1, launch_bytes(*capable[k], launch,
                                                                                   grid.grain_begin(0), grid.grain_end(0)));
                in.push_back(PlacementInput{rates[k], limit > used ? (limit - used) / per : 0});
            }
        }
        const auto counts = place_blocks(grid.size(), in);
        if (!counts) return {};
        std::vector<Participant*> out(grid.size(), nullptr);
        std::size_t g = 0;
        for (std::size_t k = 0; k < capable.size(); ++k)
            for (std::uint64_t n = 0; n < (*counts)[k]; ++n) out[g++] = capable[k];
        return out;
    }

    // Who holds most of each grain's resident inputs, by bytes; the
    // unwritten parts of a distributed region (inputs and outputs) count for
    // the participant whose block they are in, the home too.
    std::vector<Participant*> holders_of_inputs(const KernelLaunch& launch, const std::vector<Participant*>& capable) {
        std::vector<Participant*> nodes;
        for (Participant* p : capable)
            if (p->bit != 0 && (p->client || is_home(*p))) nodes.push_back(p);
        if (nodes.empty() || !options.keep_data) return {};
        std::lock_guard lock(residency_mutex);
        std::vector<Participant*> out(grid.size(), nullptr);
        bool any = false;
        std::vector<std::uint64_t> weight(nodes.size());
        for (std::size_t g = 0; g < grid.size(); ++g) {
            std::fill(weight.begin(), weight.end(), 0);
            for (std::size_t i = 0; i < launch.args.size(); ++i) {
                if (!resident(launch, i)) continue;
                const KernelArg& a = launch.args[i];
                const bool output = launch.kernel->params[i].access == Access::Out;
                const auto [b, e] = clip(a, grid.grain_begin(g), grid.grain_end(g));
                auto blocks = placed.find(a.data);
                for (const DirectoryRun& r : directory.runs(a.data, b, e)) {
                    if (unwritten(r.holders)) {
                        if (blocks == placed.end()) continue;
                        for (const Block& blk : blocks->second)
                            for (std::size_t n = 0; n < nodes.size(); ++n)
                                if (nodes[n] == blk.who && blk.begin < r.end && r.begin < blk.end)
                                    weight[n] += (std::min(blk.end, r.end) - std::max(blk.begin, r.begin)) * elem_size(a.type);
                        continue;
                    }
                    if (output) continue;
                    for (std::size_t n = 0; n < nodes.size(); ++n)
                        if (!is_home(*nodes[n]) && (r.holders & nodes[n]->bit)) weight[n] += (r.end - r.begin) * elem_size(a.type);
                }
            }
            const auto best = std::max_element(weight.begin(), weight.end());
            if (*best == 0) continue;
            out[g] = nodes[static_cast<std::size_t>(best - weight.begin())];
            any = true;
        }
        return any ? out : std::vector<Participant*>{};
    }

    // The memory each participant of the launch will hold once it ran the
    // grains it owns (`planned`, chunk_mutex held); an error naming the
    // participant, the region and the sizes when that passes its limit, or
    // when a distributed region of the launch fits nowhere.
    std::string plan_memory(const KernelLaunch& launch, const std::vector<Participant*>& capable) {
        planned.clear();
        std::lock_guard lock(residency_mutex);
        for (std::size_t i = 0; i < launch.args.size(); ++i)
            if (resident(launch, i))
                if (auto it = placement_error.find(launch.args[i].data); it != placement_error.end()) return it->second;
        if (grain_owner.empty()) return {};
        std::map<const Participant*, std::map<const void*, std::uint64_t>> by_region;
        for (const Participant* p : capable) planned[p] = usage(*p);
        for (std::size_t g = 0; g < grid.size(); ++g) {
            const Participant* owner = grain_owner[g];
            if (owner == nullptr) continue;
            for (std::size_t i = 0; i < launch.args.size(); ++i) {
                if (!resident(launch, i)) continue;
                const auto [lo, hi] = reach(launch, i, grid.grain_begin(g), grid.grain_end(g));
                const std::uint64_t n = lo < hi ? new_bytes(*owner, launch.args[i].data, lo, hi) : 0;
                planned[owner] += n;
                by_region[owner][launch.args[i].data] += n;
            }
        }
        for (const Participant* p : capable) {
            if (planned[p] <= limit_of(*p)) continue;
            const void* most = nullptr;
            std::uint64_t top = 0;
            for (const auto& [key, n] : by_region[p])
                if (n > top) top = n, most = key;
            return cat("launch of kernel '", launch.kernel->name, "': ", who_name(*p), " would hold ", mib(planned[p]),
                       most ? cat(", ", mib(top), " more of region ", region_name(most)) : std::string(), ", past ", limit_name(*p),
                       " (docs/cluster.md, \"Placement\")");
        }
        return {};
    }

    // A live participant other than `not_this` holding all of `run` at its
    // resident copy (the home's memory counts); null when none. residency_mutex held.
    Participant* source_for(const void* key, HolderSet holders) {
        for (auto& q : participants)
            if (q->alive && q->client && q->bit != 0 && (holders & q->bit) && q->resident_ids.count(key)) return q.get();
        return nullptr;
    }

    // Makes [b, e) of a buffer current in the home's memory, fetching the
    // runs the home lacks from a node that holds them, from `avoid` (a
    // backup's runner) only when no one else has them. An error when a run
    // has no live holder left and lineage cannot recompute it.
    std::optional<std::string> pull_home(const void* key, std::uint64_t b, std::uint64_t e, HolderSet avoid = 0) {
        for (;;) {
            std::vector<DirectoryRun> runs;
            BufferInfo info;
            {
                std::lock_guard lock(residency_mutex);
                auto it = buffers.find(key);
                if (it == buffers.end()) return std::nullopt;
                info = it->second;
                runs = directory.runs(key, b, e);
            }
            bool fetched_all = true;
            for (const DirectoryRun& r : runs) {
                if (r.holders & kHomeMemory) continue;
                Participant* q = nullptr;
                std::uint64_t id = 0;
                {
                    std::lock_guard lock(residency_mutex);
                    q = source_for(key, r.holders & ~avoid);
                    if (q == nullptr) q = source_for(key, r.holders);  // inputs only the runner holds: it only reads them
                    if (q) id = q->resident_ids[key];
                }
                if (q == nullptr) {  // its values went with a node: recompute them
                    if (auto err = recover_lost()) return err;
                    fetched_all = false;
                    break;
                }
                {
                    std::lock_guard lock(residency_mutex);
                    if (auto err = home_takes(key, r.begin, r.end)) return err;
                }
                auto* home = static_cast<std::uint8_t*>(const_cast<void*>(key));
                const auto fetch_start = Clock::now();
                std::uint64_t offset = r.begin * info.elem;
                const std::uint64_t last = r.end * info.elem;
                std::string failed;
                while (offset < last) {
                    const std::uint64_t n = std::min<std::uint64_t>(last - offset, kMaxSliceBytes);
                    auto got = q->client->get_region(id, kResidentVersion, offset, n);
                    if (!got || got.value().size() != n) {
                        failed = got ? cat("returned ", got.value().size(), " bytes of ", n) : got.error();
                        break;
                    }
                    lineage.before_home_write(buffer_ref(key, info), offset / info.elem, (offset + n) / info.elem, HomeWrite::Replayable);
                    std::memcpy(home + offset, got.value().data(), n);
                    q->stats.bytes_in += n;
                    q->stats.bytes_fetched += n;
                    {
                        std::lock_guard lock(residency_mutex);
                        count_traffic(key, info.region, Way::ToHome, n);
                    }
                    offset += n;
                }
                if (!failed.empty()) {
                    lose(*q, cat("fetching region data: ", failed));
                    fetched_all = false;  // look again: another holder, or none
                    break;
                }
                if (chunk_log.enabled())  // --trace: a slice on the node's track
                    for (std::size_t n = 0; n < participants.size(); ++n)
                        if (participants[n].get() == q)
                            chunk_log.add(ChunkRun{static_cast<std::uint32_t>(n), launch_seq,
                                                   cat("fetch ", info.region ? std::string(info.region->name) : std::string("region")),
                                                   r.begin, r.end, fetch_start, Clock::now(), 0, last - r.begin * info.elem, false,
                                                   ChunkOutcome::Fetched});
                std::lock_guard lock(residency_mutex);
                directory.add(key, r.begin, r.end, kHomeMemory);
            }
            if (fetched_all) return std::nullopt;
        }
    }

    // The inputs of lanes [b, e) the home runs itself, current in its memory.
    std::optional<std::string> pull_inputs_home(const KernelLaunch& launch, std::uint64_t b, std::uint64_t e, HolderSet avoid) {
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            if (!resident(launch, i) || launch.kernel->params[i].access == Access::Out) continue;
            const auto [lo, hi] = reach(launch, i, b, e);
            if (auto err = pull_home(launch.args[i].data, lo, hi, avoid)) return err;
        }
        return std::nullopt;
    }

    // Before a launch: what must be current at home. `whole`: the home runs
    // it on its own memory (every buffer; outputs become the home's alone).
    // Else broadcast buffers (inputs travel whole; partials are summed into
    // the home's copy, which is then the only current one).
    std::optional<std::string> bring_all_home(const KernelLaunch& launch, const LaunchPlan& plan, bool whole) {
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            const KernelParam& param = launch.kernel->params[i];
            const KernelArg& a = launch.args[i];
            if (param.kind == ParamKind::Uniform || a.data == nullptr) continue;
            // Element-wise and window buffers go a chunk's reach at a time.
            if (!whole && (param.indexing == Indexing::Element || param.indexing == Indexing::Window)) continue;
            if (auto err = pull_home(a.data, 0, a.length)) return err;
            if (param.access != Access::In || plan.is_partial(i)) {
                if (whole) lineage.before_home_write(buffer_ref(a), 0, a.length, HomeWrite::Program);
                std::lock_guard lock(residency_mutex);
                if (auto err = home_takes(a.data, 0, a.length)) return err;
                directory.set(a.data, 0, a.length, kHomeMemory);
                directory.mark_logged_input(a.data, 0, a.length, false);
                set_fences(a.data);
            }
        }
        return std::nullopt;
    }

    // A live node other than p holding all of `holders`' run of `key` at its
    // resident copy that p may fetch it from, node to node; null when there
    // is none (or p cannot fetch). residency_mutex held.
    Participant* peer_source(const Participant& p, const void* key, HolderSet holders) {
        if (!p.fetches_from_peers) return nullptr;
        for (auto& q : participants)
            if (q.get() != &p && q->alive && q->client && q->bit != 0 && (holders & q->bit) && q->has_ticket && q->peer_port != 0 &&
                q->resident_ids.count(key))
                return q.get();
        return nullptr;
    }

    // Makes p's resident copy of param i hold what lanes [b, e) read (their
    // elements, and through a window the halo around them): runs at home are
    // put; runs only other nodes hold are fetched by p from one of them
    // (added to `fetches`; halos travel node to node), or, when p cannot
    // fetch from peers, brought home first and put. Makes sure the copy
    // exists; returns its node region id.
    Result<std::uint64_t> put_resident_inputs(Participant& p, const KernelLaunch& launch, std::size_t i, std::uint64_t b,
                                              std::uint64_t e, HolderSet avoid, std::vector<HaloFetch>& fetches,
                                              std::vector<HaloNote>& notes) {
        const KernelArg& a = launch.args[i];
        const std::size_t size = elem_size(a.type);
        const std::uint64_t total = a.length * size;
        const auto [lo, hi] = reach(launch, i, b, e);
        std::uint64_t id = 0;
        std::vector<DirectoryRun> runs;
        {
            std::lock_guard lock(residency_mutex);
            auto [it, fresh] = p.resident_ids.try_emplace(a.data, 0);
            if (fresh) it->second = p.next_region++;
            id = it->second;
            if (launch.kernel->params[i].access != Access::Out) runs = directory.runs(a.data, lo, hi);
        }
        std::uint64_t& have = p.versions[id];
        for (const DirectoryRun& r : runs) {
            if (r.holders & p.bit) continue;
            const std::uint64_t offset = r.begin * size, bytes = (r.end - r.begin) * size;
            if (!(r.holders & kHomeMemory)) {
                {
                    std::lock_guard lock(residency_mutex);
                    if (Participant* q = peer_source(p, a.data, r.holders & ~avoid)) {
                        fetches.push_back(HaloFetch{q->host, q->peer_port, q->resident_ids[a.data], kResidentVersion, id,
                                                    kResidentVersion, offset, bytes});
                        p.stats.bytes_from_nodes += bytes;
                        count_traffic(a.data, a.region, Way::NodeToNode, bytes);
                        if (chunk_log.enabled())
                            notes.push_back(HaloNote{cat(launch.kernel->params[i].indexing == Indexing::Window ? "halo " : "slice ",
                                                                     a.region->name, " from ", q->stats.name),
                                                                 r.begin, r.end});
                        continue;
                    }
                }
                if (auto err = pull_home(a.data, r.begin, r.end, avoid)) return Error{*err};
            }
            const auto* data = static_cast<const std::uint8_t*>(a.data);
            p.stats.bytes_out += bytes;
            auto put = p.client->put_region(id, kResidentVersion, total, offset, {data + offset, bytes});
            if (!put) return Error{put.error()};
            have = kResidentVersion;
            std::lock_guard lock(residency_mutex);
            count_traffic(a.data, a.region, Way::ToNodes, bytes);
            directory.add(a.data, r.begin, r.end, p.bit);
        }
        if (have != kResidentVersion) {  // an output-only buffer, or all present or fetched: the copy must exist
            auto put = p.client->put_region(id, kResidentVersion, total, 0, {});
            if (!put) return Error{put.error()};
            have = kResidentVersion;
        }
        return id;
    }

    // The resident outputs of lanes [b, e) are held by `holders` now (and
    // nobody else: the others hold the values from before).
    void outputs_held_by(const KernelLaunch& launch, std::uint64_t b, std::uint64_t e, HolderSet holders) {
        std::lock_guard lock(residency_mutex);
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            if (!resident(launch, i) || launch.kernel->params[i].access == Access::In) continue;
            const auto [lo, hi] = clip(launch.args[i], b, e);
            directory.set(launch.args[i].data, lo, hi, holders);
            if ((holders & kHomeMemory) && is_placed(launch.args[i].data)) home_touched[launch.args[i].data].add(lo, hi);
        }
    }

    // The directory bit of claim i's first runner (a backup avoids its copy).
    HolderSet runner_bit(std::size_t i) {
        std::lock_guard lock(chunk_mutex);
        return chunks[i].first ? chunks[i].first->bit : 0;
    }

    // No backup copies of a launch with resident outputs. The copy that
    // loses is cancelled, but a node may already be running it, and it
    // rewrites that node's copy in place: a later put of those elements to
    // the node (a steal in the next launch) could land before the cancelled
    // chunk stops, and the next chunk would start from values one launch
    // ahead (tests/bench/cluster/pulse_check.sh showed it). A node that
    // stalls is dropped at the heartbeat timeout instead, and lineage
    // recomputes what it alone held.
    bool backups_allowed() { return !current_launch || !outputs_stay(*current_launch); }
    // Whether some of the launch's outputs stay where they are computed.
    bool outputs_stay(const KernelLaunch& launch) const {
        for (std::size_t i = 0; i < launch.args.size(); ++i)
            if (resident(launch, i) && launch.kernel->params[i].access != Access::In) return true;
        return false;
    }

    // p is gone: its copies no longer count. Runs it alone held are lost.
    void forget_holder(Participant& p) {
        if (p.bit == 0) return;
        std::lock_guard lock(residency_mutex);
        // Runs left with no holder are recomputed when first needed (recover_lost).
        directory.drop_holder(p.bit, [](const void*, std::uint64_t, std::uint64_t) {});
        p.resident_ids.clear();
        for (auto& [key, info] : buffers) set_fences(key);
    }

    void fail_launch(const std::string& why) {
        std::lock_guard lock(chunk_mutex);
        if (residency_error.empty()) residency_error = why;
        done_count = grid.size();  // the workers stop
        claims_changed.notify_all();
    }

    // The VM's thread, with no launch running (ClusterBackend::bring_home).
    void bring_home(Region& r, std::uint64_t b, std::uint64_t e, HomeAccess access) {
        const void* key = r.data;
        std::uint64_t lo = b, hi = e;
        {
            std::lock_guard lock(residency_mutex);
            auto it = buffers.find(key);
            if (it == buffers.end() || it->second.length != r.length) {
                r.set_fences(0, 0, 0, 0);
                return;
            }
            // The window around the element: a scalar loop over the region
            // fetches a piece at a time, not an element.
            const std::uint64_t w = std::max<std::uint64_t>(1, kFetchWindowBytes / it->second.elem);
            lo = b / w * w;
            hi = std::min(r.length, std::max(e, lo + w));
        }
        if (auto err = pull_home(key, lo, hi)) options.on_fatal(*err);
        if (access == HomeAccess::Write) {
            std::optional<std::string> err;
            {
                std::lock_guard lock(residency_mutex);
                err = home_takes(key, lo, hi);
            }
            if (err) options.on_fatal(*err);
            lineage.before_home_write(BufferRef{r.data, r.length, r.type}, lo, hi, HomeWrite::Program);
        }
        {
            std::lock_guard lock(residency_mutex);
            if (access == HomeAccess::Write) {
                directory.set(key, lo, hi, kHomeMemory);
                directory.mark_logged_input(key, lo, hi, false);
            }
            set_fences(key);
        }
        restart_log_if_all_home();
    }

    void forget_region(Region& r) {
        lineage.forget(r.data);
        std::lock_guard lock(residency_mutex);
        directory.forget(r.data);
        buffers.erase(r.data);
        traffic_row.erase(r.data);
        placed.erase(r.data);
        placement_error.erase(r.data);
        home_touched.erase(r.data);
        for (auto& p : participants) p->resident_ids.erase(r.data);  // the node's copy stays until the home disconnects
        r.set_fences(0, 0, 0, 0);
    }

    // ---- Vector ops on the nodes (docs/cluster.md, "Vector ops on the nodes") ----
    // A vector op whose operands have runs away from the home runs in pieces
    // where they are (cluster/vector_plan.h): an element-wise op's dst stays
    // with whoever computed each piece; a reduction's pieces send partials
    // that the home combines in element order (vm/vector_op.h), so the value
    // is one machine's, bit for bit. It runs on the VM's thread, after every
    // launch submitted before it (ClusterBackend::submit waits first).

    // The element-wise vector op in progress: its number in the lineage log
    // (chunk_mutex), so that a recovery meanwhile gives the values it found
    // (its own pieces lost with a node run again).
    std::optional<std::size_t> vector_record;
    std::map<Ticket, VectorOpResult> vector_results;  // (mutex) ops that ran here, until waited for

    struct OpOperand {
        std::uint8_t slot;  // 0 dst, 1 a, 2 b, 3 c
        const RegionView* view;
    };
    static std::vector<OpOperand> vector_operands(const VectorOpArgs& args) {
        std::vector<OpOperand> out;
        const RegionView* views[] = {&args.dst, &args.a, &args.b, &args.c};
        for (std::uint8_t slot = 0; slot < 4; ++slot)
            if (vector_region_slots(args.op) & slot_bit(slot)) out.push_back({slot, views[slot]});
        return out;
    }
    static std::uint64_t vector_length(const VectorOpArgs& args) {
        return vector_shape(args.op) == VectorShape::Reduction ? args.a.length : args.dst.length;
    }

    // Whether `args` runs where its operands are: an op that can be cut,
    // over program regions of one length, one of which has a run the home
    // does not hold. Otherwise it runs at home as before (its operands come
    // home first): all at home already, vscan, vmatmul.
    bool vector_runs_on_nodes(const VectorOpArgs& args) const {
        if (!options.keep_data || vector_shape(args.op) == VectorShape::Whole) return false;
        const std::uint64_t n = vector_length(args);
        if (n == 0) return false;
        bool away = false;
        std::lock_guard lock(residency_mutex);
        for (const OpOperand& o : vector_operands(args)) {
            if (o.view->region == nullptr || o.view->data == nullptr || o.view->length != n) return false;
            for (const DirectoryRun& r : directory.runs(o.view->data, 0, n))
                away = away || !(r.holders & kHomeMemory) || (unwritten(r.holders) && placed.count(o.view->data));
        }
        return away;
    }

    // p's resident copy of an operand (made when missing), with the runs of
    // [b, e) it lacks put there first when it is an input (fetched to the
    // home first from the node that holds them); returns its node region id.
    Result<std::uint64_t> vector_operand_on(Participant& p, const RegionView& v, std::uint64_t b, std::uint64_t e, bool input) {
        const std::size_t size = elem_size(v.type);
        const std::uint64_t total = v.length * size;
        std::uint64_t id = 0;
        std::vector<DirectoryRun> runs;
        {
            std::lock_guard lock(residency_mutex);
            auto [it, fresh] = p.resident_ids.try_emplace(v.data, 0);
            if (fresh) it->second = p.next_region++;
            id = it->second;
            if (input) runs = directory.runs(v.data, b, e);
        }
        std::uint64_t& have = p.versions[id];
        for (const DirectoryRun& r : runs) {
            if (r.holders & p.bit) continue;
            if (!(r.holders & kHomeMemory))
                if (auto err = pull_home(v.data, r.begin, r.end)) return Error{*err};
            const auto* data = static_cast<const std::uint8_t*>(v.data);
            p.stats.bytes_out += (r.end - r.begin) * size;
            auto put = p.client->put_region(id, kResidentVersion, total, r.begin * size, {data + r.begin * size, (r.end - r.begin) * size});
            if (!put) return Error{put.error()};
            have = kResidentVersion;
            std::lock_guard lock(residency_mutex);
            directory.add(v.data, r.begin, r.end, p.bit);
        }
        if (have != kResidentVersion) {  // a dst it never held: the copy must exist
            auto put = p.client->put_region(id, kResidentVersion, total, 0, {});
            if (!put) return Error{put.error()};
            have = kResidentVersion;
        }
        return id;
    }

    // Puts what piece [b, e) needs on node p and starts it; the request id.
    Result<std::uint64_t> send_vector_piece(Participant& p, const VectorOpArgs& args, std::uint64_t b, std::uint64_t e) {
        VectorChunk msg;
        msg.op = static_cast<std::uint8_t>(args.op);
        msg.length = vector_length(args);
        msg.begin = b;
        msg.end = e;
        msg.int_scalar = args.int_scalar;
        msg.float_scalar = args.float_scalar;
        for (const OpOperand& o : vector_operands(args)) {
            auto id = vector_operand_on(p, *o.view, b, e, o.slot != 0);
            if (!id) return Error{id.error()};
            msg.operands.push_back(VectorOperand{o.slot, static_cast<std::uint8_t>(o.view->type), id.value(), kResidentVersion});
        }
        return p.client->start_vector(msg);
    }

    // --trace: a piece on p's track (p null: the home's).
    void log_vector_piece(const Participant* p, const VectorOpArgs& args, std::uint64_t b, std::uint64_t e, Clock::time_point start,
                          std::uint64_t bytes_out, std::uint64_t bytes_in) {
        if (!chunk_log.enabled()) return;
        std::uint32_t who = ChunkRun::kWholeAtHome;
        for (std::size_t i = 0; i < participants.size(); ++i)
            if (participants[i].get() == p || (p == nullptr && participants[i]->bit == kHomeMemory)) who = static_cast<std::uint32_t>(i);
        chunk_log.add(ChunkRun{who, launch_seq, std::string(op_info(args.op).mnemonic), b, e, start, Clock::now(), bytes_out, bytes_in,
                               false, ChunkOutcome::Vector});
    }

    // Runs `args` in pieces where its operands are (vector_runs_on_nodes).
    // Pieces whose node fails run again (on what a recovery restored);
    // an element-wise op's pieces a lost node had finished too, since their
    // dst went with it. An error only when values are lost for good.
    Result<VectorOpResult> run_vector_op(const VectorOpArgs& args) {
        const VectorShape shape = vector_shape(args.op);
        const std::uint64_t n = vector_length(args);
        const std::string name(op_info(args.op).mnemonic);
        const std::vector<OpOperand> operands = vector_operands(args);
        {
            std::lock_guard lock(residency_mutex);
            for (const OpOperand& o : operands) {
                directory.track(o.view->data, n);
                buffers[o.view->data] = BufferInfo{o.view->region, elem_size(o.view->type), n};
            }
        }
        // An element-wise op is logged before it runs, as a launch is: a
        // node holding the only copy of a dst piece may be lost later.
        std::optional<std::size_t> record;
        if (shape == VectorShape::Elementwise) {
            auto r = lineage.record(args);
            if (!r) return Error{cat(name, ": ", r.error())};
            record = r.value();
            std::lock_guard lock(residency_mutex);
            for (const OpOperand& o : operands) directory.mark_logged_input(o.view->data, 0, n, true);
        }
        {
            std::lock_guard lock(chunk_mutex);
            vector_record = record;
        }
        struct OpEnds {
            Impl& impl;
            ~OpEnds() {
                std::lock_guard lock(impl.chunk_mutex);
                impl.vector_record.reset();
            }
        } op_ends{*this};

        // Each piece's runner decides by the inputs' runs (dst's for an op without inputs).
        std::vector<OperandRun> runs;
        auto plan = [&] {
            std::vector<HolderSet> bits;
            std::vector<Participant*> who;
            for (auto& p : participants)
                if (p->alive && p->client && p->bit != 0) bits.push_back(p->bit), who.push_back(p.get());
            bits.push_back(kHomeMemory);
            who.push_back(nullptr);
            runs.clear();
            std::lock_guard lock(residency_mutex);
            for (const OpOperand& o : operands) {
                if (o.slot == 0 && operands.size() > 1) continue;
                for (const DirectoryRun& r : directory.runs(o.view->data, 0, n)) {
                    auto blocks = placed.find(o.view->data);
                    if (!unwritten(r.holders) || blocks == placed.end()) {
                        runs.push_back(OperandRun{r.begin, r.end, r.holders, elem_size(o.view->type)});
                        continue;
                    }
                    // Unwritten: each part goes to its block's participant, so
                    // a region larger than any one of them stays spread.
                    for (const Block& blk : blocks->second)
                        if (blk.begin < r.end && r.begin < blk.end)
                            runs.push_back(OperandRun{std::max(blk.begin, r.begin), std::min(blk.end, r.end),
                                                      blk.who->bit, elem_size(o.view->type)});
                }
            }
            std::vector<std::pair<VectorPiece, Participant*>> out;
            for (const VectorPiece& p : plan_vector_pieces(n, vector_piece_alignment(args.op), runs, bits, bits.size() - 1))
                out.push_back({p, who[p.runner]});
            return out;
        };

        struct Done {
            std::uint64_t begin, end;
            Participant* runner;  // null: the home
            VectorPartial partial;
        };
        std::vector<Done> done;
        ElementRanges todo;
        todo.add(0, n);
        for (std::size_t round = 0; !todo.empty(); ++round) {
            if (round > participants.size() + 1) return Error{cat(name, ": pieces still failing after ", round, " rounds")};
            struct Sent {
                std::uint64_t begin, end;
                Participant* p;
                std::uint64_t request;
                Clock::time_point start;
                std::uint64_t bytes_out;
            };
            std::vector<Sent> sent;
            std::vector<std::pair<std::uint64_t, std::uint64_t>> at_home;
            for (auto [piece, runner] : plan()) {
                Participant* p = runner;  // a lambda may not capture a structured binding (clang 14)
                todo.for_each_in(piece.begin, piece.end, [&](std::uint64_t b, std::uint64_t e) {
                    if (p == nullptr || !p->alive) {
                        at_home.push_back({b, e});
                        return;
                    }
                    const auto start = Clock::now();
                    const std::uint64_t out_before = p->stats.bytes_out;
                    auto id = send_vector_piece(*p, args, b, e);
                    if (!id) {
                        lose(*p, cat("vector op ", name, ": ", id.error()));
                        return;  // still to do: the next round
                    }
                    sent.push_back({b, e, p, id.value(), start, p->stats.bytes_out - out_before});
                });
            }
            // The home's pieces while the nodes run theirs.
            for (auto [b, e] : at_home) {
                for (const OpOperand& o : operands)
                    if (o.slot != 0)
                        if (auto err = pull_home(o.view->data, b, e)) return Error{*err};
                if (shape == VectorShape::Elementwise) {
                    std::lock_guard lock(residency_mutex);
                    if (auto err = home_takes(args.dst.data, b, e)) return Error{cat(name, ": ", *err)};
                }
                const auto start = Clock::now();
                if (shape == VectorShape::Elementwise)
                    lineage.before_home_write(BufferRef{args.dst.data, n, args.dst.type}, b, e, HomeWrite::Replayable);
                VectorPartial part = run_vector_piece_cpu(args, b, e);
                if (shape == VectorShape::Elementwise) {
                    std::lock_guard lock(residency_mutex);
                    directory.set(args.dst.data, b, e, kHomeMemory);
                }
                log_vector_piece(nullptr, args, b, e, start, 0, 0);
                for (auto& q : participants)
                    if (q->bit == kHomeMemory) ++q->stats.vector_pieces, q->stats.vector_elements += e - b;
                done.push_back({b, e, nullptr, std::move(part)});
                todo.remove(b, e);
            }
            for (Sent& s : sent) {
                auto r = s.p->client->wait_vector(s.request);
                if (!r) {
                    lose(*s.p, cat("vector op ", name, ": ", r.error()));
                    continue;
                }
                const std::uint64_t in = 20 + 8 * r.value().values.size();  // the result's payload
                s.p->stats.bytes_in += in;
                ++s.p->stats.vector_pieces;
                s.p->stats.vector_elements += s.end - s.begin;
                if (shape == VectorShape::Elementwise) {
                    std::lock_guard lock(residency_mutex);
                    directory.set(args.dst.data, s.begin, s.end, s.p->bit);
                }
                log_vector_piece(s.p, args, s.begin, s.end, s.start, s.bytes_out, in);
                done.push_back({s.begin, s.end, s.p, VectorPartial{r.value().int_value, std::move(r.value().values)}});
                todo.remove(s.begin, s.end);
            }
            // dst pieces a node finished and then took with it run again.
            if (shape == VectorShape::Elementwise)
                std::erase_if(done, [&](const Done& d) {
                    if (d.runner == nullptr || d.runner->alive) return false;
                    todo.add(d.begin, d.end);
                    return true;
                });
        }
        {
            std::lock_guard lock(residency_mutex);
            for (const OpOperand& o : operands) set_fences(o.view->data);
        }
        VectorOpResult result;
        if (shape == VectorShape::Reduction) {
            std::sort(done.begin(), done.end(), [](const Done& x, const Done& y) { return x.begin < y.begin; });
            std::vector<VectorPartial> in_order;
            for (Done& d : done) in_order.push_back(std::move(d.partial));
            result = combine_vector_partials(args.op, in_order);
        }
        restart_log_if_all_home();
        return result;
    }

    static BufferRef buffer_ref(const KernelArg& a) { return BufferRef{a.data, a.length, a.type}; }
    static BufferRef buffer_ref(const void* key, const BufferInfo& info) {
        return BufferRef{const_cast<void*>(key), info.length, info.region ? info.region->type : ElemType::U8};
    }

    // Logs a launch with resident buffers (cluster/lineage.h) and fences its
    // element-wise buffers for home writes, which the log must hear of.
    // Its number in the log; an empty error when nothing needs logging.
    Result<std::size_t> log_launch(const KernelLaunch& launch) {
        bool any = false;
        for (std::size_t i = 0; i < launch.args.size(); ++i) any = any || resident(launch, i);
        if (!any) return Error{""};
        auto n = lineage.record(launch);
        if (!n) return Error{cat("kernel '", launch.kernel->name, "': ", n.error())};
        std::lock_guard lock(residency_mutex);
        for (std::size_t i = 0; i < launch.args.size(); ++i)
            if (resident(launch, i)) directory.mark_logged_input(launch.args[i].data, 0, launch.args[i].length, true);
        return n;
    }

    // Nothing lives only elsewhere any more: the log starts afresh.
    void restart_log_if_all_home() {
        std::lock_guard lock(residency_mutex);
        if (lineage.launches() == 0 || !directory.all_at_home()) return;
        lineage.restart();
        directory.clear_logged_inputs();
        for (auto& [key, info] : buffers) set_fences(key);
    }

    // Recomputes every run no live participant holds (cluster/lineage.h),
    // as the launch in progress found them (its lost claims run again), and
    // lands them at home.
    std::optional<std::string> recover_lost() {
        std::lock_guard recovery(recovery_mutex);
        std::optional<std::size_t> as_found_by;
        {
            std::lock_guard lock(chunk_mutex);
            if (in_launch) as_found_by = launch_record;
            else if (vector_record) as_found_by = vector_record;
        }
        std::vector<LostElements> lost;
        {
            std::lock_guard lock(residency_mutex);
            directory.each([&](const void* key, const std::vector<DirectoryRun>& runs) {
                for (const DirectoryRun& r : runs)
                    if (r.holders == 0) lost.push_back(LostElements{buffer_ref(key, buffers[key]), r.begin, r.end});
            });
        }
        if (lost.empty()) return std::nullopt;  // another thread recovered them
        {
            // The replay runs at home: a distributed region's lost part must fit there.
            std::lock_guard lock(residency_mutex);
            for (const LostElements& l : lost)
                if (auto err = home_takes(l.buffer.data, l.begin, l.end)) return cat("recomputing region values lost with a node: ", *err);
        }
        auto done = lineage.recompute(lost, as_found_by);
        if (!done) return cat("recomputing region values lost with a node: ", done.error());
        std::lock_guard lock(residency_mutex);
        for (const LostElements& l : lost) {
            directory.set(l.buffer.data, l.begin, l.end, kHomeMemory);
            set_fences(l.buffer.data);
        }
        std::fprintf(stderr, "polymer-run: note: recomputed %llu bytes lost with a node (%llu launches replayed over %llu lanes)\n",
                     static_cast<unsigned long long>(done.value().bytes_restored), static_cast<unsigned long long>(done.value().launches),
                     static_cast<unsigned long long>(done.value().lanes));
        return std::nullopt;
    }

    // Blocks until no launch is queued or running (the VM's thread).
    void wait_idle() {
        std::unique_lock lock(mutex);
        changed.wait(lock, [&] { return queue.empty() && !running; });
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
        track_buffers(launch);
        if (!plan.splittable) {
            // Nothing to cut safely (docs/cluster.md): the home runs it whole,
            // on current values, and its outputs are then the home's alone.
            if (auto e = bring_all_home(launch, plan, true)) return *e;
            const auto start = Clock::now();
            note_fault(run_at_home(launch));
            log_run(nullptr, launch, launch.begin, launch.end, start, false, ChunkOutcome::Applied);
            update_fences(launch);
            return {};
        }
        // Broadcast inputs travel whole and partials are summed into the
        // home's copy: both need the current values at home first.
        if (auto e = bring_all_home(launch, plan, false)) return *e;
        std::optional<std::size_t> record;
        if (auto r = log_launch(launch)) record = r.value();
        else if (!r.error().empty()) return r.error();
        // Every capable participant takes part; `.prefers gpu` weighs the
        // GPU-class ones' claims up (chunk_sizing.h) rather than leaving the rest idle.
        std::vector<Participant*> capable;
        for (auto& p : participants)
            if (meets(*p, k.requirements)) capable.push_back(p.get());
        if (capable.empty()) return no_capable_node(k);
        if (std::string why = keep_those_with_room(launch, capable); !why.empty()) return why;
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
            grain_taken.assign(grid.size(), 0);
            grain_runner.assign(grid.size(), nullptr);
            grains_left = grid.size();
            prefers_gpu = k.requirements.prefers_gpu;
            grain_owner = owners(launch, capable);
            if (std::string why = plan_memory(launch, capable); !why.empty()) return why;
            steal_bytes_per_lane = 0;
            for (std::size_t i = 0; i < launch.args.size(); ++i)
                if (resident(launch, i)) steal_bytes_per_lane += elem_size(launch.args[i].type);
            pending.clear();
            done_count = 0;
            sharing = capable;
            one_grain_claims = !plan.partial_params.empty();
            partial_count = plan.partial_params.size();
            for (auto& p : participants) {
                p->launch_lanes = 0;
                p->busy = {};
                p->outstanding = 0;
            }
        }
        {
            std::lock_guard lock(chunk_mutex);
            in_launch = true;
            current_launch = &launch;
            launch_record = record;
            residency_error.clear();
        }
        struct LaunchEnds {
            Impl& impl;
            ~LaunchEnds() {
                std::lock_guard lock(impl.chunk_mutex);
                impl.in_launch = false;
                impl.current_launch = nullptr;
                impl.launch_record.reset();
            }
        } launch_ends{*this};
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
            if (!residency_error.empty()) return residency_error;
            if (done_count == grid.size() || interrupted()) break;
            admit_arrivals();  // a node back meanwhile takes the rest
            capable.clear();
            for (auto& p : participants)
                if (meets(*p, k.requirements)) capable.push_back(p.get());
            if (capable.empty()) return no_capable_node(k);
            std::lock_guard lock(chunk_mutex);
            sharing = capable;
        }
        if (interrupted()) {  // the fault says so
            update_fences(launch);
            return {};
        }
        if (done_count != grid.size()) return no_capable_node(k);
        for (std::uint32_t i : plan.partial_params)
            lineage.before_home_write(buffer_ref(launch.args[i]), 0, launch.args[i].length, HomeWrite::Replayable);
        combine_partials(launch, plan);
        update_fences(launch);
        restart_log_if_all_home();
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

    // Whole-buffer (broadcast) inputs go to every node that runs a chunk:
    // nodes without room for them (their --max-memory less what they hold)
    // sit this launch out. An error with the sizes when that leaves no one.
    std::string keep_those_with_room(const KernelLaunch& launch, std::vector<Participant*>& capable) {
        std::uint64_t whole = 0, top = 0;
        const void* biggest = nullptr;
        for (std::size_t i = 0; i < launch.args.size(); ++i) {
            const KernelParam& param = launch.kernel->params[i];
            const KernelArg& a = launch.args[i];
            if (param.kind == ParamKind::Uniform || param.indexing != Indexing::Broadcast || a.data == nullptr) continue;
            const std::uint64_t bytes = a.length * elem_size(a.type);
            whole += bytes;
            if (bytes > top) top = bytes, biggest = a.data;
        }
        if (whole == 0) return {};
        std::string rooms;
        std::vector<Participant*> kept;
        {
            std::lock_guard lock(residency_mutex);
            for (Participant* p : capable) {
                const std::uint64_t used = is_home(*p) ? 0 : usage(*p), limit = is_home(*p) ? std::numeric_limits<std::uint64_t>::max() : limit_of(*p);
                if (used + whole <= limit) {
                    kept.push_back(p);
                    continue;
                }
                rooms += cat(rooms.empty() ? "" : ", ", who_name(*p), " has room for ", mib(limit > used ? limit - used : 0));
            }
        }
        if (kept.empty())
            return cat("launch of kernel '", launch.kernel->name, "': its whole-buffer inputs (", mib(whole), ", the largest ",
                       buffers.count(biggest) ? cat("region ", region_name(biggest)) : std::string("a buffer"), " of ", mib(top),
                       ") fit no node's memory: ", rooms, options.local_work ? "" : "; the home runs no chunks (--no-local-work)");
        capable = std::move(kept);
        return {};
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

    // p's estimated rate (lanes/s of this kernel once anyone has measured,
    // chunk_sizing.h) and the total over the launch's live participants.
    std::pair<double, double> rate_and_total(const Participant& p, Clock::time_point now) const {
        std::vector<RateInput> inputs;
        std::size_t self = sharing.size();
        for (const Participant* q : sharing) {
            if (!q->alive && q != &p) continue;
            if (q == &p) self = inputs.size();
            inputs.push_back(RateInput{q->caps.throughput, prefers_gpu && q->gpu, q->measured_rate(now)});
        }
        const std::vector<double> rates = estimated_rates(inputs, options.prefer_weight);
        double total = 0;
        for (double r : rates) total += r;
        return {self < rates.size() ? rates[self] : 0.0, total};
    }
    // p's share of the estimated rate of the launch's live participants.
    double share_of(const Participant& p, Clock::time_point now) const {
        const auto [rate, total] = rate_and_total(p, now);
        return total > 0 && rate > 0 ? rate / total : 1.0;
    }
    // Whether `thief` should take a grain of `victim`'s, which has `left`
    // untaken (chunk_mutex held). A steal moves the grain's resident inputs
    // to the thief, and its outputs then stay there, so the next launch
    // splits the victim's slice too (or moves the outputs back): the move
    // counts all its resident bytes, outputs too, so even a first launch
    // (outputs only) keeps its blocks whole unless a node is far behind. A
    // steal is worth it only while the victim would still need more than
    // twice what the thief takes to fetch the grain (at
    // kStealLinkBytesPerSecond) and run it. A victim that is gone, or whose
    // rate is not known, is always worth it.
    bool worth_stealing(const Participant& thief, const Participant& victim, std::size_t left) const {
        if (!victim.alive) return true;
        const auto now = Clock::now();
        const double victim_rate = rate_and_total(victim, now).first, thief_rate = rate_and_total(thief, now).first;
        if (!(victim_rate > 0) || !(thief_rate > 0)) return true;
        const auto lanes = static_cast<double>(grid.grain);
        const double victim_seconds = static_cast<double>(left) * lanes / victim_rate;
        const double thief_seconds = lanes / thief_rate + lanes * static_cast<double>(steal_bytes_per_lane) / kStealLinkBytesPerSecond;
        return victim_seconds > 2 * thief_seconds;
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
        } else if (grains_left != 0 && launch_fault) {
            // Grains past the faulting lane cannot change what is reported: not run.
            for (std::size_t g = 0; g < grid.size(); ++g)
                if (!grain_taken[g] && (launch_fault.kind == KernelFault::Kind::Interrupted || grid.grain_begin(g) > launch_fault.lane)) {
                    grain_taken[g] = 1;
                    --grains_left;
                    ++done_count;
                }
            claims_changed.notify_all();
        }
        if (!got && grains_left != 0) {
            const std::uint64_t most = one_grain_claims ? 1
                                                        : claim_grains(share_of(p, now), grains_left, options.claim_divisor, claim_cap);
            if (auto first = next_claim_start(p)) {
                // A run of untaken grains with the same owner as the first one.
                std::size_t g = *first, n = 0;
                Participant* owner = grain_owner.empty() ? nullptr : grain_owner[g];
                while (g + n < grid.size() && n < most && !grain_taken[g + n] &&
                       (grain_owner.empty() || grain_owner[g + n] == owner)) {
                    grain_taken[g + n] = 1;
                    grain_runner[g + n] = &p;
                    ++n;
                }
                // Someone else's grains (or nobody's) must fit p's memory:
                // one grain at least, else p takes nothing here.
                if (owner != &p && !grain_owner.empty())
                    while (n > 0 && !fits(p, grid.grain_begin(g), grid.grain_end(g + n - 1))) {
                        --n;
                        grain_taken[g + n] = 0;
                        grain_runner[g + n] = nullptr;
                    }
                if (n == 0) {
                    if (owner == nullptr || !owner->alive) fail_if_nobody_fits(g);
                    return std::nullopt;
                }
                grains_left -= n;
                got = claims_made++;
                ChunkState& c = chunks[*got];
                c.begin = grid.grain_begin(g);
                c.end = grid.grain_end(g + n - 1);
                c.grains = n;
                c.partials.resize(partial_count);
            }
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
            if (!backups_allowed()) break;
            c.backed_up = true;
            ++c.runners;
            backup = true;
            run_started(p, now);
            return i;
        }
        return std::nullopt;
    }

    // Whether lanes [b, e) of the launch in progress fit p's memory on top of
    // what it is planned to hold; if so they are planned (chunk_mutex held).
    bool fits(const Participant& p, std::uint64_t b, std::uint64_t e) {
        if (current_launch == nullptr) return true;
        std::lock_guard lock(residency_mutex);
        const std::uint64_t need = launch_bytes(p, *current_launch, b, e);
        auto [it, fresh] = planned.try_emplace(&p, 0);
        if (fresh) it->second = usage(p);
        if (it->second + need > limit_of(p)) return false;
        it->second += need;
        return true;
    }
    // Grain g's owner is gone (or it had none) and the participant asking
    // has no room for it: when no live participant of the launch has, the
    // launch stops with the sizes, rather than wait for a taker forever
    // (chunk_mutex held).
    void fail_if_nobody_fits(std::size_t g) {
        std::string rooms;
        {
            std::lock_guard lock(residency_mutex);
            for (const Participant* q : sharing) {
                if (!q->alive) continue;
                const std::uint64_t need = launch_bytes(*q, *current_launch, grid.grain_begin(g), grid.grain_end(g));
                auto it = planned.find(q);
                const std::uint64_t have = it == planned.end() ? usage(*q) : it->second;
                if (have + need <= limit_of(*q)) return;  // q can take it
                rooms += cat(rooms.empty() ? "" : "; ", who_name(*q), " holds ", mib(have), " and needs ", mib(need), " more");
            }
        }
        if (residency_error.empty())
            residency_error = cat("launch of kernel '", current_launch->kernel->name, "': lanes [", grid.grain_begin(g), ", ",
                                  grid.grain_end(g), ") fit no participant's memory (", rooms, ") (docs/cluster.md, \"Placement\")");
        done_count = grid.size();  // the workers stop
        claims_changed.notify_all();
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
        return pending.empty() && grains_left == 0;
    }

    // Where p's next claim starts (chunk_mutex held): the first untaken grain
    // it owns (its data is there), else the first nobody owns, else one
    // stolen from the owner with the most untaken grains, next to p's own, when
    // that owner has a quarter of its grains (and at least two) left: it is
    // behind, not just finishing, and far enough behind to pay for moving
    // the grain (worth_stealing). A steal moves the grain's data, and the
    // next launch's balance may move it back, so small leads are left alone.
    std::optional<std::size_t> next_claim_start(const Participant& p) const {
        const auto untaken_of = [&](const Participant* who) -> std::optional<std::size_t> {
            for (std::size_t g = 0; g < grid.size(); ++g)
                if (!grain_taken[g] && (grain_owner.empty() ? who == nullptr : grain_owner[g] == who)) return g;
            return std::nullopt;
        };
        if (!grain_owner.empty())
            if (auto g = untaken_of(&p)) return g;
        if (auto g = untaken_of(nullptr)) return g;
        std::map<const Participant*, std::size_t> left, owned;
        for (std::size_t g = 0; g < grid.size(); ++g) {
            ++owned[grain_owner[g]];
            if (!grain_taken[g]) ++left[grain_owner[g]];
        }
        const Participant* victim = nullptr;
        std::size_t most = 0;
        for (auto [who, n] : left) {
            const bool behind = n >= std::max<std::size_t>(2, (owned[who] + 3) / 4);
            if ((behind && n > most) || (who != nullptr && !who->alive)) victim = who, most = std::max(most, n);
        }
        if (victim == nullptr || !worth_stealing(p, *victim, most)) return std::nullopt;
        // The victim's untaken grain next to what p owns or runs, so that
        // p's slice grows by it and stays one run (the next launch then runs
        // it on p, and a stencil keeps its two boundaries); from anywhere
        // when the victim is gone, or p has no slice yet (a node that just
        // joined: its first grain starts one).
        const auto mine = [&](std::size_t g) { return g < grid.size() && (grain_owner[g] == &p || grain_runner[g] == &p); };
        bool has_slice = false;
        for (std::size_t g = 0; g < grid.size() && !has_slice; ++g) has_slice = mine(g);
        for (std::size_t g = grid.size(); g-- > 0;)
            if (!grain_taken[g] && grain_owner[g] == victim &&
                (mine(g + 1) || (g > 0 && mine(g - 1)) || !victim->alive || !has_slice))
                return g;
        return std::nullopt;
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
    bool claim(std::size_t i, Participant& p, bool backup, std::uint64_t kernel_ns, bool kept) {
        std::lock_guard lock(chunk_mutex);
        ChunkState& c = chunks[i];
        const auto now = Clock::now();
        --c.runners;
        run_ended(p, now, c.end - c.begin);  // a losing copy's lanes still say how fast p is
        if (c.status == ChunkState::Status::Done) return false;
        c.status = ChunkState::Status::Done;
        c.winner = &p;
        c.kept = kept;
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
            if (auto e = pull_inputs_home(launch, piece.begin, piece.end, backup ? runner_bit(*i) : 0)) {
                fail_launch(*e);
                give_back(*i, p);
                return;
            }
            std::vector<Bytes> partials(plan.partial_params.size());
            for (std::size_t j = 0; j < partials.size(); ++j) {
                KernelArg& a = piece.args[plan.partial_params[j]];
                partials[j].assign(a.length * elem_size(a.type), 0);
                a.data = partials[j].empty() ? nullptr : partials[j].data();
            }
            for (std::size_t j = 0; j < piece.args.size(); ++j)
                if (resident(launch, j) && launch.kernel->params[j].access != Access::In) {
                    const auto [lo, hi] = clip(launch.args[j], piece.begin, piece.end);
                    lineage.before_home_write(buffer_ref(launch.args[j]), lo, hi, HomeWrite::Replayable);
                }
            const auto start = Clock::now();
            const KernelFault fault = run_at_home(piece);  // element-wise outputs land in place: this range is ours alone
            const auto ns = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start).count());
            const bool won = claim(*i, p, backup, ns, false);
            if (won || fault.kind == KernelFault::Kind::Interrupted) note_fault(fault);
            if (won) {
                chunks[*i].partials = std::move(partials);
                outputs_held_by(launch, piece.begin, piece.end, kHomeMemory);
            }
            log_run(&p, launch, piece.begin, piece.end, start, backup, won ? ChunkOutcome::Applied : ChunkOutcome::Lost);
        }
    }

    // Puts what chunk [b, e) needs on the node (or has it fetch halos from
    // other nodes) and starts it; the request id.
    Result<std::uint64_t> send_chunk(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan, std::uint64_t b,
                                     std::uint64_t e, HolderSet avoid, std::vector<HaloNote>& notes) {
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
            if (p.bit != 0 && resident(launch, i)) {
                auto id = put_resident_inputs(p, launch, i, b, e, avoid, msg.fetches, notes);
                if (!id) return Error{id.error()};
                msg.args.push_back(Binding{Binding::Kind::Region, id.value(), kResidentVersion, 0});
                continue;
            }
            auto [it, fresh] = p.region_ids.try_emplace(arg.data, 0);
            if (fresh) it->second = p.next_region++;
            const std::uint64_t id = it->second;
            std::uint64_t& have = p.versions[id];
            auto put = [&](std::uint64_t version, std::uint64_t offset, std::span<const std::uint8_t> bytes) -> Result<Done> {
                p.stats.bytes_out += bytes.size();
                {
                    std::lock_guard lock(residency_mutex);
                    count_traffic(arg.data, arg.region, Way::ToNodes, bytes.size());
                }
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
                // Element-wise and window buffers: the chunk's reach, fresh each launch.
                version = launch_seq << 8;
                const auto [first, last] = reach(launch, i, b, e);
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
        msg.keep_outputs = keeps_outputs(p, launch);
        return c.start_launch(msg);
    }

    // Copies a node's result into the home regions (or keeps its partials).
    // False when another copy's result was applied first (this one is dropped).
    bool apply(Participant& p, std::size_t i, const KernelLaunch& launch, const LaunchPlan& plan, ChunkResult& r, bool backup) {
        std::uint64_t in = 0;
        for (const OutputSlice& s : r.outputs) in += s.data.size();
        p.stats.bytes_in += in;
        const bool kept = keeps_outputs(p, launch);
        if (!claim(i, p, backup, r.kernel_ns, kept)) return false;
        note_fault(r.fault);
        // Its resident copies hold the outputs now; the home's too unless they stayed there.
        outputs_held_by(launch, chunks[i].begin, chunks[i].end, p.bit == 0 ? kHomeMemory : kept ? p.bit : (p.bit | kHomeMemory));
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
            std::lock_guard lock(residency_mutex);
            count_traffic(arg.data, arg.region, Way::ToHome, s.data.size());
        }
        return true;
    }

    void lose(Participant& p, const std::string& why) {
        {
            std::lock_guard lock(chunk_mutex);
            if (!p.alive) return;  // another thread saw it first
            p.alive = false;
            if (p.stats.lost.empty()) p.stats.lost = why;
            std::fprintf(stderr, "polymer-run: warning: %s dropped out: %s; its chunks run elsewhere\n", p.stats.name.c_str(), why.c_str());
            if (roster) roster->lost(p.slot);  // redialled in the background (a node that dialled us dials again itself)
            // Claims of this launch whose outputs only p kept run again elsewhere.
            if (in_launch)
                for (std::size_t i = 0; i < claims_made; ++i) {
                    ChunkState& c = chunks[i];
                    if (c.status != ChunkState::Status::Done || c.winner != &p || !c.kept) continue;
                    c.status = ChunkState::Status::Pending;
                    c.backed_up = false;
                    c.winner = nullptr;
                    done_count -= c.grains;
                    ++p.stats.retries;
                    pending.push_back(i);
                    claims_changed.notify_all();
                }
        }
        forget_holder(p);
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
            // Node to node: the run's ticket lets the other nodes fetch from
            // it (and it from them); refused or not, the node takes part.
            const bool ticket_taken = peer_ticket && a.client->send_peer_ticket(*peer_ticket).ok();
            std::lock_guard lock(mutex);
            if (p == nullptr) {
                participants.push_back(std::make_unique<Participant>());
                p = participants.back().get();
                p->slot = Arrival::kJoined;
                p->bit = next_holder_bit();
                p->stats.remote = true;
            }
            p->client = std::move(a.client);
            p->caps = p->client->capabilities();
            p->gpu = gpu_class(p->caps);
            p->host.clear();
            if (auto at = parse_host_port(a.address)) p->host = at.value().host;
            p->peer_port = p->caps.peer_port;
            p->has_ticket = ticket_taken;
            p->fetches_from_peers = ticket_taken;
            p->alive = true;
            p->module_uploaded = false;
            p->region_ids.clear();
            p->versions.clear();
            p->broadcast_bytes.clear();
            // A node back (restarted or not) holds nothing we count on: the
            // directory forgets its copies (lineage recomputes what only it had).
            forget_holder(*p);
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
            std::vector<HaloNote> halos;  // --trace
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
                std::vector<HaloNote> halos;
                auto id = send_chunk(p, launch, plan, chunks[*i].begin, chunks[*i].end, backup ? runner_bit(*i) : 0, halos);
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
                in_flight.push_back({*i, id.value(), backup, sent, p.stats.bytes_out - out_before, std::move(halos)});
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
            std::optional<ErrorCode> refused;
            auto polled = p.client->wait_launch_for(f.request, std::chrono::milliseconds(5), &refused);
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
            if (!r && refused == ErrorCode::PeerFetchFailed) {
                // The node could not reach the node holding a halo (a firewall,
                // another token, a node just gone): it stays, the chunk runs
                // again, and from now on what it lacks comes through the home.
                if (p.fetches_from_peers)
                    std::fprintf(stderr, "polymer-run: warning: %s: %s; it gets what it lacks through the home from now on\n",
                                 p.stats.name.c_str(), r.error().c_str());
                p.fetches_from_peers = false;
                log_flight(f, ChunkOutcome::Failed);
                give_back(f.chunk, p);
                continue;
            }
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
            for (const HaloNote& h : f.halos) log_halo(p, h, f.sent);
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
    if (auto ticket = random_nonce()) impl->peer_ticket = ticket.value();
    impl->module_pbc = write_module(module);
    impl->module_hash = sha256(impl->module_pbc);
    // The home's memory left for distributed regions: its --max-memory less
    // the other regions, which it allocates whole.
    if (options.home_memory != 0) {
        std::uint64_t others = 0;
        for (const RegionDecl& d : module.regions)
            if (!d.distributed) others += d.length * elem_size(d.type);
        impl->home_budget = options.home_memory > others ? options.home_memory - others : 1;
    }
    if (options.local_work) {
        auto home = std::make_unique<Participant>();
        home->stats.name = "home";
        home->bit = kHomeMemory;  // its chunks work on the home's memory
        home->caps.throughput = options.home_throughput;  // 0: measured when it first shares a launch
        impl->participants.push_back(std::move(home));
    }
    if (!options.local_work && options.nodes.empty() && options.listen_host.empty())
        return Error{"no nodes and --no-local-work: nothing can run kernels"};
    for (std::size_t i = 0; i < options.nodes.size(); ++i) {
        const NodeAddress& a = options.nodes[i];
        auto p = std::make_unique<Participant>();
        p->slot = i;
        p->bit = impl->next_holder_bit();
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
    // Where its operands are, when some are away from the home (after the
    // launches before it: they may move them).
    if (impl_->vector_runs_on_nodes(args)) {
        impl_->wait_idle();
        if (impl_->vector_runs_on_nodes(args)) {
            auto r = impl_->run_vector_op(args);
            if (!r) impl_->options.on_fatal(r.error());
            std::lock_guard lock(impl_->mutex);
            const Ticket t = impl_->next_ticket++;
            impl_->vector_results[t] = r ? r.value() : VectorOpResult{};
            return t;
        }
    }
    // Else at home: its operands must be current there first.
    bool tracked = false;
    {
        std::lock_guard lock(impl_->residency_mutex);
        for (const RegionView* v : {&args.dst, &args.a, &args.b, &args.c})
            tracked = tracked || (v->data != nullptr && impl_->directory.tracks(v->data));
    }
    if (tracked) {
        impl_->wait_idle();
        for (const RegionView* v : {&args.a, &args.b, &args.c, &args.dst}) {
            Region* r = nullptr;
            {
                std::lock_guard lock(impl_->residency_mutex);
                auto it = impl_->buffers.find(v->data);
                if (v->data != nullptr && it != impl_->buffers.end()) r = it->second.region;
            }
            if (r != nullptr) impl_->bring_home(*r, 0, r->length, v == &args.dst ? HomeAccess::Write : HomeAccess::Read);
        }
    }
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
    if (auto it = impl_->vector_results.find(ticket); it != impl_->vector_results.end()) {
        const VectorOpResult r = it->second;
        impl_->vector_results.erase(it);
        return r;
    }
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

void ClusterBackend::bring_home(Region& r, std::uint64_t begin, std::uint64_t end, HomeAccess access) {
    impl_->wait_idle();
    impl_->bring_home(r, begin, end, access);
}

void ClusterBackend::forget_region(Region& r) {
    impl_->wait_idle();
    impl_->forget_region(r);
}

bool ClusterBackend::places_regions() const { return impl_->options.keep_data; }

void ClusterBackend::place_region(Region& r) {
    impl_->wait_idle();
    impl_->place_region(r);
}

std::vector<ResidentSlice> ClusterBackend::residency(const Region& r) const {
    std::lock_guard lock(impl_->residency_mutex);
    std::vector<ResidentSlice> out;
    if (!impl_->directory.tracks(r.data)) return out;
    bool away = false;
    for (const DirectoryRun& run : impl_->directory.runs(r.data, 0, r.length)) {
        std::string who;
        for (auto& p : impl_->participants) {
            if (!(run.holders & p->bit) || p->bit == kHomeMemory) continue;
            who += cat(who.empty() ? "" : ", ", p->stats.name);
        }
        if (run.holders & kHomeMemory) who = who.empty() ? "home" : cat("home, ", who);
        if (unwritten(run.holders)) who = "zeros, not written yet";
        if (run.holders != kHomeMemory) away = true;
        out.push_back(ResidentSlice{run.begin, run.end, who.empty() ? "lost" : who});
    }
    if (!away) out.clear();  // all at home: nothing to say
    return out;
}

void ClusterBackend::record_chunk_runs(std::size_t limit) { impl_->chunk_log.enable(limit); }

const ChunkLog& ClusterBackend::chunk_log() const { return impl_->chunk_log; }

std::vector<ParticipantStats> ClusterBackend::participant_stats() const {
    std::lock_guard lock(impl_->mutex);
    std::vector<ParticipantStats> out;
    std::lock_guard residency(impl_->residency_mutex);
    const auto elem = [&](const void* key) -> std::uint64_t {
        auto it = impl_->buffers.find(key);
        return it == impl_->buffers.end() ? 1 : it->second.elem;
    };
    for (auto& p : impl_->participants) {
        out.push_back(p->stats);
        if (p->bit == 0) continue;
        const Directory::Held h = impl_->directory.held_by(p->bit, elem, &out.back().bytes_held);
        out.back().runs_held = h.runs;
    }
    return out;
}

std::vector<RegionTraffic> ClusterBackend::region_traffic() const {
    std::lock_guard lock(impl_->residency_mutex);
    return impl_->traffic_rows;
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
