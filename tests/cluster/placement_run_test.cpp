// Distributed regions (docs/cluster.md, "Placement") with real polymer-run
// and polymer-node processes: regions larger than the home's --max-memory
// start on the nodes, split by their room, and run to the one machine's
// output without a byte of them sent from the home; no node is planned past
// its --max-memory; data that fits nowhere, and a home asked to hold more
// than its --max-memory, stop with a clear error.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
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

// x[i] = 7i, y[i] = i, then y := 3y + x + i four times, over N elements of
// two distributed i32 regions; then a sum over y on the nodes and one
// element read at home.
const std::string kProgram = R"(.module placed
.equ N, ELEMENTS
.region xs i32[N] distributed
.region ys i32[N] distributed
)" + std::string(kResidentKernels) + R"(.proc main
        li      r1, N
        launch  start, r1, xs, ys
        li      r7, 0
again:
        launch  step, r1, xs, ys
        addi    r7, r7, 1
        li      r8, 4
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

// A scalar loop at home over every element of a distributed region: the
// home brings the whole of it into its own memory.
const char* kReadAll = R"(.module readall
.equ N, ELEMENTS
.region ys i32[N] distributed
.kernel fill (out y: i32[i])
        gid     r0
        st      y[r0], r0
.end
.proc main
        li      r1, N
        launch  fill, r1, ys
        li      r2, 0
        li      r4, 0
again:
        ld.i32  r3, ys[r2]
        add     r4, r4, r3
        addi    r2, r2, 1
        blt     r2, r1, again
        print   r4
        println
        halt
.end
)";

std::string program(const std::string& text, long elements) {
    std::string s = text;
    s.replace(s.find("ELEMENTS"), 8, std::to_string(elements));
    return polymer::testing::temp_program("placed-" + std::to_string(elements) + "-" + std::to_string(s.size()), s);
}

std::string nodes_args(const TempTokenFile& token, NodeProcess& a, NodeProcess& b) {
    return "--token-file " + token.path() + " --nodes 127.0.0.1:" + std::to_string(a.port()) + ",127.0.0.1:" + std::to_string(b.port());
}

// Each node's "holds N bytes" on its --stats line.
std::vector<std::uint64_t> bytes_held(const std::string& err) {
    std::vector<std::uint64_t> out;
    const std::regex held("holds (\\d+) bytes");
    std::istringstream lines(err);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (line.rfind("polymer-run: node ", 0) == 0 && std::regex_search(line, m, held)) out.push_back(std::stoull(m[1]));
    }
    return out;
}

TEST(Placement, RegionsLargerThanTheHomeStartOnTheNodesAndNeverCrossFromIt) {
    constexpr long kElements = 6 << 20;  // two 24 MiB regions: 48 MiB, three times the home's 16 MiB
    const std::string path = program(kProgram, kElements);
    const HomeRun alone = run_home(path);
    ASSERT_EQ(alone.status, 0) << alone.err;

    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--max-memory", "48M"}), b(token.path(), {"--max-memory", "48M"});
    const HomeRun run = run_home("--max-memory 16M --no-local-work --stats " + nodes_args(token, a, b) + " " + path);
    ASSERT_EQ(run.status, 0) << run.err << a.log() << b.log();
    EXPECT_EQ(run.out, alone.out);
    // Nothing of x or y went from the home to the nodes: they started there as zeros.
    EXPECT_EQ(region_bytes(run.err, "xs").to_nodes, 0u) << run.err;
    EXPECT_EQ(region_bytes(run.err, "ys").to_nodes, 0u) << run.err;
    // Each node holds its block of both (sized by the nodes' rates), within
    // its 48 MiB less a frame's room (36 MiB).
    const std::vector<std::uint64_t> held = bytes_held(run.err);
    ASSERT_EQ(held.size(), 2u) << run.err;
    for (std::uint64_t h : held) {
        EXPECT_GT(h, 0u) << run.err;
        EXPECT_LE(h, 36u << 20) << run.err;
    }
    EXPECT_EQ(held[0] + held[1], 2u * 4 * kElements) << run.err;
}

TEST(Placement, ARegionThatFitsNowhereStopsWithTheSizes) {
    const std::string path = program(kProgram, 12 << 20);  // two 48 MiB regions: 96 MiB, the nodes have room for about 70
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--max-memory", "48M"}), b(token.path(), {"--max-memory", "48M"});
    const HomeRun run = run_home("--max-memory 16M --no-local-work " + nodes_args(token, a, b) + " " + path);
    EXPECT_EQ(run.status, 2) << run.err;
    EXPECT_NE(run.err.find("does not fit"), std::string::npos) << run.err;
    EXPECT_TRUE(std::regex_search(run.err, std::regex("region '(xs|ys)' \\(48\\.0 MiB\\)"))) << run.err;
    EXPECT_NE(run.err.find("MiB"), std::string::npos) << run.err;
    EXPECT_EQ(run.out, "");
}

