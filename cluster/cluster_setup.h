// polymer-run's cluster options (the "Cluster" group of its --help: --nodes,
// --nodes-file, --token-file, --local-nodes, --no-local-work, --list-nodes,
// --node-timeout-ms, --chunk-lanes, --config, --mpi, --min-nodes,
// --wait-nodes, --listen-nodes, --tls), where they come from (the
// command line, then POLYMER_NODES and POLYMER_TOKEN_FILE, then the config
// file), and the session they start: local polymer-node processes and the
// ClusterBackend (docs/cluster.md, docs/deploy.md). Kept here so
// polymer_run.cpp only wires them in.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "cluster/away_nodes.h"
#include "cluster/cluster_backend.h"
#include "cluster/local_nodes.h"
#include "cluster/node_addresses.h"
#include "isa/module.h"
#include "isa/result.h"
#include "vm/ooo/pipeline_log.h"

namespace polymer::cluster {

struct ClusterFlags {
    std::vector<std::string> nodes;  // HOST:PORT each (checked by CLI11)
    std::string nodes_file;
    std::string token_file;
    bool allow_readable_token_file = false;
    bool tls = false;
    unsigned local_nodes = 0;
    bool no_local_work = false;
    bool data_at_home = false;
    bool list_nodes = false;
    unsigned node_timeout_ms = 5000;
    std::uint64_t chunk_lanes = 256;
    std::string config;  // the config file; default_config_path() unless --config
    // Filled by resolve_nodes: --nodes, then the --nodes-file lines.
    std::vector<NodeAddress> addresses;
    bool mpi = false;  // --mpi: the nodes come from the launcher (cluster/mpi_launch.h)
    // The secret of nodes a launcher started (--mpi): no token file.
    std::vector<std::uint8_t> launched_secret;
    int min_nodes = -1;  // -1: 1 with --nodes or --listen-nodes, all of them with --local-nodes
    double wait_nodes = 10;  // seconds
    std::string listen_nodes;  // --listen-nodes ADDR[:PORT]: nodes dial the home (polymer-node --join)
    bool any() const { return !addresses.empty() || local_nodes != 0 || !listen_nodes.empty(); }

    // Which of the two ways to name nodes the command line chose (set by
    // apply_environment): it wins over the environment and the config file.
    bool command_line_nodes = false;
    bool command_line_local = false;
};

// $XDG_CONFIG_HOME/polymer/cluster.conf (else ~/.config/polymer/cluster.conf),
// read when present; empty when neither variable is set.
std::string default_config_path();
void add_cluster_options(CLI::App& app, ClusterFlags& flags);
// After the command line, before the config file: POLYMER_NODES stands for
// --nodes where the command line names no nodes, so a home set up once runs
// every program on its cluster (POLYMER_TOKEN_FILE is --token-file's CLI11
// envname). --local-nodes on the command line ignores POLYMER_NODES and the
// config file's nodes, and --mpi ignores them all (their nodes are started
// with a token of their own).
void apply_environment(CLI::App& app, ClusterFlags& flags);
// After the config file: reads --nodes-file into `addresses` after --nodes
// and checks the combinations. An error is a usage error (exit 64): a bad
// nodes file line (FILE:LINE), --local-nodes with --nodes, --nodes without a
// token file, --no-local-work or --list-nodes with no nodes.
std::optional<std::string> resolve_nodes(ClusterFlags& flags);

// Empty (backend() == nullptr) when no cluster option was given.
class ClusterSession {
public:
    ClusterSession() = default;
    ClusterSession(ClusterSession&&) = default;
    ClusterSession& operator=(ClusterSession&&) = default;
    ~ClusterSession();

    Backend* backend() const { return backend_.get(); }
    // Where `spawn` places procedures on nodes (MachineOptions::procedure_nodes):
    // the nodes of --nodes (then --nodes-file), --local-nodes or --mpi,
    // numbered from 1 in that order; null without them. Nodes that dialled
    // the home (--listen-nodes) get no number: they come and go.
    ProcedureNodes* procedure_nodes() const { return away_.get(); }
    ClusterBackend* cluster() const { return backend_.get(); }
    // Runs `before` (flush the program's output) when a launch cannot finish,
    // then prints the error, stops the local nodes and exits with status 2
    // (kExitTrap).
    void on_fatal(std::function<void()> before);
    // --stats: one line per participant; empty without a cluster.
    std::string stats_text() const;
    // The same lines without the "polymer-run: node " prefix (the debugger's `info nodes`).
    std::string participants_text() const;
    // --trace: record each chunk run from now on; after the run, add_to_trace
    // gives `log` one place per participant that ran one ("home", "node NAME
    // (host:port)") and one run per chunk run. Both do nothing without a cluster.
    void record_chunk_runs();
    void add_to_trace(PipelineLog& log) const;

    std::unique_ptr<LocalNodes> local;
    std::unique_ptr<ClusterBackend> backend_;
    std::unique_ptr<AwayNodes> away_;
    std::shared_ptr<std::function<void()>> before_fatal = std::make_shared<std::function<void()>>();
};

// `home_memory`: polymer-run's --max-memory, the bytes of region storage the
// home may hold (ClusterOptions::home_memory).
Result<ClusterSession> start_cluster(const ClusterFlags& flags, const Module& module, Backend& local,
                                     std::uint64_t home_memory);
// --list-nodes (after resolve_nodes): connects, prints each node's capabilities; false on an error (printed).
bool list_nodes(const ClusterFlags& flags, std::ostream& out);

}  // namespace polymer::cluster
