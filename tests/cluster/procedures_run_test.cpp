// polymer-run with procedures spawned onto real polymer-node processes
// (docs/cluster.md, "Procedures on the nodes"): the lessons' output as on one
// machine, a trap on a node naming it, a killed node's procedure trapping
// its join as procedure-lost, and a procedure still running when main ends
// stopped on its node.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "cluster_test_options.h"
#include "home_run.h"
#include "node_process.h"
#include "tests/vm/alloc_both_sides.h"
#include "tests/vm/node_to_node_ping_pong.h"

using namespace polymer::cluster::testing;

namespace {

// --stats' count of sends on credit, per channel kept on a node that had any.
std::vector<std::uint64_t> sends_on_credit(const std::string& err) {
    static const std::regex on_credit("; ([0-9]+) sends? went on credit");
    std::vector<std::uint64_t> out;
    for (auto it = std::sregex_iterator(err.begin(), err.end(), on_credit); it != std::sregex_iterator(); ++it)
        out.push_back(std::stoull((*it)[1]));
    return out;
}

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// A program in a temp file, removed with it.
class TempProgram {
public:
    explicit TempProgram(const std::string& source)
        : path_(std::string(::testing::TempDir()) + "/procs-" + std::to_string(getpid()) + "-" + std::to_string(counter_++) + ".pasm") {
        std::ofstream(path_) << source;
    }
    ~TempProgram() { std::remove(path_.c_str()); }
    const std::string& path() const { return path_; }

private:
    static inline int counter_ = 0;
    std::string path_;
};

// Two named nodes and the --nodes/--token-file arguments that reach them.
struct TwoNodes {
    explicit TwoNodes(bool tls = false)
        : tls_(tls), one(token.path(), with_tls({"--name", "n1"})), two(token.path(), with_tls({"--name", "n2"})) {}
    std::string args() const {
        return "--nodes 127.0.0.1:" + std::to_string(one.port()) + ",127.0.0.1:" + std::to_string(two.port()) + " --token-file " +
               token.path() + (tls_ ? " --tls " : " ");
    }
    std::vector<std::string> with_tls(std::vector<std::string> a) const {
        if (tls_) a.push_back("--tls");
        return a;
    }

    bool tls_;
    TempTokenFile token{kSecret};
    NodeProcess one;
    NodeProcess two;
};

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = 0; (at = text.find(what, at)) != std::string::npos; at += what.size()) ++n;
    return n;
}

}  // namespace

// The lessons place their procedures anywhere (-1): with two nodes they go
// to the nodes in turn, and print what they print on one machine.
TEST(ProceduresRun, TheLessonsRunOnTwoNodesWithTheirExpectedOutput) {
    TwoNodes nodes;
    for (const char* lesson : {"25-ping-pong", "26-parallel-sum", "27-pipeline", "28-barrier-solver"}) {
        const std::string base = std::string(POLYMER_SAMPLES_DIR) + "/" + lesson;
        const HomeRun r = run_home(nodes.args() + base + ".pasm");
        EXPECT_EQ(r.status, 0) << lesson << "\n" << r.err;
        EXPECT_EQ(r.out, read_text(base + ".expected")) << lesson << "\n" << r.err;
    }
    // Every lesson started a procedure on each node (the spawns alternate).
    EXPECT_GE(count(nodes.one.log(), " started at pc "), 4u) << nodes.one.log();
    EXPECT_GE(count(nodes.two.log(), " started at pc "), 3u) << nodes.two.log();
    EXPECT_EQ(nodes.one.log().find(" stopped: "), std::string::npos) << "every procedure ended by itself\n" << nodes.one.log();
}

TEST(ProceduresRun, ProceduresTravelInsideTls) {
    TwoNodes nodes(/*tls=*/true);
    const std::string base = std::string(POLYMER_SAMPLES_DIR) + "/25-ping-pong";
    const HomeRun r = run_home(nodes.args() + base + ".pasm");
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, read_text(base + ".expected")) << r.err;
    EXPECT_TRUE(nodes.one.wait_for_log("procedure #1 ended")) << nodes.one.log();
}

