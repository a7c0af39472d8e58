// Vector ops on the nodes (docs/cluster.md, "Vector ops on the nodes"), with
// real polymer-run and polymer-node processes: every op a cluster cuts into
// pieces gives the one machine's bits, on f32, f64, i32 and i64, with values
// whose float sums depend on the order of rounding and with NaNs, infinities
// and both zeros; data stays on the nodes through launch -> vadd -> vsum;
// and a node killed after a vector op wrote its only copy of a piece loses
// nothing (lineage replays the op).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <future>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include <sys/stat.h>

#include "cluster_test_options.h"
#include "node_process.h"
#include "temp_program.h"

namespace {

using namespace polymer::cluster;
using namespace polymer::cluster::testing;
using Clock = std::chrono::steady_clock;

struct HomeRun {
    int status = -1;
    std::string out, err;
};
HomeRun run_home(const std::string& args) {
    const std::string err_path = std::string(::testing::TempDir()) + "/vecops-stderr-" + std::to_string(getpid()) + "-" +
                                 std::to_string(Clock::now().time_since_epoch().count());
    const RunOutcome run = run_command(std::string(POLYMER_RUN_PATH) + " --backend cpu " + args + " 2>" + err_path);
    HomeRun r{run.status, run.out, {}};
    std::ifstream in(err_path);
    std::stringstream s;
    s << in.rdbuf();
    r.err = s.str();
    std::remove(err_path.c_str());
    return r;
}

std::string write_program(const std::string& name, const std::string& text) {
    return polymer::testing::temp_program(name, text);
}

// Sum over the nodes' --stats lines of "bytes out N in M", and of "vector ops: P pieces".
std::uint64_t stat_sum(const std::string& err, const std::regex& field, bool two) {
    std::uint64_t total = 0;
    std::istringstream lines(err);
    std::string line;
    while (std::getline(lines, line)) {
        std::smatch m;
        if (line.rfind("polymer-run: node ", 0) == 0 && line.find("home:") == std::string::npos && std::regex_search(line, m, field))
            total += std::stoull(m[1]) + (two ? std::stoull(m[2]) : 0);
    }
    return total;
}
std::uint64_t bytes_moved(const std::string& err) { return stat_sum(err, std::regex("bytes out (\\d+) in (\\d+)"), true); }
std::uint64_t node_vector_pieces(const std::string& err) { return stat_sum(err, std::regex("vector ops: (\\d+) pieces"), false); }

// One wide kernel makes x, y (every magnitude from 1e-20 to 1e19, both
// signs: sums that depend on the rounding order) and w (x with -0, +0, NaN,
// +inf and -inf mixed in; for the integers small values with 0 and -1) in
// f32, f64, i32 and i64, on the nodes. Then every vector op on them, each
// into its own region (dumped at the end: the element-wise results, bit for
// bit as text) or printed (the reductions, shortest exact form).
struct EveryOp {
    std::string text;
    std::string dumps;  // --dump-region of each element-wise result
};
EveryOp every_op_program(int n) {
    const std::string N = std::to_string(n);
    std::string regions, ops, dumps;
    struct Type {
        const char* t;
        const char* s;  // suffix
        bool is_float;
    };
    const Type types[] = {{"f32", "f", true}, {"f64", "d", true}, {"i32", "i", false}, {"i64", "l", false}};
    for (const Type& ty : types) {
        const std::string t = ty.t, s = ty.s;
        for (const char* base : {"x", "y", "w"}) regions += ".region " + std::string(base) + s + " " + t + "[" + N + "]\n";
        auto result = [&](const std::string& name) {
            regions += ".region " + name + s + " " + t + "[" + N + "]\n";
            dumps += " --dump-region " + name + s;
            return name + s;
        };
        const std::string x = "x" + s, y = "y" + s, w = "w" + s;
        ops += "        vadd    " + result("add") + ", " + w + ", " + y + "\n";
        ops += "        vsub    " + result("sub") + ", " + x + ", " + w + "\n";
        ops += "        vmul    " + result("mul") + ", " + w + ", " + y + "\n";
        ops += "        vdiv    " + result("div") + ", " + x + ", " + w + "\n";
        ops += "        vmin    " + result("min") + ", " + w + ", " + y + "\n";
        ops += "        vmax    " + result("max") + ", " + w + ", " + x + "\n";
        ops += "        vfma    " + result("fma") + ", " + x + ", " + y + ", " + w + "\n";
        ops += "        vcopy   " + result("cpy") + ", " + w + "\n";
        // iota and fill read nothing: their dst is put on the nodes first.
        ops += "        vcopy   " + result("iota") + ", " + w + "\n        viota   iota" + s + "\n";
        ops += "        vcmplt  " + result("lt") + ", " + w + ", " + y + "\n";
        ops += "        vcmpeq  " + result("eq") + ", " + w + ", " + w + "\n";
        ops += "        vselect " + result("sel") + ", " + w + ", " + x + ", " + y + "\n";
        ops += "        vcopy   " + result("inpl") + ", " + x + "\n";  // in place: dst is an operand
        ops += "        vadd    inpl" + s + ", inpl" + s + ", " + y + "\n";
        // Rows of x (N / 100 x 100, on the nodes) times a 100 x 4 made at home.
        regions += ".region mb" + s + " " + t + "[400]\n";
        regions += ".region mm" + s + " " + t + "[" + std::to_string(n / 100 * 4) + "]\n";
        dumps += " --dump-region mm" + s;
        ops += "        viota   mb" + s + "\n        li      r7, 100\n        vmatmul mm" + s + ", " + x + ", mb" + s + ", r7\n";
        ops += "        vscan   " + result("scan") + ", " + w + "\n";  // pieces in order, from their carries
        ops += "        vcopy   " + result("scin") + ", " + y + "\n        vscan   scin" + s + ", scin" + s + "\n";  // in place
        if (ty.is_float) {
            ops += "        lif     f1, 0.3\n        vscale  " + result("scl") + ", " + w + ", f1\n";
            ops += "        vcopy   " + result("fil") + ", " + w + "\n        lif     f1, -2.5\n        vfillf  fil" + s + ", f1\n";
            for (const std::string& r : {"vsum    f2, " + x, "vsum    f2, " + w, "vdot    f2, " + x + ", " + y, "vredmin f2, " + w,
                                         "vredmax f2, " + w, "vredmin f2, " + x, "vredmax f2, " + y})
                ops += "        " + r + "\n        printf  f2\n        println\n";
        } else {
            ops += "        vcopy   " + result("fil") + ", " + w + "\n        li      r5, -7\n        vfill   fil" + s + ", r5\n";
            for (const std::string& r : {"vsumi   r6, " + x, "vdoti   r6, " + x + ", " + y, "vredmini r6, " + w, "vredmaxi r6, " + x})
                ops += "        " + r + "\n        print   r6\n        println\n";
        }
    }
    const std::string program = R"(.module vecops
.region scales f64[] = 1e-20, 1e-17, 3e-15, 1e-12, 7e-10, 1e-7, 1e-5, 0.001, 0.3, 1, 17, 1000, 1e5, 3e7, 1e10, 1e12, 5e14, 1e16, 1e18, 1e19
)" + regions + R"(
.kernel gen (in scale: f64[], out xf: f32[i], out yf: f32[i], out wf: f32[i], out xd: f64[i], out yd: f64[i], out wd: f64[i], out xi: i32[i], out yi: i32[i], out wi: i32[i], out xl: i64[i], out yl: i64[i], out wl: i64[i])
        .wide
        gid     r0
        li      r5, -1640531535
        mul     r6, r0, r5
        mul     r6, r6, r5          ; a 64-bit hash of the lane
        li      r1, 20011
        rem     r2, r6, r1
        itof    f1, r2
        lif     f2, 7.77
        fdiv    f1, f1, f2
        li      r1, 20
        rem     r3, r0, r1
        ldf     f3, scale[r3]
        fmul    f4, f1, f3          ; x
        li      r1, 30011
        rem     r2, r6, r1
        itof    f5, r2
        fdiv    f5, f5, f2
        li      r1, 17
        rem     r3, r0, r1
        ldf     f3, scale[r3]
        fmul    f5, f5, f3          ; y
        fmov    f6, f4              ; w: x with specials
        lif     f7, 0.0
        li      r1, 7
        rem     r2, r0, r1
        li      r3, 1
        eq      r4, r2, r3
        if      r4
            fneg    f6, f7          ; -0
        end
        li      r3, 2
        eq      r4, r2, r3
        if      r4
            fmov    f6, f7          ; +0
        end
        li      r1, 11
        rem     r2, r0, r1
        li      r3, 3
        eq      r4, r2, r3
        if      r4
            fdiv    f6, f7, f7      ; NaN
        end
        li      r1, 13
        rem     r2, r0, r1
        li      r3, 4
        eq      r4, r2, r3
        if      r4
            lif     f8, 1.0
            fdiv    f6, f8, f7      ; +inf
        end
        li      r3, 5
        eq      r4, r2, r3
        if      r4
            lif     f8, -1.0
            fdiv    f6, f8, f7      ; -inf
        end
        stf     xf[r0], f4
        stf     yf[r0], f5
        stf     wf[r0], f6
        stf     xd[r0], f4
        stf     yd[r0], f5
        stf     wd[r0], f6
        li      r1, 7
        rem     r2, r0, r1
        li      r3, 3
        sub     r2, r2, r3          ; w: -3 .. 3 (0 and -1 for vdiv)
        mul     r7, r6, r5
        st      xi[r0], r6
        st      yi[r0], r7
        st      wi[r0], r2
        st      xl[r0], r6
        st      yl[r0], r7
        st      wl[r0], r2
.end
.proc main
        li      r1, )" + N + R"(
        launch  gen, r1, scales, xf, yf, wf, xd, yd, wd, xi, yi, wi, xl, yl, wl
        wait
)" + ops + R"(        halt
.end
)";
    return {program, dumps};
}

