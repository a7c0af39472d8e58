// Window (stencil) parameters on a cluster (docs/cluster.md, "Halos: node
// to node"), with real polymer-run and polymer-node processes: each chunk
// gets its slice and the halo around it, the halo from the node that holds
// it; a node that cannot reach its peers gets halos through the home; a
// node killed mid-run loses nothing (lineage replays over widened lanes).
// Every run must print the one machine's output: the stencil's integer
// arithmetic makes any stale or misplaced halo element change the result.
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include "cluster_test_options.h"
#include "home_run.h"
#include "node_process.h"
#include "temp_program.h"

namespace {

using namespace polymer::cluster;
using namespace polymer::cluster::testing;

// A 2D grid of WIDTH x ROWS i32, SWEEPS pairs of launches (x -> y, y -> x):
// interior elements become a wrapping mix of their four neighbours, the
// edges keep their values. Then a sum over all of x (vsumi) and two elements.
const char* kProgram = R"(.module halo
.equ W, WIDTH
.equ H, ROWS
.region xs i32[CELLS]
.region ys i32[CELLS]
.kernel seed (out x: i32[i], out y: i32[i])
        gid     r0
        muli    r1, r0, 0x9E3779B1
        shri    r1, r1, 9
        st      x[r0], r1
        st      y[r0], r1
.end
.kernel sweep (in x: i32[i-W..i+W], out y: i32[i])
        gid     r0
        li      r1, W
        li      r2, H
        rem     r3, r0, r1          ; column
        div     r4, r0, r1          ; row
        ld      r5, x[r0]
        li      r9, 0
        lt      r6, r9, r3          ; 0 < column
        addi    r7, r1, -1
        lt      r8, r3, r7          ; column < W - 1
        and     r6, r6, r8
        lt      r8, r9, r4          ; 0 < row
        and     r6, r6, r8
        addi    r7, r2, -1
        lt      r8, r4, r7          ; row < H - 1
        and     r6, r6, r8
        if      r6
            addi    r10, r0, -1
            ld      r11, x[r10]
            addi    r10, r0, 1
            ld      r12, x[r10]
            sub     r10, r0, r1
            ld      r13, x[r10]
            add     r10, r0, r1
            ld      r14, x[r10]
            muli    r11, r11, 3
            muli    r12, r12, 5
            muli    r13, r13, 7
            add     r5, r11, r12
            add     r5, r5, r13
            add     r5, r5, r14
            xor     r5, r5, r0
        end
        st      y[r0], r5
.end
.proc main
        li      r1, CELLS
        launch  seed, r1, xs, ys
        li      r7, 0
        li      r8, SWEEPS
again:
        launch  sweep, r1, xs, ys
        launch  sweep, r1, ys, xs
        addi    r7, r7, 1
        blt     r7, r8, again
        vsumi   r6, xs
        print   r6
        println
        li      r2, WIDTH
        addi    r2, r2, 3
        ld.i32  r3, xs[r2]
        print   r3
        println
        halt
.end
)";

void replace_all(std::string& text, const std::string& from, const std::string& to) {
    for (std::size_t at; (at = text.find(from)) != std::string::npos;) text.replace(at, from.size(), to);
}

std::string program(int width, int rows, int sweeps) {
    std::string text = kProgram;
    replace_all(text, "WIDTH", std::to_string(width));
    replace_all(text, "ROWS", std::to_string(rows));
    replace_all(text, "CELLS", std::to_string(width * rows));
    replace_all(text, "SWEEPS", std::to_string(sweeps));
    return polymer::testing::temp_program(
        "halo-" + std::to_string(width) + "x" + std::to_string(rows) + "-" + std::to_string(sweeps), text);
}

std::string node_list(const NodeProcess& a, const NodeProcess& b, const NodeProcess& c) {
    return "127.0.0.1:" + std::to_string(a.port()) + ",127.0.0.1:" + std::to_string(b.port()) + ",127.0.0.1:" +
           std::to_string(c.port());
}

TEST(Halo, AStencilOnThreeNodesMovesItsHalosNodeToNode) {
    const int width = 256, rows = 512, sweeps = 10;  // two 512 KiB regions, 20 launches
    const std::string p = program(width, rows, sweeps);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    const HomeRun kept = run_home("--local-nodes 3 --no-local-work --stats " + p);
    ASSERT_EQ(kept.status, 0) << kept.err;
    EXPECT_EQ(kept.out, alone.out) << kept.err;
    const std::uint64_t data = 4ull * width * rows;  // one region
    const RegionBytes xs = region_bytes(kept.err, "xs"), ys = region_bytes(kept.err, "ys");
    // Halos crossed between the nodes, never through the home: the home sent
    // no region values for the launches (seed makes both on the nodes) and
    // fetched xs once (the ld's window covers all of it). The vsumi's pieces
    // start at 1024-element blocks, so a piece may straddle two nodes'
    // slices: the part its node lacks comes through the home (vector pieces
    // fetch nothing node to node), at most a block for each of the two
    // boundaries.
    EXPECT_GT(xs.node_to_node + ys.node_to_node, 0u) << kept.err;
    EXPECT_EQ(ys.to_nodes, 0u) << kept.err;
    EXPECT_LE(xs.to_nodes, 2u * 1024 * 4) << kept.err;
    EXPECT_LE(xs.to_home, data) << kept.err;
    EXPECT_EQ(ys.to_home, 0u) << kept.err;
    // Each launch needs at most a halo of W elements on each side of each
    // node's slices: far below a region per launch, however the claims fall.
    EXPECT_LT(xs.node_to_node + ys.node_to_node, 2 * sweeps * data / 4) << kept.err;
    EXPECT_NE(kept.err.find("from other nodes"), std::string::npos) << kept.err;
}

