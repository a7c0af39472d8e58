// The ClusterBackend's private state and the declarations of its parts
// (cluster/cluster_backend.h says what it does): launches spread over the
// participants (backend_launches.cpp), region data kept where it is
// computed and moved node to node (backend_residency.cpp), distributed
// regions placed within each participant's memory (backend_placement.cpp),
// vector ops run where their operands are (backend_vectors.cpp), and the
// dispatcher, lineage glue and public methods (cluster_backend.cpp). Only
// those files include it.
#pragma once

#include "cluster/cluster_backend.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <deque>
#include <functional>
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

inline std::uint64_t physical_memory() {
    return static_cast<std::uint64_t>(sysconf(_SC_PHYS_PAGES)) * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

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
    // The program's name for each region id it has here (residency_mutex):
    // a node's messages say "region 411245515183751169 version 2^62", the
    // user reads "region 'y'" (ClusterBackend::Impl::with_region_names).
    std::map<std::uint64_t, std::string> region_names;
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
    std::unique_ptr<Backend> owned_local;  // first: it outlives everything that uses `local`
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
        std::uint64_t rounds = 1;  // ClusterBackend::run_rounds: the launch this many times
    };
    std::deque<Job> queue;
    struct Outcome {
        std::string error;  // fatal ("" = ok)
        KernelFault fault;  // a lane that broke the kernel contract
        std::uint64_t fault_round = 0;  // in that round
    };
    std::map<Ticket, Outcome> finished;
    // Waits (under `lock`, on `mutex`) for the dispatcher to finish `ticket`,
    // takes its outcome and unlocks; a fatal one goes to options.on_fatal.
    Outcome await_outcome(std::unique_lock<std::mutex>& lock, Ticket ticket);
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
    std::uint64_t fault_round = 0;  // the round launch_fault is in (the earliest round with a fault wins)
    std::uint64_t rounds = 1;       // the launch in progress runs this many times (Backend::run_rounds)
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
                 bool backup, ChunkOutcome outcome, std::uint64_t bytes_out = 0, std::uint64_t bytes_in = 0);


    // A halo a node fetches from another for the chunk it is sent with (--trace).
    struct HaloNote {
        std::string what;  // "halo REGION from NODE"
        std::uint64_t begin = 0, end = 0;
    };

    // --trace: a halo p fetched from another node for a chunk sent at `sent`.
    void log_halo(const Participant& p, const HaloNote& h, Clock::time_point sent);

    // ---- Residency (docs/cluster.md, "Data lives on the nodes") ----

    // Bits 1..62 go to the first 62 nodes; later ones keep nothing (0).
    HolderSet next_next_bit = 2;
    HolderSet next_holder_bit();

    // ---- Placement and memory (docs/cluster.md, "Placement") ----

    static std::string mib(std::uint64_t bytes);
    std::string region_name(const void* key) const;
    static bool is_home(const Participant& p) { return p.bit == kHomeMemory; }
    bool is_placed(const void* key) const { return placed.count(key) != 0 || placement_error.count(key) != 0; }
    std::size_t elem_of(const void* key) const;
    // Grains a launch over `lanes` lanes is cut into (run_launch's grid).
    std::uint64_t target_grains() const;
    // The most p may hold (residency_mutex): a node's advertised
    // --max-memory less room for a frame being received; the home's budget.
    std::uint64_t limit_of(const Participant& p) const;
    // What p's memory holds or is promised (residency_mutex): a node's
    // written runs and the unwritten parts of the blocks placed on it; the
    // home's touched elements of distributed regions (its other regions are
    // allocated whole anyway).
    // The unwritten elements of [b, e) of `key` in blocks placed on `who`
    // (residency_mutex): promised to it, not yet in anyone's memory.
    std::uint64_t unwritten_in_blocks(const Participant& who, const void* key, std::uint64_t b, std::uint64_t e) const;
    // The home's: the elements of distributed regions its pages hold, and
    // the unwritten parts of its blocks (its other regions are allocated
    // whole anyway).
    std::uint64_t home_usage() const;
    std::uint64_t home_new_bytes(const void* key, std::uint64_t b, std::uint64_t e) const;
    const Participant* home_participant() const;
    std::uint64_t elem_count(const void* key) const;
    std::uint64_t usage(const Participant& p) const;
    // The bytes p's memory would take on to hold elements [b, e) of `key`
    // (residency_mutex): those it holds no written copy of, but for
    // unwritten ones in its own blocks (usage counts them). The home takes
    // on only elements of distributed regions it has not touched.
    std::uint64_t new_bytes(const Participant& p, const void* key, std::uint64_t b, std::uint64_t e) const;
    // What running lanes [b, e) of the launch adds to p's memory, and the
    // region adding most (residency_mutex).
    std::uint64_t launch_bytes(const Participant& p, const KernelLaunch& launch, std::uint64_t b, std::uint64_t e,
                               const void** most = nullptr) const;
    std::string who_name(const Participant& p) const { return is_home(p) ? std::string("the home") : cat("node ", p.stats.name); }
    std::string limit_name(const Participant& p) const;
    std::string home_limit_name() const;

    // Places a distributed region's fresh storage (ClusterBackend::place_region):
    // all of it unwritten, every participant's copy reads it as zeros, and
    // its grains cut into one block per participant that keeps data, by rate
    // and within the memory each has room for. Distributed regions of the
    // same length that nothing has written yet are placed together, with the
    // same blocks, so a launch over several of them finds each grain's
    // elements on one participant. A region that fits nowhere keeps the
    // reason: its first launch stops with it.
    void place_region(Region& r);

    // Before the home's pages take elements [b, e) of a distributed region
    // (a fetch, a write, a piece it runs): an error when that passes its
    // budget; else they count from now on (residency_mutex held).
    std::optional<std::string> home_takes(const void* key, std::uint64_t b, std::uint64_t e);

    // Whether param i's values stay where the chunks that write them run:
    // an element-wise buffer of a home Region (the VM's fences work for it).
    bool resident(const KernelLaunch& launch, std::size_t i) const;
    // Whether p keeps this launch's element-wise outputs (they do not come
    // home): only when every one of them is resident, so nothing else is
    // left on the node (a loop kernel's per-lane partials are not Regions).
    bool keeps_outputs(const Participant& p, const KernelLaunch& launch) const;

    // Elements [b, e) of buffer param i, clipped to its length.
    static std::pair<std::uint64_t, std::uint64_t> clip(const KernelArg& a, std::uint64_t b, std::uint64_t e);
    // The elements of buffer param i that lanes [b, e) read: their own, and
    // through a window the halo around them.
    static std::pair<std::uint64_t, std::uint64_t> reach(const KernelLaunch& launch, std::size_t i, std::uint64_t b, std::uint64_t e);

    // --stats: `bytes` of region `key` moved one way (residency_mutex held).
    enum class Way { ToNodes, ToHome, NodeToNode };
    void count_traffic(const void* key, const Region* region, Way way, std::uint64_t bytes);

    void track_buffers(const KernelLaunch& launch);

    // Sets each buffer's Region fences from the directory (after a launch,
    // a fetch, a home write). residency_mutex held.
    void set_fences(const void* key);
    void update_fences(const KernelLaunch& launch);

    // Who holds most of each grain's resident inputs, among the launch's
    // nodes. When nobody but the home holds any (the first launch), a launch
    // whose outputs stay where they are computed gets a first placement:
    // one block of grains per participant, sized by its advertised rate, so
    // each keeps one contiguous slice (a stencil's halos then cross only
    // between neighbours). Empty: no owners, claims go first come.
    std::vector<Participant*> owners(const KernelLaunch& launch, const std::vector<Participant*>& capable);

    // One block of grains per participant, by advertised rate, none past
    // the memory it has room for (place_blocks); empty when they cannot
    // hold it all (plan_memory and take then say who cannot).
    std::vector<Participant*> first_placement(const KernelLaunch& launch, const std::vector<Participant*>& capable) const;

    // Who holds most of each grain's resident inputs, by bytes; the
    // unwritten parts of a distributed region (inputs and outputs) count for
    // the participant whose block they are in, the home too.
    std::vector<Participant*> holders_of_inputs(const KernelLaunch& launch, const std::vector<Participant*>& capable);

    // The memory each participant of the launch will hold once it ran the
    // grains it owns (`planned`, chunk_mutex held); an error naming the
    // participant, the region and the sizes when that passes its limit, or
    // when a distributed region of the launch fits nowhere.
    std::string plan_memory(const KernelLaunch& launch, const std::vector<Participant*>& capable);

    // A live participant other than `not_this` holding all of `run` at its
    // resident copy (the home's memory counts); null when none. residency_mutex held.
    Participant* source_for(const void* key, HolderSet holders);

    // Makes [b, e) of a buffer current in the home's memory, fetching the
    // runs the home lacks from a node that holds them, from `avoid` (a
    // backup's runner) only when no one else has them. An error when a run
    // has no live holder left and lineage cannot recompute it.
    std::optional<std::string> pull_home(const void* key, std::uint64_t b, std::uint64_t e, HolderSet avoid = 0);

    // The inputs of lanes [b, e) the home runs itself, current in its memory.
    std::optional<std::string> pull_inputs_home(const KernelLaunch& launch, std::uint64_t b, std::uint64_t e, HolderSet avoid);

    // Before a launch: what must be current at home. `whole`: the home runs
    // it on its own memory (every buffer; outputs become the home's alone).
    // Else broadcast buffers (inputs travel whole; partials are summed into
    // the home's copy, which is then the only current one).
    std::optional<std::string> bring_all_home(const KernelLaunch& launch, const LaunchPlan& plan, bool whole);

    // A live node other than p holding all of `holders`' run of `key` at its
    // resident copy that p may fetch it from, node to node; null when there
    // is none (or p cannot fetch). residency_mutex held.
    Participant* peer_source(const Participant& p, const void* key, HolderSet holders);

    // Makes p's resident copy of param i hold what lanes [b, e) read (their
    // elements, and through a window the halo around them): runs at home are
    // put; runs only other nodes hold are fetched by p from one of them
    // (added to `fetches`; halos travel node to node), or, when p cannot
    // fetch from peers, brought home first and put. Makes sure the copy
    // exists; returns its node region id.
    Result<std::uint64_t> put_resident_inputs(Participant& p, const KernelLaunch& launch, std::size_t i, std::uint64_t b,
                                              std::uint64_t e, HolderSet avoid, std::vector<HaloFetch>& fetches,
                                              std::vector<HaloNote>& notes);
    // Makes p's resident copy of buffer `key` (`length` elements of `size`
    // bytes) exist and, for an input, hold elements [lo, hi): runs at home
    // are put; runs only other nodes hold are fetched by p from one of them
    // when `fetches` is given (listed there, and in `notes` as "WHAT REGION
    // from NODE" for --trace), else brought home first and put (`avoid`: a
    // backup's runner, asked last). Returns the copy's node region id.
    Result<std::uint64_t> resident_copy_on(Participant& p, const void* key, const Region* region, std::size_t size, std::uint64_t length,
                                           std::uint64_t lo, std::uint64_t hi, bool input, HolderSet avoid,
                                           std::vector<HaloFetch>* fetches, std::vector<HaloNote>* notes, const char* what);

    // The resident outputs of lanes [b, e) are held by `holders` now (and
    // nobody else: the others hold the values from before).
    void outputs_held_by(const KernelLaunch& launch, std::uint64_t b, std::uint64_t e, HolderSet holders);

    // The directory bit of claim i's first runner (a backup avoids its copy).
    HolderSet runner_bit(std::size_t i);

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
    bool outputs_stay(const KernelLaunch& launch) const;

    // p is gone: its copies no longer count. Runs it alone held are lost.
    void forget_holder(Participant& p);

    void fail_launch(const std::string& why);

    // The VM's thread, with no launch running (ClusterBackend::bring_home).
    void bring_home(Region& r, std::uint64_t b, std::uint64_t e, HomeAccess access);

    void forget_region(Region& r);

    // ---- Vector ops on the nodes (docs/cluster.md, "Vector ops on the nodes") ----
    // A vector op whose operands have runs away from the home runs in pieces
    // where they are (cluster/vector_plan.h): an element-wise op's dst stays
    // with whoever computed each piece; a reduction's pieces send partials
    // that the home combines in element order (vm/vector_op.h), so the value
    // is one machine's, bit for bit. It runs on the VM's thread, after every
    // launch submitted before it (ClusterBackend::submit waits first).

    // The element-wise vector op or scan in progress: its number in the
    // lineage log (chunk_mutex), so that a recovery meanwhile gives the
    // values it found (its own pieces lost with a node run again).
    std::optional<std::size_t> vector_record;
    // Sets vector_record for the lifetime of the op's run.
    struct VectorRecordScope {
        Impl& impl;
        VectorRecordScope(Impl& i, std::optional<std::size_t> record) : impl(i) {
            std::lock_guard lock(impl.chunk_mutex);
            impl.vector_record = record;
        }
        ~VectorRecordScope() {
            std::lock_guard lock(impl.chunk_mutex);
            impl.vector_record.reset();
        }
        VectorRecordScope(const VectorRecordScope&) = delete;
        VectorRecordScope& operator=(const VectorRecordScope&) = delete;
    };
    std::map<Ticket, VectorOpResult> vector_results;  // (mutex) ops that ran here, until waited for

    struct OpOperand {
        std::uint8_t slot;  // 0 dst, 1 a, 2 b, 3 c
        const RegionView* view;
    };
    static std::vector<OpOperand> vector_operands(const VectorOpArgs& args);
    static std::uint64_t vector_length(const VectorOpArgs& args);

    // Whether `args` runs where its operands are: an op that can be cut,
    // over program regions of one length, one of which has a run the home
    // does not hold. Otherwise it runs at home as before (its operands come
    // home first): all at home already, vmatmul.
    bool vector_runs_on_nodes(const VectorOpArgs& args) const;
    // The directory tracks each operand (over the op's length).
    void track_vector_operands(const VectorOpArgs& args, const std::vector<OpOperand>& operands);
    // The directory's runs of an operand (an unwritten distributed region's
    // by the blocks it was placed in), for planning pieces.
    std::vector<OperandRun> operand_runs(const RegionView& v);
    // Who may run a piece: each live node's bit, then the home's (null).
    std::vector<std::pair<HolderSet, Participant*>> piece_candidates() const;
    // [0, n) in pieces, each with its runner (null: the home) by where the
    // op's inputs are now (cluster/vector_plan.h).
    std::vector<std::pair<VectorPiece, Participant*>> plan_pieces(const VectorOpArgs& args, const std::vector<OpOperand>& operands);

    // p's resident copy of an operand (made when missing), with the runs of
    // [b, e) it lacks put there first when it is an input (fetched to the
    // home first from the node that holds them); returns its node region id.
    Result<std::uint64_t> vector_operand_on(Participant& p, const RegionView& v, std::uint64_t b, std::uint64_t e, bool input);

    // Puts what piece [b, e) needs on node p and starts it; the request id.
    Result<std::uint64_t> send_vector_piece(Participant& p, const VectorOpArgs& args, std::uint64_t b, std::uint64_t e);

    // --trace: a piece on p's track (p null: the home's).
    void log_vector_piece(const Participant* p, const VectorOpArgs& args, std::uint64_t b, std::uint64_t e, Clock::time_point start,
                          std::uint64_t bytes_out, std::uint64_t bytes_in);

    // How run_in_rounds runs one op's pieces: units [0, total) (elements,
    // or a matmul's rows of C) cut by `plan`, each started on its node by
    // `send` or run by `run_at_home`; `landed` takes a node's result.
    struct PieceRunner {
        std::string name;  // the op, for messages
        std::function<std::vector<std::pair<VectorPiece, Participant*>>()> plan;
        std::function<Result<std::uint64_t>(Participant&, std::uint64_t, std::uint64_t)> send;
        std::function<std::optional<std::string>(std::uint64_t, std::uint64_t)> run_at_home;
        std::function<void(Participant&, std::uint64_t, std::uint64_t, VectorChunkResult&)> landed;
        std::uint64_t elements_per_unit = 1;  // for --stats
        bool results_stay = true;  // a node's pieces leave results there: lost with it, they run again
    };
    // Each round plans what is left, sends the nodes their pieces, runs the
    // home's meanwhile, then collects (counted in --stats, drawn in
    // --trace); a piece whose node fails is left for the next round. An
    // error only when values are lost for good or pieces keep failing.
    std::optional<std::string> run_in_rounds(std::uint64_t total, const VectorOpArgs& args, const PieceRunner& r);

    // Runs `args` in pieces where its operands are (vector_runs_on_nodes).
    // Pieces whose node fails run again (on what a recovery restored);
    // an element-wise op's pieces a lost node had finished too, since their
    // dst went with it. An error only when values are lost for good.
    Result<VectorOpResult> run_vector_op(const VectorOpArgs& args);

    // vscan (backend_scan.cpp): its pieces one after another in element
    // order, each where its input is, from the running value the one before
    // ended on, so the result is one pass's bit for bit. dst stays with
    // whoever computed each piece. A piece whose node fails runs again from
    // the same carry; those a lost node had finished run again at home.
    Result<VectorOpResult> run_scan(const VectorOpArgs& args);
    // One piece at home (its input brought home first); advances `carry`.
    std::optional<std::string> run_scan_piece_at_home(const VectorOpArgs& args, std::uint64_t b, std::uint64_t e, ScanCarry& carry);
    // One piece on node p: the carry out, or why p failed it.
    Result<ScanCarry> run_scan_piece_on(Participant& p, const VectorOpArgs& args, std::uint64_t b, std::uint64_t e, ScanCarry carry);

    // vmatmul (backend_matmul.cpp): pieces of C's rows, each where most of
    // A's same rows are, B put whole where it is missing; C's rows stay
    // with whoever computed them, as an element-wise op's dst. When its
    // program regions have a run away from the home and C is not B.
    bool matmul_runs_on_nodes(const VectorOpArgs& args) const;
    Result<VectorOpResult> run_matmul(const VectorOpArgs& args);
    // Puts what rows [r0, r1) need on node p and starts them; the request id.
    Result<std::uint64_t> send_matmul_rows(Participant& p, const VectorOpArgs& args, std::uint64_t r0, std::uint64_t r1);

    static BufferRef buffer_ref(const KernelArg& a) { return BufferRef{a.data, a.length, a.type}; }
    static BufferRef buffer_ref(const void* key, const BufferInfo& info);

    // Logs a launch with resident buffers (cluster/lineage.h) and fences its
    // element-wise buffers for home writes, which the log must hear of.
    // Its number in the log; an empty error when nothing needs logging.
    Result<std::size_t> log_launch(const KernelLaunch& launch);

    // Nothing lives only elsewhere any more: the log starts afresh.
    void restart_log_if_all_home();

    // Recomputes every run no live participant holds (cluster/lineage.h),
    // as the launch in progress found them (its lost claims run again), and
    // lands them at home.
    std::optional<std::string> recover_lost();

    // Blocks until no launch is queued or running (the VM's thread).
    void wait_idle();

    void run_dispatcher();

    static bool meets(const Participant& p, const KernelRequirements& r);

    static std::string requirement_text(const KernelRequirements& r);

    // Runs the whole launch `rounds` times on the home's own CPU backend: its
    // fault, if any, and the round it was in.
    static std::pair<KernelFault, std::uint64_t> run_at_home(const KernelLaunch& launch, std::uint64_t rounds);

    // Keeps the fault of the earliest round, and in one round the rule of vm/kernel_fault.h.
    void note_fault(const KernelFault& f, std::uint64_t round);
    bool interrupted();

    // `launch`, `rounds` times over each claim (a loop of launches whose
    // rounds may run by pieces, vm/launch_rounds.h; 1: a plain launch).
    std::string run_launch(const KernelLaunch& launch, std::uint64_t rounds);

    // Waits for the launch's workers. Once every claim is done, a worker
    // still waiting for a node's reply (to a put or an upload for a claim a
    // backup finished) stops waiting; a node whose socket takes nothing more
    // (stopped, cut off: the worker cannot even finish sending) and that has
    // been silent for a third of the heartbeat timeout is given up on now, not
    // when the timeout drops it.
    void give_up_on_silent_nodes(const std::vector<Participant*>& launch_participants, WorkersLeft& working);

    // Whole-buffer (broadcast) inputs go to every node that runs a chunk:
    // nodes without room for them (their --max-memory less what they hold)
    // sit this launch out. An error with the sizes when that leaves no one.
    std::string keep_those_with_room(const KernelLaunch& launch, std::vector<Participant*>& capable);

    std::string no_capable_node(const Kernel& k);

    void combine_partials(const KernelLaunch& launch, const LaunchPlan& plan);

    // `p` has one more claim out / one fewer (with the lanes it returned):
    // the busy time its measured rate is taken over.
    static void run_started(Participant& p, Clock::time_point now);
    static void run_ended(Participant& p, Clock::time_point now, std::uint64_t lanes);

    // p's estimated rate (lanes/s of this kernel once anyone has measured,
    // chunk_sizing.h) and the total over the launch's live participants.
    std::pair<double, double> rate_and_total(const Participant& p, Clock::time_point now) const;
    // p's share of the estimated rate of the launch's live participants.
    double share_of(const Participant& p, Clock::time_point now) const;
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
    bool worth_stealing(const Participant& thief, const Participant& victim, std::size_t left) const;

    // The next claim for `p`: one given back by a failed node, else the next
    // run of grains sized by p's share, else a backup copy of a straggling
    // claim (below).
    std::optional<std::size_t> take(Participant& p, bool& backup);

    // Whether lanes [b, e) of the launch in progress fit p's memory on top of
    // what it is planned to hold; if so they are planned (chunk_mutex held).
    bool fits(const Participant& p, std::uint64_t b, std::uint64_t e);
    // Grain g's owner is gone (or it had none) and the participant asking
    // has no room for it: when no live participant of the launch has, the
    // launch stops with the sizes, rather than wait for a taker forever
    // (chunk_mutex held).
    void fail_if_nobody_fits(std::size_t g);

    // A claim is straggling, worth a backup copy, when its node has gone
    // silent (no frame, not even a heartbeat, for a third of the heartbeat
    // timeout: stopped, hung or cut off) or it has run twice as long as its
    // lanes usually take, send to result (at least 20 ms; four times for a
    // participant's first claim of the launch, which may carry the module
    // and a node that just joined). Either happens long before the heartbeat
    // timeout drops the node.
    bool straggling(const ChunkState& c, Clock::time_point now) const;

    // Sleeps until a claim finishes or is given back, or `d` passes (a claim
    // may have become a straggler meanwhile).
    void wait_for_claims(std::chrono::milliseconds d);

    bool all_done();
    bool nothing_pending();

    // Where p's next claim starts (chunk_mutex held): the first untaken grain
    // it owns (its data is there), else the first nobody owns, else one
    // stolen from the owner with the most untaken grains, next to p's own, when
    // that owner has a quarter of its grains (and at least two) left: it is
    // behind, not just finishing, and far enough behind to pay for moving
    // the grain (worth_stealing). A steal moves the grain's data, and the
    // next launch's balance may move it back, so small leads are left alone.
    std::optional<std::size_t> next_claim_start(const Participant& p) const;

    // A runner gave up on claim i (its node failed): back to the queue unless
    // another copy is still running or it is done.
    void give_back(std::size_t i, Participant& p);

    // Records claim i as done by `p`; false when another copy won already.
    bool claim(std::size_t i, Participant& p, bool backup, std::uint64_t kernel_ns, bool kept);

    // Runs claims on the home's CPU until every claim is done; once the
    // queue is empty it stays to take backup copies of straggling claims.
    void home_worker(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan);

    // Puts what chunk [b, e) needs on the node (or has it fetch halos from
    // other nodes) and starts it; the request id.
    Result<std::uint64_t> send_chunk(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan, std::uint64_t b,
                                     std::uint64_t e, HolderSet avoid, std::vector<HaloNote>& notes);

    // Copies a node's result into the home regions (or keeps its partials).
    // False when another copy's result was applied first (this one is dropped).
    bool apply(Participant& p, std::size_t i, const KernelLaunch& launch, const LaunchPlan& plan, ChunkResult& r, bool backup);

    void lose(Participant& p, const std::string& why);
    // A node's message with each "region ID version V" of a region this
    // home gave it named as the program names it ("region 'y'").
    std::string with_region_names(const Participant& p, std::string_view text) const;
    // Remembers the program's name for node region `id` (residency_mutex held).
    static void name_region(Participant& p, std::uint64_t id, const Region* region);

    // Makes each node the roster authenticated since the last call a
    // participant: back in its own place (a --nodes address, or a node that
    // dialled before under the same name and is gone), else a new one. It
    // starts afresh: no module, no regions (a restarted node has none).
    void admit_arrivals();

    void remote_worker(Participant& p, const KernelLaunch& launch, const LaunchPlan& plan);
};

}  // namespace polymer::cluster