TEST(VectorOnNodes, EveryOpGivesTheOneMachineBits) {
    // 4100 elements: four summation blocks and a bit; 256-lane grains cut
    // the nodes' runs off the blocks, so reductions move a block's tail.
    const EveryOp every = every_op_program(4100);
    const std::string p = write_program("vecops-every", every.text);
    const std::string& dumps = every.dumps;
    const HomeRun alone = run_home(dumps + " " + p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    ASSERT_NE(alone.out.find("nan"), std::string::npos) << "the specials reached the ops";
    ASSERT_NE(alone.out.find("-0"), std::string::npos);
    for (const char* cluster : {"--local-nodes 2 --no-local-work", "--local-nodes 3"}) {
        SCOPED_TRACE(cluster);
        const HomeRun r = run_home(std::string(cluster) + " --chunk-lanes 256 --stats" + dumps + " " + p);
        ASSERT_EQ(r.status, 0) << r.err;
        EXPECT_EQ(r.out, alone.out);
        // Without the home, every op ran where its operands were (at least
        // a piece on a node each: 23 per float type, 21 per integer type;
        // the viota of a region made at home ran there). With it, the home may have claimed most of the one
        // launch (or all of it: then every op runs at home).
        if (std::string(cluster).find("--no-local-work") != std::string::npos) {
            EXPECT_GE(node_vector_pieces(r.err), 2u * 23 + 2u * 21) << r.err;
        }
    }
}

// y := 3x + y computed on the nodes, then z := x + y and the sum of z: the
// data never comes home (only the partial sums do).
const char* kStaysProgram = R"(.module stays
.region xs f32[N]
.region ys f32[N]
.region zs f32[N]
.kernel start (out x: f32[i], out y: f32[i])
        gid     r0
        itof    f0, r0
        lif     f1, 0.001
        fmul    f0, f0, f1
        stf     x[r0], f0
        fadd    f0, f0, f0
        stf     y[r0], f0
.end
.kernel step (in x: f32[i], inout y: f32[i])
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        lif     f2, 3.0
        ffma    f1, f0, f2, f1
        stf     y[r0], f1
.end
.proc main
        li      r1, N
        launch  start, r1, xs, ys
        launch  step, r1, xs, ys
        launch  step, r1, xs, ys
        vadd    zs, xs, ys
        vsum    f1, zs
        printf  f1
        println
        vdot    f2, xs, zs
        printf  f2
        println
        halt
.end
)";