// Nodes that run their chunks on Vulkan bind each chunk's reach of its
// window and element-wise buffers (from pc.first: docs/kernels.md, "The
// ABI"), not the whole regions: the stencil's answer is the same.
TEST(Halo, AStencilOnVulkanNodesMatchesOneMachine) {
    const int width = 256, rows = 512, sweeps = 4;
    const std::string p = program(width, rows, sweeps);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--backend", "vulkan", "--name", "a"});
    NodeProcess b(token.path(), {"--backend", "vulkan", "--name", "b"});
    NodeProcess c(token.path(), {"--backend", "vulkan", "--name", "c"});
    const HomeRun r = run_home("--nodes " + node_list(a, b, c) + " --token-file " + token.path() + " --no-local-work --chunk-lanes 4096 --stats " + p);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out) << r.err;
    EXPECT_NE(a.log().find("kernel chunks run on Vulkan device"), std::string::npos) << a.log();
    EXPECT_NE(r.err.find("from other nodes"), std::string::npos) << r.err;  // halos crossed node to node
}

TEST(Halo, WithDataAtHomeEachChunkGetsItsReachFromTheHome) {
    const std::string p = program(128, 96, 4);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    const HomeRun at_home = run_home("--local-nodes 2 --no-local-work --data-at-home --chunk-lanes 512 --stats " + p);
    ASSERT_EQ(at_home.status, 0) << at_home.err;
    EXPECT_EQ(at_home.out, alone.out) << at_home.err;
    const RegionBytes xs = region_bytes(at_home.err, "xs");
    EXPECT_EQ(xs.node_to_node, 0u) << at_home.err;
    EXPECT_GT(xs.to_nodes, 0u) << at_home.err;
}

TEST(Halo, TheHomeTakesPartAndStencilsStillMatch) {
    const std::string p = program(64, 200, 6);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    const HomeRun r = run_home("--local-nodes 2 --chunk-lanes 256 " + p);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out) << r.err;
}

// A node whose advertised peer port leads nowhere: its first fetch fails,
// the home says so once, and from then on it gets halos through the home;
// nothing is lost and the output is the one machine's.
TEST(Halo, ANodeThatCannotReachItsPeersGetsHalosThroughTheHome) {
    const std::string p = program(256, 256, 6);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--fake-throughput", "1e8", "--name", "a"});
    NodeProcess b(token.path(), {"--fake-throughput", "1e8", "--name", "b"});
    NodeProcess walled(token.path(), {"--fake-throughput", "1e8", "--name", "walled", "--peer-port", std::to_string(dead_port())});
    const HomeRun r = run_home("--nodes " + node_list(a, b, walled) + " --token-file " + token.path() + " --no-local-work --stats " + p);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out) << r.err;
    EXPECT_NE(r.err.find("it gets what it lacks through the home from now on"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("dropped out"), std::string::npos) << "a peer fetch that failed is not the node's fault: " << r.err;
}

// kill -9 of a node mid-run: what only it held is recomputed by replaying
// the logged sweeps over its lanes widened by the window, step by step.
TEST(Halo, ANodeKilledMidStencilLosesNothing) {
    const std::string p = program(256, 256, 300);  // 600 launches: the kill falls inside them
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--fake-throughput", "1e8", "--name", "a"});
    NodeProcess b(token.path(), {"--fake-throughput", "1e8", "--name", "b"});
    NodeProcess victim(token.path(), {"--fake-throughput", "1e8", "--name", "victim"});
    auto home = std::async(std::launch::async, [&] {
        return run_home("--nodes " + node_list(a, b, victim) + " --token-file " + token.path() +
                        " --no-local-work --node-timeout-ms 1000 --stats " + p);
    });
    ASSERT_TRUE(victim.wait_for_log("authenticated"));
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    victim.signal(SIGKILL);
    const HomeRun r = home.get();
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out) << r.err;
    EXPECT_NE(r.err.find("dropped out"), std::string::npos) << "the run ended before the node was lost: " << r.err;
    EXPECT_NE(r.err.find("recomputed"), std::string::npos) << r.err;
}

}  // namespace
