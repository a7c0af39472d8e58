// Region values that stay on the nodes (docs/cluster.md, "Data lives on the
// nodes"), with real polymer-run and polymer-node processes: an iterative
// program moves its data once, not every launch; a node killed (kill -9) or
// stopped (SIGSTOP) mid-run loses nothing: the values only it held are
// recomputed from the launches that made them, and the output is the one
// machine's, every time.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <string>

#include "cluster_test_options.h"
#include "home_run.h"
#include "resident_kernels.h"
#include "node_process.h"
#include "temp_program.h"

namespace {

using namespace polymer::cluster;
using namespace polymer::cluster::testing;
using Clock = std::chrono::steady_clock;

// y := y * 3 + x + lane, LAUNCHES times over N elements (two i32 regions),
// then a read of every element (vsumi) and a few at home (ld).
const std::string kProgram = R"(.module resident
.region xs i32[N]
.region ys i32[N]
)" + std::string(kResidentKernels) + R"(.proc main
        li      r1, N
        launch  start, r1, xs, ys
        li      r7, 0
        li      r8, LAUNCHES
again:
        launch  step, r1, xs, ys
        addi    r7, r7, 1
        blt     r7, r8, again
        vsumi   r6, ys
        print   r6
        println
        li      r2, 12345
        ld.i32  r3, ys[r2]
        print   r3
        println
        halt
.end
)";

std::string program(int elements, int launches) {
    std::string text = kProgram;
    for (std::size_t at; (at = text.find("N]")) != std::string::npos;) text.replace(at, 1, std::to_string(elements));
    text.replace(text.find("li      r1, N"), 13, "li      r1, " + std::to_string(elements));
    text.replace(text.find("LAUNCHES"), 8, std::to_string(launches));
    return polymer::testing::temp_program("resident-" + std::to_string(elements) + "-" + std::to_string(launches), text);
}

TEST(ResidentData, AnIterativeProgramMovesItsDataOnceNotEveryLaunch) {
    const int elements = 1 << 18;  // two 1 MiB regions
    const std::string p = program(elements, 40);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    const HomeRun kept = run_home("--local-nodes 2 --no-local-work --stats " + p);
    ASSERT_EQ(kept.status, 0) << kept.err;
    EXPECT_EQ(kept.out, alone.out);
    // Launch by launch, as the program reads (a loop of launches run as rounds moves its data once either way).
    const HomeRun at_home = run_home("--local-nodes 2 --no-local-work --stats --data-at-home --no-launch-rounds " + p);
    ASSERT_EQ(at_home.status, 0) << at_home.err;
    EXPECT_EQ(at_home.out, alone.out);
    // The data: 2 MiB. Kept: the module, y home once for vsumi (x and y are
    // computed there), and what stealing moves between the nodes, which
    // depends on how the loaded machine shares its cores (resident_bench
    // measures it: docs/benchmarks.md, "Resident data"); far below a copy
    // per launch either way.
    const std::uint64_t data = 2ull * 4 * elements;
    EXPECT_LE(bytes_moved(kept.err), 8 * data) << kept.err;
    // The old way sends x and y and returns y every launch.
    EXPECT_GE(bytes_moved(at_home.err), 40 * data) << at_home.err;
}

// The loop of launches runs as rounds (docs/execution.md, "Loops of
// launches"): each claim runs every round on its node and comes back once,
// so the nodes run a few claims, not a few per launch, and the output is the
// one machine's and the loop run word by word's.
TEST(ResidentData, ALoopOfLaunchesRunsItsRoundsOnTheNodes) {
    const std::string p = program(1 << 18, 40);
    const HomeRun alone = run_home("--no-launch-rounds " + p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    const HomeRun rounds = run_home("--local-nodes 2 --no-local-work --stats " + p);
    ASSERT_EQ(rounds.status, 0) << rounds.err;
    EXPECT_EQ(rounds.out, alone.out);
    const HomeRun words = run_home("--local-nodes 2 --no-local-work --stats --no-launch-rounds " + p);
    ASSERT_EQ(words.status, 0) << words.err;
    EXPECT_EQ(words.out, alone.out);
    // `start`, then the rounds: each a grid of claims. Word by word, 41 grids.
    const std::uint64_t with_rounds = chunks_run(rounds.err), one_by_one = chunks_run(words.err);
    EXPECT_GE(with_rounds, 2u) << rounds.err;
    EXPECT_GE(one_by_one, 41u) << words.err;
    EXPECT_LT(with_rounds * 8, one_by_one) << rounds.err << words.err;
    EXPECT_NE(rounds.err.find("loops of launches: 1 loop ran as rounds on the backend (40 rounds, 40 launches); 0 declined"),
              std::string::npos)
        << rounds.err;
    // The home alone's CPU backend takes them too (a piece of lanes through every round at a time).
    const HomeRun cpu = run_home("--stats " + p);
    EXPECT_EQ(cpu.out, alone.out);
    EXPECT_NE(cpu.err.find("loops of launches: 1 loop ran as rounds on the backend (40 rounds, 40 launches); 0 declined"),
              std::string::npos)
        << cpu.err;
}

// A lane that breaks the kernel contract in round 7 of 40 on a node: the
// trap is the one the loop run word by word on one machine reports, at the
// launch, with the counter as it was then (--dump-registers).
TEST(ResidentData, AFaultInARoundOnANodeTrapsAsOnOneMachine) {
    std::string text = R"(.module fault_round
.region xs i32[70000]
.region ys i32[70000]
.kernel start (out x: i32[i], out y: i32[i])
        gid     r0
        st      x[r0], r0
        li      r1, 0
        st      y[r0], r1
.end
; lane 60000 reads its neighbour once its y passes 7
.kernel bump (in x: i32[i], inout y: i32[i])
        gid     r0
        ld      r1, y[r0]
        addi    r1, r1, 1
        st      y[r0], r1
        li      r2, 60000
        eq      r3, r0, r2
        li      r2, 7
        lt      r4, r2, r1
        and     r3, r3, r4
        add     r5, r0, r3
        ld      r6, x[r5]
.end
.proc main
        li      r1, 70000
        launch  start, r1, xs, ys
        li      r7, 0
        li      r8, 40
again:
        launch  bump, r1, xs, ys
        addi    r7, r7, 1
        blt     r7, r8, again
        halt
.end
)";
    const std::string p = polymer::testing::temp_program("fault-round", text);
    const HomeRun alone = run_home("--no-launch-rounds --dump-registers " + p);
    ASSERT_NE(alone.status, 0);
    ASSERT_NE(alone.err.find("lane 60000"), std::string::npos) << alone.err;
    const HomeRun nodes = run_home("--local-nodes 2 --no-local-work --dump-registers " + p);
    EXPECT_EQ(nodes.status, alone.status);
    EXPECT_EQ(nodes.out, alone.out);
    // The trap and the registers (r7 = 7) as word by word; the nodes' notes aside.
    auto from_trap = [](const std::string& err) { return err.substr(err.find("trap:")); };
    EXPECT_EQ(from_trap(nodes.err), from_trap(alone.err)) << nodes.err;
}

