#include "cluster/cluster_setup.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "cluster/auth.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

void apply_environment(ClusterFlags& f) {
    auto from_env = [](const char* name) -> std::string {
        const char* v = std::getenv(name);
        return v != nullptr ? std::string(v) : std::string();
    };
    if (f.nodes.empty() && f.local_nodes == 0) f.nodes = from_env("POLYMER_NODES");
    if (f.token_file.empty()) f.token_file = from_env("POLYMER_TOKEN_FILE");
}

void add_cluster_options(CLI::App& app, ClusterFlags& f) {
    app.add_option("--nodes", f.nodes,
                   "run kernels on these polymer-node workers too: host:port,... (docs/cluster.md; default: "
                   "$POLYMER_NODES)");
    app.add_option("--token-file", f.token_file, "the shared secret of the --nodes workers (default: $POLYMER_TOKEN_FILE)");
    app.add_flag("--allow-readable-token-file", f.allow_readable_token_file,
                 "accept a token file that group or others can read (a warning instead of an error)");
    app.add_flag("--tls", f.tls,
                 "talk to the nodes over TLS 1.3 keyed by the token (the nodes run with --tls; docs/deploy.md)");
    app.add_option("--local-nodes", f.local_nodes,
                   "start N polymer-node workers on 127.0.0.1 with a fresh token, stopped at exit")
        ->check(CLI::Range(0u, 64u));
    app.add_flag("--no-local-work", f.no_local_work, "kernel chunks run on the nodes only, not on this machine");
    app.add_flag("--list-nodes", f.list_nodes, "connect to the nodes, print their capabilities, then exit");
    app.add_option("--node-timeout-ms", f.node_timeout_ms, "a node silent this long is dropped (heartbeat timeout)")
        ->check(CLI::Range(100u, 600'000u))
        ->capture_default_str();
    app.add_option("--chunk-lanes", f.chunk_lanes, "smallest kernel chunk sent to a node, in lanes")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 31))
        ->capture_default_str();
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
    if (!f.nodes.empty()) {
        auto parsed = parse_node_list(f.nodes);
        if (!parsed) return Error{parsed.error()};
        nodes = parsed.value();
        if (f.token_file.empty()) return Error{"--nodes needs --token-file (the workers' shared secret)"};
        auto token = read_token_file(f.token_file, f.allow_readable_token_file);
        if (!token) return Error{token.error()};
        if (!token.value().warning.empty()) std::fprintf(stderr, "polymer-run: warning: %s\n", token.value().warning.c_str());
        secret = token.value().secret;
    }
    if (f.local_nodes != 0) {
        if (!nodes.empty()) return Error{"--local-nodes and --nodes cannot be combined (they use different tokens)"};
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
    return o;
}

}  // namespace

ClusterSession::~ClusterSession() {
    backend_.reset();  // hang up first, so the nodes stop at once
    if (!local) return;  // a moved-from session: the signal handler still needs the path
    local.reset();
    g_token_path.clear();
}

void ClusterSession::on_fatal(std::function<void()> before) { *before_fatal = std::move(before); }

std::string ClusterSession::stats_text() const {
    std::string s, line;
    std::istringstream lines(participants_text());
    while (std::getline(lines, line)) s += "polymer-run: node " + line + "\n";
    return s;
}

std::string ClusterSession::participants_text() const {
    if (!backend_) return {};
    std::string s;
    for (const ParticipantStats& p : backend_->participant_stats()) {
        s += cat(p.name, ": ", p.chunks, " chunks, kernel ",
                 pbc::cat(static_cast<double>(p.kernel_ns) / 1e6), " ms, lanes ", p.lanes, ", bytes out ", p.bytes_out, " in ", p.bytes_in,
                 ", retries ", p.retries, ", backups won ", p.backups_won);
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

Result<ClusterSession> start_cluster(const ClusterFlags& f, const Module& module, Backend& local_backend) {
    ClusterSession session;
    if (!f.any()) {
        if (f.no_local_work) return Error{"--no-local-work needs --nodes or --local-nodes"};
        return session;
    }
    auto list = node_list(f, session.local);
    if (!list) return Error{list.error()};
    ClusterOptions o;
    o.nodes = list.value().first;
    o.secret = list.value().second;
    o.local_work = !f.no_local_work;
    o.min_chunk_lanes = f.chunk_lanes;
    o.client = client_options(f);
    auto before = session.before_fatal;
    LocalNodes* nodes = session.local.get();
    o.on_fatal = [before, nodes](const std::string& why) {
        if (*before) (*before)();
        std::fprintf(stderr, "polymer-run: error: %s\n", why.c_str());
        if (nodes) nodes->stop();
        std::_Exit(2);
    };
    auto backend = ClusterBackend::create(module, local_backend, std::move(o));
    if (!backend) return Error{backend.error()};
    session.backend_ = std::move(backend).value();
    return session;
}

bool list_nodes(const ClusterFlags& f, std::ostream& out) {
    std::unique_ptr<LocalNodes> local;
    auto list = node_list(f, local);
    if (!list || list.value().first.empty()) {
        std::cerr << "polymer-run: error: " << (list ? "--list-nodes needs --nodes or --local-nodes" : list.error()) << "\n";
        return false;
    }
    Module empty;
    CpuBackend cpu;
    ClusterOptions o;
    o.nodes = list.value().first;
    o.secret = list.value().second;
    o.client = client_options(f);
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
