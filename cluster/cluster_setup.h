// polymer-run's cluster options (--nodes, --token-file, --tls, --local-nodes,
// --no-local-work, --list-nodes, --node-timeout-ms, --chunk-lanes) and the
// session they start: local polymer-node processes and the ClusterBackend
// (docs/cluster.md). Kept here so polymer_run.cpp only wires them in.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <ostream>
#include <string>

#include "cluster/cluster_backend.h"
#include "cluster/local_nodes.h"
#include "isa/module.h"
#include "isa/result.h"
#include "vm/ooo/pipeline_log.h"

namespace polymer::cluster {

struct ClusterFlags {
    std::string nodes;
    std::string token_file;
    bool allow_readable_token_file = false;
    bool tls = false;
    unsigned local_nodes = 0;
    bool no_local_work = false;
    bool list_nodes = false;
    unsigned node_timeout_ms = 5000;
    std::uint64_t chunk_lanes = 256;
    bool any() const { return !nodes.empty() || local_nodes != 0; }
};

void add_cluster_options(CLI::App& app, ClusterFlags& flags);
// After parsing: POLYMER_NODES and POLYMER_TOKEN_FILE stand for --nodes and
// --token-file where the command line gives none, so a home set up once runs
// every program on its cluster. --local-nodes ignores POLYMER_NODES (its
// nodes are started with a token of their own).
void apply_environment(ClusterFlags& flags);

// Empty (backend() == nullptr) when no cluster option was given.
class ClusterSession {
public:
    ClusterSession() = default;
    ClusterSession(ClusterSession&&) = default;
    ClusterSession& operator=(ClusterSession&&) = default;
    ~ClusterSession();

    Backend* backend() const { return backend_.get(); }
    ClusterBackend* cluster() const { return backend_.get(); }
    // Runs `before` (flush the program's output) when a launch cannot finish,
    // then prints the error, stops the local nodes and exits with status 2.
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
    std::shared_ptr<std::function<void()>> before_fatal = std::make_shared<std::function<void()>>();
};

Result<ClusterSession> start_cluster(const ClusterFlags& flags, const Module& module, Backend& local);
// --list-nodes: connects, prints each node's capabilities; false on an error (printed).
bool list_nodes(const ClusterFlags& flags, std::ostream& out);

}  // namespace polymer::cluster