std::string stays_program(int n) {
    std::string text = kStaysProgram;
    for (std::size_t at; (at = text.find("N]")) != std::string::npos;) text.replace(at, 1, std::to_string(n));
    text.replace(text.find("li      r1, N"), 13, "li      r1, " + std::to_string(n));
    return write_program("vecops-stays", text);
}

TEST(VectorOnNodes, DataStaysOnTheNodesThroughLaunchVaddVsum) {
    const int n = 1 << 19;  // three 2 MiB regions
    const std::string p = stays_program(n);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    const HomeRun r = run_home("--local-nodes 2 --no-local-work --stats " + p);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out);
    const std::uint64_t data = 3ull * 4 * n;
    // The module, the steals of the launches (what balance moves: a few
    // grains, more on a loaded machine) and the partials: far below the
    // 6 MiB of data (at home, vadd and vsum alone would bring x and y home:
    // 4 MiB).
    EXPECT_LT(bytes_moved(r.err), data / 2) << r.err;
    EXPECT_GE(node_vector_pieces(r.err), 3u) << r.err;
    EXPECT_NE(r.err.find("vector ops: "), std::string::npos) << r.err;
}

// The same with a scan: zs := the running sums of ys, then the sums. The
// scan's pieces run on the nodes one after another, each from the carry of
// the one before: one value crosses per piece, and the bits are one pass's.
TEST(VectorOnNodes, AScanRunsWhereItsInputIs) {
    const int n = 1 << 19;
    std::string text = kStaysProgram;
    for (std::size_t at; (at = text.find("N]")) != std::string::npos;) text.replace(at, 1, std::to_string(n));
    text.replace(text.find("li      r1, N"), 13, "li      r1, " + std::to_string(n));
    text.replace(text.find("vadd    zs, xs, ys"), 18, "vscan   zs, ys");
    const std::string p = write_program("vecops-scan", text);
    const HomeRun alone = run_home(p);
    ASSERT_EQ(alone.status, 0) << alone.err;
    const HomeRun r = run_home("--local-nodes 2 --no-local-work --stats " + p);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out);
    // At home, the scan alone would bring ys home (2 MiB) and send zs back.
    EXPECT_LT(bytes_moved(r.err), 3ull * 4 * n / 2) << r.err;
    EXPECT_GE(node_vector_pieces(r.err), 4u) << r.err;  // vscan, vsum, vdot: a piece or more on each node
}