// A procedure spawned onto a node started with --backend vulkan (lavapipe
// here) runs its kernels and vector ops on a Vulkan device of its own there,
// made on its first op, not on a CpuBackend: the node says so, and the
// answer is right.
TEST(ProceduresRun, AProcedureOnAVulkanNodeRunsItsKernelsOnTheDevice) {
    TempTokenFile token{kSecret};
    NodeProcess node(token.path(), {"--backend", "vulkan", "--name", "v1"});
    TempProgram p(R"(.region xs f32[4096] range 0, 1
.region ys f32[4096]
.kernel twice (in x: f32[i], out y: f32[i])
        gid     r0
        ldf     f0, x[r0]
        fadd    f0, f0, f0
        stf     y[r0], f0
.end
.proc worker
        li      r2, 4096
        launch  twice, r2, xs, ys
        vsum    f1, ys
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        printf  f1
        halt
.end
)");
    const std::string nodes = "--nodes 127.0.0.1:" + std::to_string(node.port()) + " --token-file " + token.path() + " ";
    const HomeRun r = run_home(nodes + p.path());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "16773120");  // 2 * (0 + 1 + ... + 4095), exact in f32
    EXPECT_TRUE(node.wait_for_log("procedure #1 ended")) << node.log();
    EXPECT_NE(node.log().find("a procedure's vector ops and kernels run on vulkan ("), std::string::npos) << node.log();
}

// A procedure that says `.launches cluster` and runs on node 1 spreads its
// launches over node 1 and node 2, which node 1 dials itself; one without it
// launches on node 1 only. The answers are one machine's either way. The
// kernel's busy loop makes the launch last long enough for n2 to take part:
// without it n1 ran the whole launch (3 ms) before the thread that feeds n2
// first ran, on a loaded machine (CI saw n2 at 0 chunks).
TEST(ProceduresRun, AProcedureThatLaunchesOverTheClusterReachesTheOtherNodes) {
    TempTokenFile token{kSecret};
    NodeProcess one(token.path(), {"--name", "n1", "--log-level", "debug"});
    // Far faster than n1 by its figure: the cluster gives it most of each launch.
    NodeProcess two(token.path(), {"--name", "n2", "--log-level", "debug", "--fake-throughput", "1e12"});
    const std::string nodes = "--nodes 127.0.0.1:" + std::to_string(one.port()) + ",127.0.0.1:" + std::to_string(two.port()) +
                              " --token-file " + token.path() + " ";
    const std::string kernel_and_main = R"(.region xs i32[1048576] range 0, 1
.region ys i32[1048576]
.kernel mix (in x: i32[i], out y: i32[i])
        gid     r0
        ld      r1, x[r0]
        muli    r1, r1, 3
        add     r1, r1, r0
        li      r2, 0
        li      r3, 1
        li      r4, 256
        loop                        ; 256 turns of busy work per lane
            lt      r5, r2, r4
            if      r5
            else
                break
            end
            add     r2, r2, r3
        end
        add     r1, r1, r2
        sub     r1, r1, r4
        st      y[r0], r1
.end
.proc main
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        print   r1
        println
        halt
.end
)";
    const std::string worker = R"(.proc worker
        li      r2, 1048576
        launch  mix, r2, xs, ys
        vsumi   r1, ys
        ret
