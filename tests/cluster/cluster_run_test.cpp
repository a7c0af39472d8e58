// polymer-run on every kernel sample with --local-nodes 1, 2 and 3 (the nodes
// only; with 3, also the nodes with the home): stdout equals the single-machine
// .expected byte for byte, and no polymer-node outlives the run.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "cluster_test_options.h"
#include "node_process.h"

using polymer::cluster::testing::run_polymer;
using polymer::cluster::testing::RunOutcome;

namespace {

RunOutcome run(const std::string& args) { return run_polymer(args, false); }

std::string expected(const std::string& sample) {
    std::ifstream in(std::string(POLYMER_SAMPLES_DIR) + "/" + sample + ".expected", std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

struct Case {
    const char* sample;
    unsigned nodes;
};

class ClusterRun : public ::testing::TestWithParam<Case> {};

TEST_P(ClusterRun, SameOutputAsOneMachine) {
    const Case c = GetParam();
    const std::string program = std::string(POLYMER_SAMPLES_DIR) + "/" + c.sample + ".pasm";
    // Small chunks, so even the small samples spread over every node.
    const std::string opts = "--local-nodes " + std::to_string(c.nodes) + " --chunk-lanes 16 ";
    RunOutcome remote_only = run(opts + "--no-local-work " + program);
    EXPECT_EQ(remote_only.status, 0);
    EXPECT_EQ(remote_only.out, expected(c.sample));
    if (c.nodes != 3) return;  // the home taking part too: once per sample keeps the suite short
    RunOutcome with_home = run(opts + program);
    EXPECT_EQ(with_home.status, 0);
    EXPECT_EQ(with_home.out, expected(c.sample));
}

std::string name_of(const ::testing::TestParamInfo<Case>& info) {
    std::string s = std::string("s") + info.param.sample + "_" + std::to_string(info.param.nodes) + "nodes";
    for (char& ch : s)
        if (ch == '-') ch = '_';
    return s;
}

INSTANTIATE_TEST_SUITE_P(Samples, ClusterRun,
                         ::testing::Values(Case{"10-saxpy", 1}, Case{"10-saxpy", 2}, Case{"10-saxpy", 3},
                                           Case{"11-mandelbrot", 1}, Case{"11-mandelbrot", 2}, Case{"11-mandelbrot", 3},
                                           Case{"12-histogram", 1}, Case{"12-histogram", 2}, Case{"12-histogram", 3},
                                           Case{"13-matmul", 1}, Case{"13-matmul", 2}, Case{"13-matmul", 3},
                                           Case{"16-cluster", 1}, Case{"16-cluster", 2}, Case{"16-cluster", 3}),
                         name_of);

// A `.requires gpu` kernel with only CPU nodes and no home: a clear error
// naming the kernel and the requirement, status 2, the nodes stopped.
TEST(ClusterRunErrors, NoCapableNodeStopsTheProgramWithAClearError) {
    const std::string src = std::string(::testing::TempDir()) + "/requires_gpu.pasm";
    std::ofstream(src) << ".module g\n.region z f32[100]\n.kernel k (out z: f32[i])\n .requires gpu\n gid r0\n itof f0, r0\n"
                          " stf z[r0], f0\n.end\n.proc main\n li r1, 100\n launch k, r1, z\n prints \"after\"\n halt\n.end\n";
    const std::string command = std::string(POLYMER_RUN_PATH) + " --local-nodes 1 --no-local-work " + src + " 2>&1";
    FILE* p = popen(command.c_str(), "r");
    ASSERT_TRUE(p);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int status = pclose(p);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 2) << out;
    EXPECT_NE(out.find("kernel 'k' (.requires gpu): no capable node left to run it"), std::string::npos) << out;
    EXPECT_EQ(out.find("after"), std::string::npos) << out;
}

}  // namespace

namespace {

std::string run_shell(const std::string& command, int& status) {
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    std::string out;
    if (!p) return out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    const int raw = pclose(p);
    status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
    return out;
}

// Local nodes share the home's machine: they skip the 50 ms throughput
// probe (--no-throughput-probe) and --list-nodes says their figure is the
// others' mean.
TEST(ClusterRunLocal, LocalNodesAdvertiseNoThroughputFigure) {
    int status = -1;
    const std::string out = run_shell(std::string(POLYMER_RUN_PATH) + " --local-nodes 2 --list-nodes", status);
    EXPECT_EQ(status, 0) << out;
    std::size_t found = 0;
    for (std::size_t at = 0; (at = out.find("throughput not measured (taken as the others' mean)", at)) != std::string::npos; ++at) ++found;
    EXPECT_EQ(found, 2u) << out;
}

// POLYMER_NODES and POLYMER_TOKEN_FILE stand for --nodes and --token-file:
// a real node gets every chunk (--no-local-work) of a run that names it only
// in the environment; polymer-node takes its token file from the environment.
TEST(ClusterEnvironment, NodesAndTokenFileFromTheEnvironment) {
    using polymer::cluster::testing::NodeProcess;
    using polymer::cluster::testing::TempTokenFile;
    TempTokenFile token(polymer::cluster::testing::kSecret);
    NodeProcess node(token.path());
    const std::string env = "POLYMER_NODES=127.0.0.1:" + std::to_string(node.port()) +
                            " POLYMER_TOKEN_FILE=" + token.path() + " ";
    int status = -1;
    const std::string out = run_shell(env + POLYMER_RUN_PATH + " --no-local-work --chunk-lanes 16 " +
                                          POLYMER_SAMPLES_DIR + "/10-saxpy.pasm",
                                      status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, expected("10-saxpy"));
    // Without the environment, --no-local-work has no nodes to run on.
    const std::string alone = run_shell(std::string(POLYMER_RUN_PATH) + " --no-local-work " + POLYMER_SAMPLES_DIR +
                                            "/10-saxpy.pasm",
                                        status);
    EXPECT_NE(status, 0) << alone;
    // polymer-node: the token file from the environment (here one that does not exist).
    const std::string node_out =
        run_shell(std::string("POLYMER_TOKEN_FILE=/nonexistent/polymer-token ") + POLYMER_NODE_PATH +
                      " --listen 127.0.0.1:0",
                  status);
    EXPECT_NE(status, 0);
    EXPECT_NE(node_out.find("/nonexistent/polymer-token"), std::string::npos) << node_out;
}

// Config files (docs/deploy.md): a node started with nothing but --config
// serves lesson 10 to a home that reads its nodes from a nodes file, then from
// its own config file (the default path under $XDG_CONFIG_HOME, and --config);
// the environment wins over that file and the command line over both.
TEST(ClusterConfig, NodeAndHomeFromConfigAndNodesFiles) {
    using polymer::cluster::testing::NodeProcess;
    using polymer::cluster::testing::TempTokenFile;
    TempTokenFile token(polymer::cluster::testing::kSecret);
    const std::string dir = std::string(::testing::TempDir()) + "/cluster-config-" + std::to_string(::getpid());
    std::filesystem::create_directories(dir + "/xdg/polymer");
    std::ofstream(dir + "/node.conf") << "# polymer-node's settings\nlisten = \"127.0.0.1:0\"\ntoken-file = \""
                                      << token.path() << "\"\nname = \"from-config\"\nthreads = 2\n"
                                      << "max-memory = \"256M\"\nno-vulkan-probe = true\n";
    NodeProcess node(NodeProcess::ExactArguments{}, {"--config", dir + "/node.conf"});
    ASSERT_NE(node.port(), 0) << node.log();
    EXPECT_NE(node.log().find("polymer-node[from-config]"), std::string::npos) << node.log();
    const std::string address = "127.0.0.1:" + std::to_string(node.port());
    const std::string lesson = std::string(" ") + POLYMER_SAMPLES_DIR + "/10-saxpy.pasm";
    const std::string run = std::string("XDG_CONFIG_HOME=") + dir + "/xdg " + POLYMER_RUN_PATH;
    int status = -1;

    // --nodes-file: comments, blank lines, one node a line; every chunk on the node.
    std::ofstream(dir + "/lab.nodes") << "# the lab\n\n" << address << "   # the only box\n";
    std::string out = run_shell(run + " --nodes-file " + dir + "/lab.nodes --token-file " + token.path() +
                                    " --no-local-work --chunk-lanes 16" + lesson,
                                status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, expected("10-saxpy"));

    // The home's config file at the default path: nodes, token and settings.
    std::ofstream(dir + "/xdg/polymer/cluster.conf") << "nodes = \"" << address << "\"\ntoken-file = \"" << token.path()
                                                     << "\"\nno-local-work = true\nchunk-lanes = 16\n";
    out = run_shell(run + lesson, status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, expected("10-saxpy"));
    // POLYMER_NODES wins over the file (a port nothing listens on: the run fails) ...
    out = run_shell("POLYMER_NODES=127.0.0.1:1 " + run + lesson, status);
    EXPECT_EQ(status, 1) << out;
    EXPECT_NE(out.find("127.0.0.1:1"), std::string::npos) << out;
    // ... and the command line over both.
    out = run_shell("POLYMER_NODES=127.0.0.1:1 " + run + " --nodes " + address + lesson, status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, expected("10-saxpy"));

    // --config FILE, naming the nodes file.
    std::ofstream(dir + "/home.conf") << "nodes-file = \"" << dir << "/lab.nodes\"\ntoken-file = \"" << token.path()
                                      << "\"\nno-local-work = true\n";
    out = run_shell(run + " --config " + dir + "/home.conf" + lesson, status);
    EXPECT_EQ(status, 0) << out;
    EXPECT_EQ(out, expected("10-saxpy"));

    // A misspelt key or a bad value is a usage error that names the file.
    std::ofstream(dir + "/bad.conf") << "node = \"" << address << "\"\n";
    out = run_shell(run + " --config " + dir + "/bad.conf" + lesson, status);
    EXPECT_EQ(status, 64) << out;
    EXPECT_NE(out.find("polymer-run: error: " + dir + "/bad.conf: INI was not able to parse node"), std::string::npos) << out;
    std::ofstream(dir + "/bad-node.conf") << "token-file = \"" << token.path() << "\"\nmax-memory = \"lots\"\n";
    out = run_shell(std::string(POLYMER_NODE_PATH) + " --config " + dir + "/bad-node.conf", status);
    EXPECT_EQ(status, 64) << out;
    EXPECT_NE(out.find("--max-memory: 'lots' is not a size"), std::string::npos) << out;
    std::filesystem::remove_all(dir);
}

}  // namespace