// vadd writes zs on the nodes (their only copy), then a node is killed: the
// sums read zs afterwards, so the home recomputes the lost piece by
// replaying the logged vadd (and the launches before it), and prints the
// one machine's values.
// `op` replaces the vadd; the victim's log shows `piece_log` when it got its piece.
void expect_a_kill_after_loses_nothing(const std::string& op, const std::string& piece_log) {
    const int n = 1 << 16;
    std::string text = kStaysProgram;
    for (std::size_t at; (at = text.find("N]")) != std::string::npos;) text.replace(at, 1, std::to_string(n));
    text.replace(text.find("li      r1, N"), 13, "li      r1, " + std::to_string(n));
    // Wait at home after vadd until the test has killed the victim: read a
    // line of stdin.
    text.replace(text.find("vadd    zs, xs, ys"), 18, op);  // the program's n: 256 x 256 for a matmul
    text.replace(text.find("        vsum    f1, zs"), 0, "        readi   r9, r10\n");
    const std::string p = write_program("vecops-kill", text);
    const HomeRun alone = run_home("--exec in-order " + p + " </dev/null");
    ASSERT_EQ(alone.status, 0) << alone.err;
    TempTokenFile token(kSecret);
    NodeProcess steady(token.path(), {"--fake-throughput", "1e8"});
    NodeProcess victim(token.path(), {"--fake-throughput", "1e8", "--name", "victim", "--log-level", "debug"});
    const std::string fifo = std::string(::testing::TempDir()) + "/vecops-fifo-" + std::to_string(getpid());
    ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
    auto home = std::async(std::launch::async, [&] {
        return run_home("--nodes 127.0.0.1:" + std::to_string(steady.port()) + ",127.0.0.1:" + std::to_string(victim.port()) +
                        " --token-file " + token.path() + " --exec in-order --no-local-work --node-timeout-ms 1000 --stats " + p + " <" + fifo);
    });
    {
        std::ofstream feed(fifo);  // opens once the home reads it
        ASSERT_TRUE(victim.wait_for_log("authenticated"));
        // The victim got its piece of vadd (a debug line), which keeps zs
        // there; in order, the home then waits for stdin.
        ASSERT_TRUE(victim.wait_for_log(piece_log)) << victim.log();
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        victim.signal(SIGKILL);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        feed << "1\n";
    }
    const HomeRun r = home.get();
    std::remove(fifo.c_str());
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.out, alone.out) << r.err;
    EXPECT_NE(r.err.find("victim"), std::string::npos) << r.err;
    // The replay re-ran start, step, step and the logged op over the lost lanes.
    EXPECT_NE(r.err.find("(4 launches replayed"), std::string::npos) << r.err;
}

TEST(VectorOnNodes, ANodeKilledAfterAVectorOpLosesNothing) { expect_a_kill_after_loses_nothing("vadd    zs, xs, ys", "vector-chunk vadd"); }

// The victim held the tail of the scan's result: the replay runs the scan
// from the start of that piece, from its carry (and the launches before it
// over those lanes).
TEST(VectorOnNodes, ANodeKilledAfterAScanLosesNothing) { expect_a_kill_after_loses_nothing("vscan   zs, ys", "vector-chunk vscan"); }

// And a matmul: zs := xs * ys as 256 x 256 matrices. Its rows run where
// xs's are, ys put whole on each node; the replay recomputes the victim's
// rows of zs from the same rows of xs (the launches replayed over them) and
// the log's copy of ys.
TEST(VectorOnNodes, ANodeKilledAfterAMatmulLosesNothing) {
    expect_a_kill_after_loses_nothing("li      r8, 256\n        vmatmul zs, xs, ys, r8", "vector-chunk vmatmul");
}

}  // namespace