.end
)";
    TempProgram spread(kernel_and_main + std::string(worker).insert(13, "        .launches cluster\n"));
    TempProgram local(kernel_and_main + worker);
    const std::string expected = "2199021158400\n";  // the sum of 4i over i < 2^20
    HomeRun r = run_home(nodes + "--stats " + spread.path());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, expected) << r.err;
    EXPECT_TRUE(one.wait_for_log("procedure #1 ended")) << one.log();
    // --stats says where its launches ran, as n1 counted them.
    const std::regex ran_on("#1 worker \\(on node 1 'n1'[^\n]*; its launches ran on this node ([0-9]+) chunks? \\([0-9]+ lanes?\\), "
                            "n2 \\(127\\.0\\.0\\.1:[0-9]+\\) ([0-9]+) chunks? \\(([0-9]+) lanes?\\)\n");
    std::smatch m;
    ASSERT_TRUE(std::regex_search(r.err, m, ran_on)) << r.err;
    // Claims count where they were applied: on a loaded machine every claim
    // n2 ran may end up applied from n1 (a backup copy that finished first, a
    // claim given back; CI saw n2 at 0), so n2's own log below is what shows
    // the launch reached it.
    EXPECT_GE(std::stoull(m[1]) + std::stoull(m[2]), 1u) << r.err;
    EXPECT_NE(one.log().find("a procedure's vector ops and kernels go over this node and 1 other node"), std::string::npos)
        << one.log();
    EXPECT_NE(two.log().find("(procedure on n1): authenticated"), std::string::npos) << two.log();
    const std::size_t chunks = count(two.log(), ": launch mix [");
    EXPECT_GE(chunks, 1u) << two.log() << r.err << one.log();
    EXPECT_EQ(two.log().find("started at pc"), std::string::npos) << "the home placed the procedure on n1 only\n" << two.log();

    r = run_home(nodes + "--stats " + local.path());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, expected) << r.err;
    EXPECT_EQ(r.err.find("its launches ran on"), std::string::npos) << r.err;
    EXPECT_TRUE(one.wait_for_log("procedure #1 ended")) << one.log();
    EXPECT_EQ(count(two.log(), ": launch mix ["), chunks) << "a procedure without .launches cluster reached n2\n" << two.log();
}

// A launch over the cluster that no participant can run (a GPU kernel on
// CPU nodes) traps its procedure bad-launch on its node, naming the kernel
// and where the procedure waited for it; the node goes on.
TEST(ProceduresRun, ALaunchOverTheClusterThatNoNodeCanRunTrapsItsProcedure) {
    TwoNodes nodes;
    TempProgram p(R"(.region ys i32[4096]
.kernel k (out y: i32[i])
        .requires gpu
        gid     r0
        st      y[r0], r0
.end
.proc worker
        .launches cluster
        li      r2, 4096
        launch  k, r2, ys
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, worker, r8
        join    r1, f1, r9
        halt
.end
)");
    const HomeRun r = run_home(nodes.args() + "--exec in-order " + p.path());
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("trap: bad-launch in proc 'worker'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("on node 1 'n1'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(":10:9): launch k, r2, ys: kernel 'k' (.requires gpu): no capable node left to run it"), std::string::npos)
        << r.err;
    EXPECT_TRUE(nodes.one.wait_for_log("procedure #1 trapped: bad-launch")) << nodes.one.log();
}

// alloc and free on both sides of a real node (tests/vm/alloc_both_sides.h,
// which tests/vm/procedures_away_test.cpp also runs with every procedure on
// the home): the output is the home's.
TEST(ProceduresRun, RegionsAllocatedAnewTravelBetweenTheHomeAndANode) {
    TwoNodes nodes;
    std::string source = polymer::test::kAllocOnBothSides;
    source.replace(source.find("PLACE"), 5, "1");
    TempProgram p(source);
    const HomeRun r = run_home(nodes.args() + p.path());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, polymer::test::kAllocOnBothSidesOutput);
    EXPECT_TRUE(nodes.one.wait_for_log("procedure #1 ended")) << nodes.one.log();
}