// A program that allocates its regions anew each step: the home tells the
// node to free the old ones, so a node that holds two steps' worth at most
// runs all of them (it used to keep every freed region until the home
// disconnected, and refused the third step).
TEST(ResidentData, ANodeFreesTheRegionsItsHomeAllocatesAnew) {
    const std::string text = R"(.module realloc
.region xs i32[16]
.region ys i32[16]
)" + std::string(kResidentKernels) + R"(.proc main
        li      r1, 4194304
        li      r7, 0
        li      r8, 6
        li      r9, 0
again:
        alloc   xs, r1
        alloc   ys, r1
        launch  start, r1, xs, ys
        launch  step, r1, xs, ys
        vsumi   r6, ys
        add     r9, r9, r6
        addi    r7, r7, 1
        blt     r7, r8, again
        print   r9
        println
        halt
.end
)";
    const std::string p = polymer::testing::temp_program("realloc", text);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    TempTokenFile token(kSecret);
    // Each step's xs and ys: 32 MiB on the node, which holds 48 MiB.
    NodeProcess node(token.path(), {"--max-memory", "48M", "--log-level", "debug"});
    const HomeRun r = run_home("--nodes 127.0.0.1:" + std::to_string(node.port()) + " --token-file " + token.path() +
                               " --no-local-work --stats " + p);
    ASSERT_EQ(r.status, 0) << r.err << node.log();
    EXPECT_EQ(r.out, alone.out);
    EXPECT_NE(node.log().find("dropped 1 of 1 regions it freed"), std::string::npos) << node.log();
}

// A node dies holding the only current copy of part of ys: the run still
// prints the one machine's output, after recomputing what it held. Launch
// by launch (`rounds` false: --no-launch-rounds), the loss falls between
// launches or inside one; as rounds, inside the one launch of 30,000 rounds,
// whose claims the victim held run again elsewhere from the values lineage
// recomputes for them.
void expect_a_node_lost_mid_run_loses_nothing(int sig, bool rounds = false) {
    // About a second on two nodes either way: the kill falls inside it.
    const std::string p = rounds ? program(1 << 16, 30000) : program(1 << 16, 600);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    TempTokenFile token(kSecret);
    NodeProcess steady(token.path(), {"--fake-throughput", "1e8"});
    NodeProcess victim(token.path(), {"--fake-throughput", "1e8", "--name", "victim", "--log-level", "debug"});
    auto home = std::async(std::launch::async, [&] {
        return run_home("--nodes 127.0.0.1:" + std::to_string(steady.port()) + ",127.0.0.1:" + std::to_string(victim.port()) +
                        " --token-file " + token.path() + " --no-local-work --node-timeout-ms 1000 --stats " +
                        (rounds ? "" : "--no-launch-rounds ") + p);
    });
    ASSERT_TRUE(victim.wait_for_log("authenticated"));
    // Once it has run a step (so it holds the only copy of some of ys),
    // however loaded the machine is: the loss must cost values.
    ASSERT_TRUE(victim.wait_for_log(": launch step [")) << victim.log();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    victim.signal(sig);
    const HomeRun r = home.get();
    if (sig == SIGSTOP) victim.signal(SIGKILL);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out) << r.err;
    EXPECT_NE(r.err.find("victim"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("dropped out"), std::string::npos) << "the run ended before the node was lost: " << r.err;
    EXPECT_NE(r.err.find("recomputed"), std::string::npos) << r.err;
}

TEST(ResidentData, ANodeKilledMidRunLosesNothingEveryTime) {
    for (int i = 0; i < 3; ++i) {
        SCOPED_TRACE("run " + std::to_string(i));
        expect_a_node_lost_mid_run_loses_nothing(SIGKILL);
    }
}

TEST(ResidentData, ANodeStoppedMidRunLosesNothing) { expect_a_node_lost_mid_run_loses_nothing(SIGSTOP); }

TEST(ResidentData, ANodeKilledInTheMiddleOfRoundsLosesNothing) { expect_a_node_lost_mid_run_loses_nothing(SIGKILL, true); }

}  // namespace