// A node that refuses a chunk for its memory names the region as the
// program does, not by the id and version the home gave it there.
TEST(Placement, ANodesRefusalNamesTheRegion) {
    const std::string path = program(R"(.module refused
.equ N, ELEMENTS
.region xs i32[N]
.region ys i32[N]
.kernel fill (out x: i32[i], out y: i32[i])
        gid     r0
        st      x[r0], r0
        st      y[r0], r0
.end
.proc main
        li      r1, N
        launch  fill, r1, xs, ys
        halt
.end
)", 4 << 20);  // two 16 MiB regions, on a node that may hold 20 MiB
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--max-memory", "20M"});
    const HomeRun run = run_home("--no-local-work --token-file " + token.path() + " --nodes 127.0.0.1:" + std::to_string(a.port()) + " " + path);
    EXPECT_EQ(run.status, 2) << run.err;
    EXPECT_TRUE(std::regex_search(run.err, std::regex("out-of-memory: kernel 'fill': region '(xs|ys)' \\(holds [0-9.]+ MiB of its 16 MiB here\\)")))
        << run.err;
    EXPECT_EQ(run.err.find(" version "), std::string::npos) << run.err;
}

TEST(Placement, TheHomeReadingPastItsMemoryIsAClearError) {
    const std::string path = program(kReadAll, 8 << 20);  // 32 MiB on the nodes; the home may hold 8
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--max-memory", "64M"}), b(token.path(), {"--max-memory", "64M"});
    // A scalar loop (--no-loop-kernels): the home fetches a piece at a time.
    const HomeRun run = run_home("--no-loop-kernels --max-memory 8M --no-local-work " + nodes_args(token, a, b) + " " + path);
    EXPECT_EQ(run.status, 2) << run.err;
    EXPECT_NE(run.err.find("region 'ys': bringing elements"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("--max-memory of 8.0 MiB"), std::string::npos) << run.err;
    // With room for it, the same program reads it all.
    const HomeRun roomy = run_home("--no-loop-kernels --max-memory 64M --no-local-work " + nodes_args(token, a, b) + " " + path);
    EXPECT_EQ(roomy.status, 0) << roomy.err;
    EXPECT_EQ(roomy.out, run_home(path).out);
}

// The same read as a loop kernel (the default): its region is a whole-buffer
// input, which must be at home and then on every node that runs a chunk; nodes
// without room for it sit out, and when none has, the launch says so.
TEST(Placement, AWholeBufferNoNodeHasRoomForIsAClearError) {
    const std::string path = program(kReadAll, 8 << 20);  // 32 MiB
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--max-memory", "48M"}), b(token.path(), {"--max-memory", "48M"});
    const HomeRun run = run_home("--max-memory 64M --no-local-work " + nodes_args(token, a, b) + " " + path);
    EXPECT_EQ(run.status, 2) << run.err;
    EXPECT_NE(run.err.find("fit no node's memory"), std::string::npos) << run.err;
    EXPECT_NE(run.err.find("region 'ys' of 32.0 MiB"), std::string::npos) << run.err;
    EXPECT_EQ(run.err.find("dropped out"), std::string::npos) << run.err;  // planned, not refused
    // With the home taking part, it runs the launch itself.
    const HomeRun home = run_home("--max-memory 64M " + nodes_args(token, a, b) + " " + path);
    EXPECT_EQ(home.status, 0) << home.err;
    EXPECT_EQ(home.out, run_home(path).out);
}

// The debugger's `info regions` shows a distributed region unwritten, then
// the slices a launch over half of it left on each node, each in its block.
TEST(Placement, InfoRegionsShowsUnwrittenElementsAndTheBlocksFilled) {
    const std::string path = polymer::testing::temp_program(
        "placed-info", ".module d\n.region ys i32[1000000] distributed\n.kernel fill (out y: i32[i])\n gid r0\n st y[r0], r0\n.end\n"
                       ".proc main\n li r1, 500000\n launch fill, r1, ys\n halt\n.end\n");
    const std::string batch = path + ".gdb";
    std::ofstream(batch) << "info regions\nnext 2\ninfo regions\n";
    const HomeRun run = run_home("--local-nodes 2 --no-local-work --batch " + batch + " " + path);
    std::remove(batch.c_str());
    ASSERT_EQ(run.status, 0) << run.out << run.err;
    const std::size_t before = run.out.find("elements 0..999999: zeros, not written yet");
    EXPECT_NE(before, std::string::npos) << run.out;
    // After the launch: the lanes' elements on the nodes whose blocks they
    // are in (one or two, as the nodes' rates cut the blocks), then the
    // unwritten rest.
    const std::string after = before == std::string::npos ? "" : run.out.substr(before + 10);
    EXPECT_TRUE(std::regex_search(after, std::regex("elements 0\\.\\.\\d+: local-[12] ")) ) << run.out;
    EXPECT_TRUE(std::regex_search(after, std::regex("\\.\\.499999: local-[12] [^\n]*\n  elements 500000\\.\\.999999: zeros, not written yet")))
        << run.out;
}

}  // namespace
