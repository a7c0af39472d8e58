// The home node's Backend for a cluster (docs/cluster.md): kernel launches are
// cut into chunks and spread over the polymer-node workers whose capabilities
// meet the kernel's `.requires` (and the home itself, on its own CpuBackend,
// unless local work is off); vector ops run in pieces where their operands
// are when some are on the nodes, else on the local backend.
//
// submit() returns at once: a dispatcher thread runs the launches in order,
// one worker thread per participant claiming runs of grains from a fixed grid,
// each claim (a chunk) sized by the participant's share of the estimated
// throughput (cluster/chunk_sizing.h; measured rates replace advertised ones).
// Element-wise inputs travel as the chunk's slice, broadcast inputs once per
// content (cached per node), outputs come back as slices. Broadcast buffers
// the kernel only `atadd`s into are per-chunk partials (one grain per chunk),
// summed home-side in grain order. A node that fails
// (connection lost, heartbeat timeout) loses its chunks to the others; an idle
// node takes a backup copy of a straggling chunk and the first result wins.
// Nodes come and go (cluster/node_roster.h): one missing at start, or lost
// later, is redialled in the background, and nodes may dial the home
// (--listen-nodes); each that arrives takes part from the next launch.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/chunk_log.h"
#include "cluster/node_addresses.h"
#include "cluster/node_client.h"
#include "cluster/node_roster.h"
#include "isa/module.h"
#include "isa/result.h"
#include "vm/backend.h"

namespace polymer::cluster {

struct ClusterOptions {
    std::vector<NodeAddress> nodes;
    std::vector<std::uint8_t> secret;
    bool local_work = true;          // the home runs chunks too
    // Element-wise region values stay on the nodes that computed them until
    // the home reads them (docs/cluster.md, "Data lives on the nodes");
    // false: every launch's outputs come home, and inputs go out each launch.
    bool keep_data = true;
    // The home's --max-memory (polymer-run): bytes of region storage the home
    // may hold. Distributed regions (docs/cluster.md, "Placement") count only
    // what the home holds of them, within what the others leave; 0: no limit.
    std::uint64_t home_memory = 0;
    // create() returns once every address in `nodes` was tried once and at
    // least min_nodes nodes are connected (dialled or dialling in), or fails
    // when fewer are after wait_nodes. Missing ones are redialled meanwhile.
    std::size_t min_nodes = 0;
    std::chrono::milliseconds wait_nodes{10'000};
    std::string listen_host;  // --listen-nodes: nodes may dial the home here (empty: not)
    std::uint16_t listen_port = 0;
    // The grid (cluster/chunk_sizing.h): grains of max(min_chunk_lanes,
    // lanes / (grains_per_participant x configured participants)) lanes;
    // configured: max(nodes, min_nodes), and the home with local work.
    std::uint64_t min_chunk_lanes = 256;
    unsigned grains_per_participant = 16;
    // Claims: runs of grains, ceil(remaining x share / claim_divisor) grains,
    // at most max_claim_grains (0: no cap; 1: one grain per claim).
    unsigned claim_divisor = 2;
    std::uint64_t max_claim_grains = 0;
    double prefer_weight = 4;  // `.prefers` participants' advertised figure counts this many times
    double home_throughput = 0;  // the home's figure (elements/s; polymer-run measures it while nodes start); 0: measured when it first shares a launch
    unsigned in_flight_per_node = 2;  // chunks sent ahead, so transfers overlap compute
    ClientOptions client;             // heartbeat interval and timeout
    // Called on the VM's thread (from wait/wait_all) when a launch cannot
    // finish: no capable node left. Must not return; default: print, exit(2).
    std::function<void(const std::string&)> on_fatal;
    Say say = say_on_stderr;  // its notes and warnings (a node dropped out, back, a replay)
};

struct ParticipantStats {
    std::string name;   // "home" or the node's advertised name and address
    bool remote = false;
    std::uint64_t chunks = 0;       // claims applied from this participant (a claim: a run of grains)
    std::uint64_t lanes = 0;        // lanes of those claims
    std::uint64_t kernel_ns = 0;    // as the node measured it
    std::uint64_t bytes_out = 0;    // home -> node payload (slices, broadcasts, module)
    std::uint64_t bytes_in = 0;     // node -> home payload (output slices)
    std::uint64_t retries = 0;      // chunks taken from it and re-run elsewhere
    std::uint64_t backups_won = 0;  // backup copies it ran that finished first
    std::string lost;               // why it dropped out (or is not there yet); empty while it serves
    std::uint64_t rejoins = 0;      // times it came back after it was lost
    std::uint64_t chunks_since_rejoin = 0;  // claims applied since it last came back
    std::uint64_t bytes_fetched = 0;  // of bytes_in: region values the home fetched to read them
    std::uint64_t bytes_held = 0;     // region values it holds the current copy of now
    std::uint64_t runs_held = 0;      // in this many runs of elements
    std::uint64_t vector_pieces = 0;    // pieces of vector ops it ran where their operands were
    std::uint64_t vector_elements = 0;  // elements of those pieces
    std::uint64_t bytes_from_nodes = 0;  // region values it fetched from other nodes (halos), not through the home
};

// What crossed the network for one region (--stats), in bytes: home to nodes
// (puts), nodes to home (results and fetches), node to node (halos).
struct RegionTraffic {
    std::string region;
    std::uint64_t home_to_nodes = 0;
    std::uint64_t nodes_to_home = 0;
    std::uint64_t node_to_node = 0;
};

class ClusterBackend final : public Backend {
public:
    // Connects to the nodes (handshake; ClusterOptions::min_nodes says how
    // many must be there) and uploads nothing yet.
    static Result<std::unique_ptr<ClusterBackend>> create(const Module& module, Backend& local, ClusterOptions options);
    ~ClusterBackend() override;
    // Makes this backend own `local` (the one create() was given), which
    // then lives as long as it does.
    void keep_local(std::unique_ptr<Backend> local);

    std::string_view name() const override { return "cluster"; }
    Ticket submit(const VectorOpArgs& args) override;
    Ticket submit(const KernelLaunch& launch) override;
    VectorOpResult wait(Ticket ticket) override;
    void wait_all() override;
    std::optional<RoundsResult> run_rounds(std::span<const KernelLaunch> body, std::uint64_t rounds) override;
    BackendStats stats() const override;
    void bring_home(Region& r, std::uint64_t begin, std::uint64_t end, HomeAccess access) override;
    void forget_region(Region& r) override;
    bool places_regions() const override;
    void place_region(Region& r) override;
    std::vector<ResidentSlice> residency(const Region& r) const override;

    // Per participant, home first; read after wait_all.
    std::vector<ParticipantStats> participant_stats() const;
    // Per region that crossed the network, in the order each first did; read after wait_all.
    std::vector<RegionTraffic> region_traffic() const;
    // --trace: from now on, record each chunk run (who, which lanes, when,
    // whether its result was applied); chunk_log() holds them, read after wait_all.
    void record_chunk_runs(std::size_t limit = ChunkLog::kDefaultLimit);
    const ChunkLog& chunk_log() const;
    // One line per node: name, address, backend, cores, memory, throughput, devices.
    std::string describe_nodes() const;
    // --listen-nodes: the port nodes dial (the real one when 0 was asked for); 0 otherwise.
    std::uint16_t listen_port() const;

    struct Impl;

private:
    explicit ClusterBackend(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace polymer::cluster
