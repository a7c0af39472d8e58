// Nodes that come and go (docs/deploy.md), with real polymer-run and
// polymer-node processes: a node missing at start is a warning, fewer than
// --min-nodes after --wait-nodes an error; a node killed and restarted during
// a run is re-admitted; nodes that dial the home (--join) before and after it
// started both run chunks.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <string>

#include "cluster_test_options.h"
#include "home_run.h"
#include "node_process.h"
#include "temp_program.h"

namespace {

using namespace polymer::cluster;
using namespace polymer::cluster::testing;
using Clock = std::chrono::steady_clock;

std::string expected(const std::string& sample) {
    std::ifstream in(std::string(POLYMER_SAMPLES_DIR) + "/" + sample + ".expected", std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

std::string sample(const std::string& name) { return std::string(POLYMER_SAMPLES_DIR) + "/" + name + ".pasm"; }

// The --stats line of the node named `name`.
std::string stats_line(const std::string& err, const std::string& name) {
    std::istringstream lines(err);
    std::string line;
    while (std::getline(lines, line))
        if (line.rfind("polymer-run: node " + name + " (", 0) == 0) return line;
    return {};
}
std::uint64_t number_before(const std::string& line, const std::string& what) {
    std::smatch m;
    if (!std::regex_search(line, m, std::regex("(\\d+) " + what))) return 0;
    return std::stoull(m[1]);
}

TEST(NodesComeAndGo, AMissingNodeIsAWarningWhenMinNodesAreThere) {
    TempTokenFile token(kSecret);
    NodeProcess live(token.path());
    const std::uint16_t dead = dead_port();
    const HomeRun r = run_home("--nodes 127.0.0.1:" + std::to_string(live.port()) + ",127.0.0.1:" + std::to_string(dead) +
                           " --token-file " + token.path() + " --min-nodes 1 --no-local-work --chunk-lanes 4 --stats " +
                           sample("10-saxpy"));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, expected("10-saxpy"));
    EXPECT_NE(r.err.find("polymer-run: warning: node 127.0.0.1:" + std::to_string(dead) + ": cannot connect: Connection refused"),
              std::string::npos)
        << r.err;
    EXPECT_GT(number_before(stats_line(r.err, "test-node"), "chunks"), 0u) << r.err;
}

TEST(NodesComeAndGo, FewerThanMinNodesAfterWaitNodesIsAClearError) {
    TempTokenFile token(kSecret);
    NodeProcess live(token.path());
    const std::uint16_t dead = dead_port();
    const auto start = Clock::now();
    const HomeRun r = run_home("--nodes 127.0.0.1:" + std::to_string(live.port()) + ",127.0.0.1:" + std::to_string(dead) +
                           " --token-file " + token.path() + " --min-nodes 2 --wait-nodes 1 " + sample("10-saxpy"));
    EXPECT_GE(Clock::now() - start, std::chrono::seconds(1)) << "it did not wait --wait-nodes";
    EXPECT_EQ(r.status, 1) << r.err;
    EXPECT_EQ(r.out, "");
    EXPECT_NE(r.err.find("polymer-run: error: only 1 of the 2 nodes asked for (--min-nodes) connected within 1 s "
                         "(--wait-nodes); node 127.0.0.1:" + std::to_string(dead) + ": cannot connect"),
              std::string::npos)
        << r.err;
}

// Many dependent launches (a few seconds in all) whose result shows any
// lost or repeated chunk: x := x * 3 + lane, `rounds` times per launch.
const char* kIterative = R"(.module iterate
.region xs i32[4096]
.kernel step (inout x: i32[i], rounds: i32)
        gid     r0
        ld      r1, x[r0]
        ldp     r2, rounds
        li      r3, 0
        li      r4, 1
        li      r6, 3
        loop
            lt      r5, r3, r2
            if      r5
            else
                break
            end
            mul     r1, r1, r6
            add     r1, r1, r0
            add     r3, r3, r4
        end
        st      x[r0], r1
.end
.proc main
        li      r1, 4096
        li      r2, ROUNDS
        li      r7, 0
        li      r8, LAUNCHES
again:
        launch  step, r1, xs, r2
        addi    r7, r7, 1
        blt     r7, r8, again
        vsumi   r6, xs
        print   r6
        println
        halt
.end
)";

std::string iterative_program(int rounds, int launches) {
    std::string text = kIterative;
    text.replace(text.find("ROUNDS"), 6, std::to_string(rounds));
    text.replace(text.find("LAUNCHES"), 8, std::to_string(launches));
    return polymer::testing::temp_program("iterate", text);
}

TEST(NodesComeAndGo, ANodeRestartedDuringTheRunIsReadmitted) {
    // Long enough (about a second on the nodes) that the kill, the restart
    // and the redial all fall inside the run: 150 launches once ran in 0.26 s,
    // over before the kill.
    const std::string program = iterative_program(200, 600);
    const HomeRun alone = run_home(program);
    ASSERT_EQ(alone.status, 0) << alone.err;
    TempTokenFile token(kSecret);
    NodeProcess steady(token.path(), {"--fake-throughput", "1e8"});
    auto restarted = std::make_unique<NodeProcess>(token.path(), std::vector<std::string>{"--fake-throughput", "1e8", "--name", "phoenix"});
    const std::uint16_t port = restarted->port();
    auto home = std::async(std::launch::async, [&] {
        return run_home("--nodes 127.0.0.1:" + std::to_string(steady.port()) + ",127.0.0.1:" + std::to_string(port) +
                        " --token-file " + token.path() + " --no-local-work --chunk-lanes 64 --node-timeout-ms 1000 --stats " +
                        "--no-launch-rounds " + program);  // launch by launch: the phoenix comes back for a later one
    });
    // Once the phoenix has run chunks, kill it and start it again on its port.
    ASSERT_TRUE(restarted->wait_for_log("authenticated"));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    restarted->signal(SIGKILL);
    restarted->wait_exit();
    restarted = std::make_unique<NodeProcess>(token.path(), std::vector<std::string>{"--fake-throughput", "1e8", "--name", "phoenix"},
                                              std::vector<std::string>{}, "127.0.0.1", port);
    ASSERT_EQ(restarted->port(), port);
    const HomeRun r = home.get();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out);
    EXPECT_NE(r.err.find("dropped out"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("phoenix (127.0.0.1:" + std::to_string(port) + ") is back"), std::string::npos) << r.err;
    const std::string line = stats_line(r.err, "phoenix");
    EXPECT_EQ(number_before(line, "rejoin"), 1u) << r.err;
    EXPECT_GT(number_before(line, "chunks since"), 0u) << "not re-admitted in time to run a chunk: " << r.err;
}

TEST(NodesComeAndGo, NodesThatDialTheHomeBeforeAndAfterItStartedBothRunChunks) {
    TempTokenFile token(kSecret);
    const std::string home_at = "127.0.0.1:" + std::to_string(dead_port());
    NodeProcess early(token.path(), {"--join", home_at, "--name", "early"});
    ASSERT_TRUE(early.wait_for_log("is not up"));  // it dialled before the home was there
    auto home = std::async(std::launch::async, [&] {
        return run_home("--listen-nodes " + home_at + " --token-file " + token.path() +
                        " --min-nodes 2 --wait-nodes 10 --no-local-work --chunk-lanes 16 --stats " + sample("16-cluster"));
    });
    ASSERT_TRUE(early.wait_for_log("dialled home"));  // the home is up
    NodeProcess late(token.path(), {"--join", home_at, "--name", "late"});
    const HomeRun r = home.get();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, expected("16-cluster"));
    EXPECT_GT(number_before(stats_line(r.err, "early"), "chunks"), 0u) << r.err;
    EXPECT_GT(number_before(stats_line(r.err, "late"), "chunks"), 0u) << r.err;
    // After the run the node dials again, for the next home.
    EXPECT_TRUE(early.wait_for_log("hung up; dialling it again")) << early.log();
    EXPECT_TRUE(early.alive());
}

