// Runs polymer-run as a test's home (--backend cpu, the given arguments)
// and reads what it printed, for the process tests that run a home against
// real nodes; and the byte counts its --stats lines give.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <asio.hpp>

#include "node_process.h"

namespace polymer::cluster::testing {

// A loopback port nothing listens on (it was free a moment ago).
inline std::uint16_t dead_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    return a.local_endpoint().port();
}

struct HomeRun {
    int status = -1;
    std::string out, err;
};

inline HomeRun run_home(const std::string& args) {
    const std::string err_path = std::string(::testing::TempDir()) + "/home-stderr-" + std::to_string(getpid()) + "-" +
                                 std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    const RunOutcome run = run_command(std::string(POLYMER_RUN_PATH) + " --backend cpu " + args + " 2>" + err_path);
    HomeRun r{run.status, run.out, {}};
    std::ifstream in(err_path);
    std::stringstream s;
    s << in.rdbuf();
    r.err = s.str();
    std::remove(err_path.c_str());
    return r;
}

// Sum over the nodes' --stats lines ("polymer-run: node ...") of the numbers
// `pattern`'s groups match.
inline std::uint64_t sum_over_nodes(const std::string& err, const std::regex& pattern) {
    std::uint64_t total = 0;
    std::istringstream lines(err);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (line.rfind("polymer-run: node ", 0) == 0 && std::regex_search(line, m, pattern))
            for (std::size_t g = 1; g < m.size(); ++g) total += std::stoull(m[g]);
    }
    return total;
}

// "bytes out N in M": what crossed between the home and the nodes.
inline std::uint64_t bytes_moved(const std::string& err) { return sum_over_nodes(err, std::regex("bytes out (\\d+) in (\\d+)")); }

// "N chunks": the claims the nodes ran.
inline std::uint64_t chunks_run(const std::string& err) { return sum_over_nodes(err, std::regex(": (\\d+) chunks,")); }

// A region's --stats line ("polymer-run: region NAME: home to nodes A bytes,
// nodes to home B, node to node C"): {A, B, C}; all 0 when there is none.
struct RegionBytes {
    std::uint64_t to_nodes = 0, to_home = 0, node_to_node = 0;
};
inline RegionBytes region_bytes(const std::string& err, const std::string& region) {
    const std::regex line_re("polymer-run: region " + region + ": home to nodes (\\d+) bytes, nodes to home (\\d+), node to node (\\d+)");
    std::smatch m;
    if (!std::regex_search(err, m, line_re)) return {};
    return {std::stoull(m[1]), std::stoull(m[2]), std::stoull(m[3])};
}

}  // namespace polymer::cluster::testing
