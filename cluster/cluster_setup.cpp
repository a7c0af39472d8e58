#include "cluster/cluster_setup.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <sstream>

#include "cluster/auth.h"
#include "cluster/host_port_option.h"
#include "cluster/throughput_probe.h"
#include "isa/byte_io.h"
#include "src/tools/exit_status.h"
#include "src/tools/read_input.h"

namespace polymer::cluster {

using pbc::cat;

std::string default_config_path() {
    const char* xdg = std::getenv("XDG_CONFIG_HOME");
    if (xdg != nullptr && *xdg != '\0') return std::string(xdg) + "/polymer/cluster.conf";
    const char* home = std::getenv("HOME");
    if (home != nullptr && *home != '\0') return std::string(home) + "/.config/polymer/cluster.conf";
    return {};
}

void add_cluster_options(CLI::App& app, ClusterFlags& f) {
    const std::string group = "Cluster";
    app.add_option("--nodes", f.nodes,
                   "run kernels on these polymer-node workers too: HOST:PORT,... (docs/cluster.md; default: "
                   "$POLYMER_NODES)")
        ->group(group)
        ->delimiter(',')
        ->allow_extra_args(false)  // --nodes a,b prog.pasm: the program is not a node
        ->type_name("HOST:PORT")
        ->check(host_port_check());
    app.add_option("--nodes-file", f.nodes_file,
                   "also the workers in FILE: one HOST:PORT a line, '#' comments (docs/deploy.md)")
        ->group(group)
        ->type_name("FILE");
    app.add_option("--token-file", f.token_file, "the shared secret of the workers")
        ->group(group)
        ->type_name("FILE")
        ->envname("POLYMER_TOKEN_FILE");
    app.add_flag("--allow-readable-token-file", f.allow_readable_token_file,
                 "accept a token file that group or others can read (a warning instead of an error)")
        ->group(group);
    app.add_flag("--tls", f.tls,
                 "talk to the nodes over TLS 1.3 keyed by the token (the nodes run with --tls; docs/deploy.md)")
        ->group(group);
    app.add_option("--local-nodes", f.local_nodes,
                   "start N polymer-node workers on 127.0.0.1 with a fresh token, stopped at exit")
        ->group(group)
        ->check(CLI::Range(0u, 64u));
    app.add_flag("--no-local-work", f.no_local_work, "kernel chunks run on the nodes only, not on this machine")
        ->group(group);
    app.add_flag("--data-at-home", f.data_at_home,
                 "every launch's outputs come back to this machine and its inputs go out again (default: region values stay on the "
                 "nodes that computed them until the program reads them here)")
        ->group(group);
    app.add_flag("--list-nodes", f.list_nodes, "connect to the nodes, print their capabilities, then exit")
        ->group(group)
        ->configurable(false);
    app.add_option("--node-timeout-ms", f.node_timeout_ms, "a node silent this long is dropped (heartbeat timeout)")
        ->group(group)
        ->check(CLI::Range(100u, 600'000u))
        ->capture_default_str();
    app.add_option("--min-nodes", f.min_nodes,
                   "start once N nodes are connected; fewer after --wait-nodes is an error (default: 1; all of "
                   "--local-nodes). Missing nodes are a warning and are redialled while the program runs")
        ->group(group)
        ->check(CLI::Range(0, 100'000));
    app.add_option("--wait-nodes", f.wait_nodes, "seconds to wait at start for --min-nodes nodes (later ones still join)")
        ->group(group)
        ->check(CLI::Range(0.0, 86'400.0))
        ->capture_default_str();
    app.add_option("--listen-nodes", f.listen_nodes,
                   "where polymer-node workers that join this home dial it (same --token-file; default port "
                   "7448, 0: any free port)")
        ->group(group)
        ->type_name("ADDR[:PORT]")
        ->check(host_port_check(/*any_port=*/true, kDefaultHomePort));
    app.add_option("--chunk-lanes", f.chunk_lanes, "smallest kernel chunk sent to a node, in lanes")
        ->group(group)
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 31))
        ->capture_default_str();
    f.config = default_config_path();
    app.add_option("--config", f.config,
                   "settings for any long option, most often the cluster's, as `key = value` lines (TOML); the "
                   "command line and the environment win over it (default: $XDG_CONFIG_HOME/polymer/cluster.conf, "
                   "else ~/.config/polymer/cluster.conf, when present; docs/deploy.md)")
        ->group(group)
        ->type_name("FILE")
        ->configurable(false);
    app.add_flag("--mpi", f.mpi,
                 "started by mpirun or srun: rank 0 runs the program, every other rank is one of its nodes "
                 "(docs/deploy.md)")
        ->group(group)
        ->excludes("--nodes")
        ->excludes("--nodes-file")
        ->excludes("--local-nodes");
}

void apply_environment(CLI::App& app, ClusterFlags& f) {
    f.command_line_nodes = app.count("--nodes") + app.count("--nodes-file") > 0;
    f.command_line_local = app.count("--local-nodes") > 0;
    const char* nodes = std::getenv("POLYMER_NODES");
    if (nodes != nullptr && *nodes != '\0' && !f.command_line_nodes && !f.command_line_local && !f.mpi)
        app.get_option("--nodes")->add_result(nodes);  // checked with the config file's values
}

std::optional<std::string> resolve_nodes(ClusterFlags& f) {
    // The command line's choice of --local-nodes or --nodes wins over the other
    // coming from the environment or the config file; --mpi's nodes come from
    // the launcher.
    if (f.mpi) {
        f.nodes.clear();
        f.nodes_file.clear();
        f.local_nodes = 0;
    } else if (f.command_line_local && !f.command_line_nodes) {
        f.nodes.clear();
        f.nodes_file.clear();
    } else if (f.command_line_nodes && !f.command_line_local) {
        f.local_nodes = 0;
    }
    f.addresses.clear();
    for (const std::string& n : f.nodes) f.addresses.push_back(parse_host_port(n).value());  // CLI11 checked them
    if (!f.nodes_file.empty()) {
        std::string why;
        std::optional<std::string> text = tools::read_input(f.nodes_file, why);
        if (!text) return "--nodes-file: " + why;
        auto listed = parse_nodes_file(*text, f.nodes_file);
        if (!listed) return listed.error();
        if (listed.value().empty()) return "--nodes-file: '" + f.nodes_file + "' names no node";
        f.addresses.insert(f.addresses.end(), listed.value().begin(), listed.value().end());
    }
    if (f.local_nodes != 0 && (!f.addresses.empty() || !f.listen_nodes.empty()))
        return "--local-nodes cannot be combined with --nodes or --listen-nodes (they use different tokens)";
    if ((!f.addresses.empty() || !f.listen_nodes.empty()) && f.token_file.empty())
        return std::string(f.addresses.empty() ? "--listen-nodes" : "--nodes") +
               " needs --token-file (the workers' shared secret; or POLYMER_TOKEN_FILE, or token-file in the config "
               "file)";
    if (f.no_local_work && !f.any() && !f.mpi) return "--no-local-work needs --nodes or --local-nodes";
    if (f.list_nodes && !f.any() && !f.mpi) return "--list-nodes needs --nodes or --local-nodes";
    return std::nullopt;
}

namespace {

std::string g_token_path;  // removed by the signal handler too

void on_signal(int sig) {
    LocalNodes::stop_all_now();
    if (!g_token_path.empty()) unlink(g_token_path.c_str());
    signal(sig, SIG_DFL);
    raise(sig);
}

Result<std::pair<std::vector<NodeAddress>, std::vector<std::uint8_t>>> node_list(const ClusterFlags& f,
                                                                                  std::unique_ptr<LocalNodes>& local) {
    std::vector<NodeAddress> nodes;
    std::vector<std::uint8_t> secret;
    if (!f.addresses.empty() || !f.listen_nodes.empty()) {
        nodes = f.addresses;
        if (!f.launched_secret.empty()) return std::make_pair(nodes, f.launched_secret);
        auto token = read_token_file(f.token_file, f.allow_readable_token_file);
        if (!token) return Error{token.error()};
        if (!token.value().warning.empty()) std::fprintf(stderr, "polymer-run: warning: %s\n", token.value().warning.c_str());
        secret = token.value().secret;
    }
    if (f.local_nodes != 0) {
        auto started = LocalNodes::start(sibling_executable("polymer-node"), f.local_nodes,
                                         f.tls ? std::vector<std::string>{"--tls"} : std::vector<std::string>{});
        if (!started) return Error{started.error()};
        local = std::move(started).value();
        g_token_path = local->token_path();
        // Also on a crash: the token file must not outlive the run.
        for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGSEGV, SIGABRT, SIGBUS, SIGFPE}) signal(sig, on_signal);
        nodes = local->addresses();
        secret = local->secret();
    }
    return std::make_pair(nodes, secret);
}

ClientOptions client_options(const ClusterFlags& f) {
    ClientOptions o;
    o.name = "polymer-run";
    o.tls = f.tls;
    o.heartbeat_timeout = std::chrono::milliseconds(f.node_timeout_ms);
    o.heartbeat_interval = std::chrono::milliseconds(std::max(20u, f.node_timeout_ms / 5));
    o.connect_timeout = std::chrono::milliseconds(f.node_timeout_ms);
    return o;
}

// --min-nodes, --wait-nodes, --listen-nodes into `o`.
Result<Done> membership(const ClusterFlags& f, ClusterOptions& o) {
    if (f.min_nodes >= 0) o.min_nodes = static_cast<std::size_t>(f.min_nodes);
    else o.min_nodes = f.local_nodes != 0 ? f.local_nodes : 1;
    o.wait_nodes = std::chrono::milliseconds(static_cast<std::int64_t>(f.wait_nodes * 1000));
    if (!f.listen_nodes.empty()) {
        const NodeAddress at = parse_host_port(f.listen_nodes, /*any_port=*/true, kDefaultHomePort).value();  // CLI11 checked it
        o.listen_host = at.host;
        o.listen_port = at.port;
    }
    return Done{};
}

}  // namespace

ClusterSession::~ClusterSession() {
    away_.reset();     // hang up first, so the nodes stop at once
    backend_.reset();
    if (!local) return;  // a moved-from session: the signal handler still needs the path
    local.reset();
    g_token_path.clear();
}

void ClusterSession::on_fatal(std::function<void()> before) { *before_fatal = std::move(before); }

std::string ClusterSession::stats_text() const {
    std::string s, line;
    std::istringstream lines(participants_text());
    while (std::getline(lines, line)) s += "polymer-run: node " + line + "\n";
    if (backend_)
        for (const RegionTraffic& t : backend_->region_traffic())
            s += cat("polymer-run: region ", t.region, ": home to nodes ", t.home_to_nodes, " bytes, nodes to home ", t.nodes_to_home,
                     ", node to node ", t.node_to_node, "\n");
    return s;
}

std::string ClusterSession::participants_text() const {
    if (!backend_) return {};
    std::string s;
    for (const ParticipantStats& p : backend_->participant_stats()) {
        s += cat(p.name, ": ", p.chunks, " chunks, kernel ",
                 pbc::cat(static_cast<double>(p.kernel_ns) / 1e6), " ms, lanes ", p.lanes, ", bytes out ", p.bytes_out, " in ", p.bytes_in,
                 ", retries ", p.retries, ", backups won ", p.backups_won);
        if (p.remote && (p.bytes_held != 0 || p.bytes_fetched != 0))
            s += cat(", holds ", p.bytes_held, " bytes in ", p.runs_held, " runs, fetched ", p.bytes_fetched);
        if (p.bytes_from_nodes != 0) s += cat(", from other nodes ", p.bytes_from_nodes);
        if (p.vector_pieces != 0) s += cat(", vector ops: ", p.vector_pieces, " pieces over ", p.vector_elements, " elements");
        if (p.rejoins != 0) s += cat(", ", p.rejoins, " rejoins, ", p.chunks_since_rejoin, " chunks since");
        if (!p.lost.empty()) s += cat(", lost: ", p.lost);
        s += "\n";
    }
    return s;
}

void ClusterSession::record_chunk_runs() {
    if (backend_) backend_->record_chunk_runs();
}

void ClusterSession::add_to_trace(PipelineLog& log) const {
    if (!backend_) return;
    const std::vector<ParticipantStats> who = backend_->participant_stats();
    std::vector<ChunkRun> runs = backend_->chunk_log().runs();
    // Places in participant order (home first), named like the --stats rows.
    auto place_name = [&](std::uint32_t p) {
        return p >= who.size() || !who[p].remote ? std::string("home") : "node " + who[p].name;
    };
    std::vector<bool> ran(who.size() + 1, false);
    for (const ChunkRun& r : runs) ran[std::min<std::size_t>(r.participant, who.size())] = true;
    std::vector<std::uint32_t> place_of(who.size() + 1, 0);
    for (std::size_t p = 0; p <= who.size(); ++p) {
        if (!ran[p]) continue;
        const std::string name = place_name(static_cast<std::uint32_t>(p));
        auto it = std::find(log.places.begin(), log.places.end(), name);
        if (it == log.places.end()) it = log.places.insert(log.places.end(), name);
        place_of[p] = static_cast<std::uint32_t>(it - log.places.begin());
    }
    auto since_origin = [&](std::chrono::steady_clock::time_point t) {
        return t <= log.origin ? 0
                               : static_cast<std::uint64_t>(
                                     std::chrono::duration_cast<std::chrono::nanoseconds>(t - log.origin).count());
    };
    for (ChunkRun& r : runs) {
        PlaceRun out;
        out.place = place_of[std::min<std::size_t>(r.participant, who.size())];
        out.name = cat(r.kernel, " [", r.begin, ", ", r.end, ")");
        out.launch = r.launch;
        out.begin = r.begin;
        out.end = r.end;
        out.start_ns = since_origin(r.start);
        out.end_ns = since_origin(r.finish);
        out.bytes_out = r.bytes_out;
        out.bytes_in = r.bytes_in;
        out.backup = r.backup;
        out.applied = r.outcome == ChunkOutcome::Applied;
        out.outcome = outcome_name(r.outcome);
        log.place_runs.push_back(std::move(out));
    }
    log.places_truncated = backend_->chunk_log().truncated();
}

Result<ClusterSession> start_cluster(const ClusterFlags& f, const Module& module, Backend& local_backend,
                                     std::uint64_t home_memory) {
    ClusterSession session;
    if (!f.any()) return session;
    // When the home works too, its throughput figure (cluster/chunk_sizing.h)
    // is measured while the nodes start, not at its first launch. Local
    // nodes alone share the home's machine and advertise no figure
    // (--no-throughput-probe): everyone is alike, so the home gives itself
    // any figure, which they then take as theirs (the others' mean).
    const bool one_machine = f.local_nodes != 0 && f.addresses.empty() && f.listen_nodes.empty() && !f.mpi;
    std::future<double> home_probe;
    if (!f.no_local_work && !one_machine) home_probe = std::async(std::launch::async, [] { return measure_saxpy_throughput(); });
    auto list = node_list(f, session.local);
    if (!list) return Error{list.error()};
    ClusterOptions o;
    if (home_probe.valid()) o.home_throughput = home_probe.get();
    if (one_machine) o.home_throughput = 1;
    o.nodes = list.value().first;
    o.secret = list.value().second;
    if (!o.nodes.empty()) {  // procedures spawned onto nodes go over connections of their own
        ClientOptions procedures = client_options(f);
        procedures.name = "polymer-run procedures";
        session.away_ = std::make_unique<AwayNodes>(o.nodes, o.secret, procedures);
    }
    o.local_work = !f.no_local_work;
    o.keep_data = !f.data_at_home;
    o.min_chunk_lanes = f.chunk_lanes;
    o.home_memory = home_memory;
    o.client = client_options(f);
    if (auto m = membership(f, o); !m) return Error{m.error()};
    auto before = session.before_fatal;
    LocalNodes* nodes = session.local.get();
    o.on_fatal = [before, nodes](const std::string& why) {
        if (*before) (*before)();
        std::fprintf(stderr, "polymer-run: error: %s\n", why.c_str());
        if (nodes) nodes->stop();
        std::_Exit(tools::kExitTrap);
    };
    auto backend = ClusterBackend::create(module, local_backend, std::move(o));
    if (!backend) return Error{backend.error()};
    session.backend_ = std::move(backend).value();
    return session;
}

bool list_nodes(const ClusterFlags& f, std::ostream& out) {
    std::unique_ptr<LocalNodes> local;
    auto list = node_list(f, local);
    if (!list) {
        std::cerr << "polymer-run: error: " << list.error() << "\n";
        return false;
    }
    Module empty;
    CpuBackend cpu;
    ClusterOptions o;
    o.nodes = list.value().first;
    o.secret = list.value().second;
    o.client = client_options(f);
    if (auto m = membership(f, o); !m) {
        std::cerr << "polymer-run: error: " << m.error() << "\n";
        return false;
    }
    auto backend = ClusterBackend::create(empty, cpu, std::move(o));
    if (!backend) {
        std::cerr << "polymer-run: error: " << backend.error() << "\n";
        return false;
    }
    out << backend.value()->describe_nodes();
    backend.value().reset();
    return true;
}

}  // namespace polymer::cluster