// The proofs name who dialled: a home's proof made on a connection a node
// dialled (what an attacker gets by dialling a --listen-nodes home) is
// refused by a node that was dialled, so it cannot be relayed.
TEST(NodesComeAndGo, AHandshakeMadeForTheOtherDirectionIsRefused) {
    const Nonce a{1}, b{2};
    EXPECT_FALSE(macs_equal(client_proof(bytes_of(kSecret), a, b, Dialler::Node), client_proof(bytes_of(kSecret), a, b)));
    EXPECT_FALSE(macs_equal(node_proof(bytes_of(kSecret), a, b, Dialler::Node), node_proof(bytes_of(kSecret), a, b)));
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    RawPeer peer(node.port());
    peer.send(MsgType::Hello, 1, encode(Hello{kProtocolVersion, "relay"}));
    auto challenge = peer.read_reply();
    ASSERT_TRUE(challenge && challenge->type == MsgType::Challenge);
    const Nonce mine{9};
    peer.send(MsgType::Response, 2,
              encode(Response{client_proof(bytes_of(kSecret), decode_challenge(challenge->payload).value().node_nonce, mine,
                                           Dialler::Node),
                              mine}));
    auto reply = peer.read_reply();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->type, MsgType::Error);
    EXPECT_EQ(error_code_of(*reply), ErrorCode::AuthFailed);
}

}  // namespace

// --tls on a connection the node opened: the node is the TLS client, the
// home's --listen-nodes side the server; the run is the one-machine run.
TEST(NodesComeAndGo, ANodeThatDialsTheHomeSpeaksTlsWhenBothAreAskedTo) {
    TempTokenFile token(kSecret);
    const std::string home_at = "127.0.0.1:" + std::to_string(dead_port());
    NodeProcess node(token.path(), {"--join", home_at, "--name", "joined", "--tls"});
    ASSERT_TRUE(node.wait_for_log("is not up"));
    const HomeRun r = run_home("--tls --listen-nodes " + home_at + " --token-file " + token.path() +
                               " --min-nodes 1 --wait-nodes 10 --no-local-work --chunk-lanes 16 --stats " + sample("16-cluster"));
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, expected("16-cluster"));
    EXPECT_GT(number_before(stats_line(r.err, "joined"), "chunks"), 0u) << r.err;
    // A home without --tls does not admit it: the node's TLS hello is refused.
    const HomeRun plain = run_home("--listen-nodes " + home_at + " --token-file " + token.path() +
                                   " --min-nodes 1 --wait-nodes 2 --no-local-work " + sample("16-cluster"));
    EXPECT_NE(plain.status, 0) << plain.err;
    EXPECT_NE(plain.err.find("was not admitted"), std::string::npos) << plain.err;
}