TEST(ProceduresRun, ATrapOnANodeNamesTheNodeAndTheLine) {
    TwoNodes nodes;
    TempProgram p(R"(.proc worker
        li      r2, 0
        div     r3, r1, r2
        ret
.end
.proc main
        li      r1, 7
        li      r8, 2
        spawn   r9, worker, r8
        join    r1, f1, r9
        halt
.end
)");
    const HomeRun r = run_home(nodes.args() + p.path());
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("division-by-zero"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("on node 2 'n2'"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(":3:"), std::string::npos) << "the div's line\n" << r.err;
    EXPECT_TRUE(nodes.two.wait_for_log("procedure #1 trapped: division-by-zero")) << nodes.two.log();
}

TEST(ProceduresRun, AKilledNodesProcedureTrapsItsJoinAsLost) {
    TwoNodes nodes;
    // (It spins: a procedure waiting on a recv nobody can answer would be a
    // deadlock, which the home reports as soon as it hears of the recv.)
    TempProgram p(R"(.proc spinner
again:  addi    r2, r2, 1
        jmp     again
.end
.proc main
        li      r8, 1
        spawn   r9, spinner, r8
        join    r1, f1, r9
        halt
.end
)");
    HomeRun r;
    std::thread home([&] { r = run_home(nodes.args() + "--node-timeout-ms 1000 " + p.path()); });
    ASSERT_TRUE(nodes.one.wait_for_log("procedure #1 started")) << nodes.one.log();
    const auto killed = std::chrono::steady_clock::now();
    nodes.one.signal(SIGKILL);
    home.join();
    EXPECT_LT(std::chrono::steady_clock::now() - killed, std::chrono::milliseconds(3000));
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("procedure-lost"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("was lost with node 1 'n1'"), std::string::npos) << r.err;
}

TEST(ProceduresRun, AProcedureStillRunningWhenMainEndsIsStoppedOnItsNode) {
    TwoNodes nodes;
    TempProgram p(R"(.proc spinner
again:  addi    r2, r2, 1
        jmp     again
.end
.proc main
        li      r8, 1
        spawn   r9, spinner, r8
        prints  "bye"
        halt
.end
)");
    const HomeRun r = run_home(nodes.args() + p.path());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "bye");
    EXPECT_TRUE(nodes.one.wait_for_log("procedure #1 stopped: ")) << nodes.one.log();
    EXPECT_TRUE(nodes.one.alive());
}

// `.requires` in a procedure against what the nodes advertise: a name picks
// its node, and a GPU that neither node has traps at the spawn with each
// node's reason (the test nodes list no Vulkan devices).
TEST(ProceduresRun, RequirementsPlaceByWhatTheNodesAdvertise) {
    TwoNodes nodes;
    TempProgram named(R"(.proc worker
        .requires node n2
        li      r1, 42
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, worker, r8
        join    r1, f1, r9
        print   r1
        halt
.end
)");
    HomeRun r = run_home(nodes.args() + named.path());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, "42");
    EXPECT_TRUE(nodes.two.wait_for_log("procedure #1 ended")) << nodes.two.log();
    EXPECT_EQ(nodes.one.log().find(" started at pc "), std::string::npos) << nodes.one.log();

    TempProgram gpu(R"(.proc render
        .requires gpu
        ret
.end
.proc main
        li      r8, -1
        spawn   r9, render, r8
        halt
.end
)");
    r = run_home(nodes.args() + gpu.path());
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("bad-placement"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("node 1 'n1' (127.0.0.1:" + std::to_string(nodes.one.port()) + "): it has no GPU"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("node 2 'n2' (127.0.0.1:" + std::to_string(nodes.two.port()) + "): it has no GPU"), std::string::npos) << r.err;
}

