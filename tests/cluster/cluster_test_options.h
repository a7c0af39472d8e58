// What the cluster's process tests share: ClusterOptions for NodeProcess
// nodes, a participant's stats by port, and polymer-run as a subprocess.
#pragma once

#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "cluster/cluster_backend.h"
#include "node_process.h"

namespace polymer::cluster::testing {

// Only the nodes run chunks (no local work), heartbeats every 100 ms, and a
// fatal error (no capable node left) is thrown rather than exiting the test.
inline ClusterOptions test_options(const std::vector<NodeProcess*>& nodes, std::uint64_t min_chunk_lanes,
                                   std::chrono::milliseconds heartbeat_timeout) {
    ClusterOptions o;
    for (NodeProcess* n : nodes) o.nodes.push_back({"127.0.0.1", n->port()});
    o.secret = bytes_of(kSecret);
    o.local_work = false;
    o.min_chunk_lanes = min_chunk_lanes;
    o.grains_per_participant = 32;
    o.client.heartbeat_interval = std::chrono::milliseconds(100);
    o.client.heartbeat_timeout = heartbeat_timeout;
    o.on_fatal = [](const std::string& why) { throw std::runtime_error(why); };
    return o;
}

inline const ParticipantStats& stats_of(const std::vector<ParticipantStats>& all, std::uint16_t port) {
    for (const ParticipantStats& p : all)
        if (p.name.find(":" + std::to_string(port) + ")") != std::string::npos) return p;
    throw std::runtime_error("no such node");
}

struct RunOutcome {
    int status = -1;
    std::string out;
};

// `polymer-run --backend cpu ARGS`: its exit status and stdout (and stderr
// when `with_stderr`).
// A shell command's exit status (-1: it did not exit) and stdout.
inline RunOutcome run_command(const std::string& command) {
    RunOutcome o;
    FILE* p = popen(command.c_str(), "r");
    if (!p) return o;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) o.out.append(buf, n);
    const int status = pclose(p);
    o.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return o;
}

inline RunOutcome run_polymer(const std::string& args, bool with_stderr) {
    return run_command(std::string(POLYMER_RUN_PATH) + " --backend cpu " + args + (with_stderr ? " 2>&1" : " 2>/dev/null"));
}

}  // namespace polymer::cluster::testing