// Channels kept on nodes (docs/language.md, "On the nodes"): a pinger on
// node 1 and a ponger on node 2 (tests/vm/node_to_node_ping_pong.h) talk
// over channels the home hands to the node of each one's receiver, so their
// messages go from node to node; the output and the counts are the one
// machine's, over plain TCP and inside TLS.
TEST(ProceduresRun, ChannelsBetweenTwoNodesAreKeptOnTheNodes) {
    for (const bool tls : {false, true}) {
        TwoNodes nodes(tls);
        TempProgram p(polymer::test::node_to_node_ping_pong(2, 1, 50));
        const HomeRun r = run_home(nodes.args() + "--stats " + p.path());
        EXPECT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.out, "2500 42925") << r.err;
        EXPECT_NE(r.err.find("channel 'pings': 51 messages, 408 bytes, at most 1 of 1 held at once; handed to node 2 'n2'"),
                  std::string::npos)
            << r.err;
        EXPECT_NE(r.err.find("channel 'pongs': 50 messages, 400 bytes, at most 1 of 1 held at once; handed to node 1 'n1'"),
                  std::string::npos)
            << r.err;
        EXPECT_NE(r.err.find("sent 50 messages, received 51 messages"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("sent 51 messages, received 50 messages"), std::string::npos) << r.err;
        // One sending node per channel: its sends after the first straight one go on credit.
        EXPECT_EQ(sends_on_credit(r.err).size(), 2u) << r.err;
        for (std::uint64_t n : sends_on_credit(r.err)) EXPECT_GE(n, 40u) << r.err;
        // The pinger's node dialled the ponger's (chan-inbox), and both
        // sent their frames on that one connection.
        const std::string inbox = "carries chan-frames both ways, read by the procedures of home";
        EXPECT_TRUE(nodes.two.wait_for_log(inbox)) << nodes.two.log();
        EXPECT_EQ(count(nodes.one.log(), inbox), 0u) << nodes.one.log();
    }
}

// The node that keeps `pings` (and runs the ponger) is killed in the middle
// of a long ping-pong: the pinger's send there fails with procedure-lost
// naming node 2; or, when the pinger was waiting for a pong, the deadlock
// check reports it waiting and the ponger lost with node 2. Within the
// heartbeat timeout; never a hang.
TEST(ProceduresRun, AKilledKeepersNodeTrapsTheProceduresUsingItsChannels) {
    TwoNodes nodes;
    TempProgram p(polymer::test::node_to_node_ping_pong(2, 1, 100'000'000));
    HomeRun r;
    std::thread home([&] { r = run_home(nodes.args() + "--node-timeout-ms 1000 " + p.path()); });
    ASSERT_TRUE(nodes.two.wait_for_log("procedure #1 started")) << nodes.two.log();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the channels are on the nodes by now
    const auto killed = std::chrono::steady_clock::now();
    nodes.two.signal(SIGKILL);
    home.join();
    EXPECT_LT(std::chrono::steady_clock::now() - killed, std::chrono::milliseconds(5000));
    EXPECT_EQ(r.status, 2) << r.err;
    const bool lost = r.err.find("procedure-lost") != std::string::npos;
    const bool deadlock = r.err.find("trap: deadlock") != std::string::npos;
    EXPECT_TRUE(lost || deadlock) << r.err;
    EXPECT_NE(r.err.find(deadlock ? "was lost with node 2" : "node 2"), std::string::npos) << r.err;
}

// Every live procedure waits and one waits at a keeper on its node: the
// home asks the nodes, finds no frame on its way, and reports the deadlock
// with each waiter; never a hang.
TEST(ProceduresRun, ADeadlockAtAKeeperOnANodeIsReported) {
    TwoNodes nodes;
    TempProgram p(R"(.channel a 1
.channel b 1
.proc left
        li      r2, 1
        send    b, r2
        recv    r2, a
        ret
.end
.proc right
        recv    r2, b
        recv    r2, b
        ret
.end
.proc main
        li      r8, 1
        spawn   r9, left, r8
        li      r8, 2
        spawn   r10, right, r8
        join    r1, f1, r9
        halt
.end
)");
    const HomeRun r = run_home(nodes.args() + p.path());
    EXPECT_EQ(r.status, 2) << r.err;
    EXPECT_NE(r.err.find("deadlock"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(":6: recv waits for a message on channel 'a' (empty)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find(":11: recv waits for a message on channel 'b' (empty; kept on node 2 'n2'"), std::string::npos) << r.err;
}
