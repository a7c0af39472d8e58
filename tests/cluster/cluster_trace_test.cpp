// --trace with a cluster (docs/cluster.md, "Seeing it"): one track per
// participant that ran chunks, named like the --stats rows, whose applied
// chunk slices cover each launch's lanes exactly once and lie inside that
// launch's slice on the "backend cluster" track (one time base), and no
// track with two slices that partly overlap (view_checks.h: a participant's
// overlapping runs spread over rows "NAME, row 2", ...). Real polymer-run
// processes with --local-nodes in every --exec mode that writes a trace, and
// lesson 16 on two nodes; ClusterBackend with a stalled node for lost and
// backup runs; and the trace without a cluster keeps its shape.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "assembler/assembler.h"
#include "cluster/cluster_setup.h"
#include "json_value.h"
#include "cluster_test_options.h"
#include "node_process.h"
#include "test_kernels.h"
#include "vm/view_checks.h"
#include "vm/ooo/chrome_trace.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;
using polymer::testing::JsonReader;
using polymer::testing::JsonValue;
using polymer::testing::nesting_problem;

namespace {

// Two launches of different sizes and one that cannot be cut (it stores to a
// broadcast output: the home runs it whole), then a read of ys at home. Straight-line code, so nothing
// is squashed; the engines may submit `mark` before `twice` (they share no
// region), so launches are told apart by kernel name.
const char* kProgram = R"(.module trace_tracks
.region xs f32[5000]
.region ys f32[5000]
.region one i32[1]
.kernel fill (out x: f32[i])
        gid     r0
        itof    f0, r0
        stf     x[r0], f0
.end
.kernel twice (in x: f32[i], out y: f32[i])
        gid     r0
        ldf     f0, x[r0]
        fadd    f1, f0, f0
        stf     y[r0], f1
.end
.kernel mark (out s: i32[])
        li      r1, 0
        li      r2, 7
        st      s[r1], r2
.end
.proc main
        li      r1, 5000
        launch  fill, r1, xs
        li      r2, 3000
        launch  twice, r2, xs, ys
        li      r3, 1
        launch  mark, r3, one
        wait
        li      r4, 2999
        ld.f32  f5, ys[r4]          ; read at home: fetched from the node that holds it
        prints  "done"
        halt
.end
)";

const std::map<std::string, std::uint64_t> kLaunches = {{"fill", 5000}, {"twice", 3000}, {"mark", 1}};  // kernel -> count

struct Slice {
    std::string name, cat;
    std::uint64_t tid = 0, ts = 0, dur = 0;  // ns
    const JsonValue* args = nullptr;
};

// A track's group: "home, row 2" -> "home" (vm/ooo/chrome_trace.h).
std::string group_of(const std::string& track) { return track.substr(0, track.find(", row ")); }

// The trace's tracks (tid -> thread name) and complete events.
struct Trace {
    JsonValue root;
    std::map<std::uint64_t, std::string> tracks;
    std::vector<Slice> slices;

    static Trace read(const std::string& text) {
        Trace t;
        auto parsed = JsonReader::parse(text);
        if (!parsed) throw std::runtime_error("the trace is not valid JSON");
        t.root = std::move(*parsed);
        const JsonValue* events = t.root.get("traceEvents");
        if (events == nullptr) throw std::runtime_error("no traceEvents");
        for (const JsonValue& e : events->items) {
            if (e.str("ph") == "M" && e.str("name") == "thread_name") t.tracks[e.integer("tid")] = e.get("args")->str("name");
            if (e.str("ph") != "X") continue;
            t.slices.push_back({e.str("name"), e.str("cat"), e.integer("tid"), e.thousandths("ts").value_or(~0ull),
                                e.thousandths("dur").value_or(~0ull), e.get("args")});
        }
        return t;
    }
    static bool is_place(const std::string& track) {
        const std::string group = group_of(track);
        return group == "home" || group.rfind("node ", 0) == 0;
    }
    // Chunk runs on the places (home, nodes); fetches of region values
    // (cat "fetched"), values nodes took from each other (cat "halo") and
    // pieces of vector ops (cat "vector") are on those tracks too, but
    // belong to no launch.
    std::vector<Slice> on_places(bool fetches = false) const {
        std::vector<Slice> out;
        for (const Slice& s : slices)
            if (tracks.count(s.tid) != 0 && is_place(tracks.at(s.tid)) && (s.cat == "fetched" || s.cat == "vector" || s.cat == "halo") == fetches)
                out.push_back(s);
        return out;
    }
    // The slices on every row of one group of tracks.
    std::vector<Slice> on(const std::string& group) const {
        std::vector<Slice> out;
        for (const Slice& s : slices)
            if (tracks.count(s.tid) != 0 && group_of(tracks.at(s.tid)) == group) out.push_back(s);
        return out;
    }
    const JsonValue& last_event() const { return root.get("traceEvents")->items.back(); }
};

bool flag(const Slice& s, const char* key) {
    const JsonValue* v = s.args->get(key);
    return v != nullptr && v->kind == JsonValue::Kind::Bool && v->boolean;
}

// Every place track ran something, and has a unique name; every chunk slice
// is named "KERNEL [b, e)" with matching args; there is one launch (1, 2, ...
// in the order they ran) per kernel of `launches`, and its applied slices
// tile [0, count) exactly once.
void expect_places_tile(const Trace& t, const std::map<std::string, std::uint64_t>& launches) {
    const std::vector<Slice> runs = t.on_places(), fetches = t.on_places(true);
    std::set<std::string> names;
    for (const auto& [tid, name] : t.tracks) {
        if (!Trace::is_place(name)) continue;
        EXPECT_TRUE(names.insert(name).second) << "two tracks named " << name;
        const auto here = [&, tid = tid](const Slice& s) { return s.tid == tid; };  // clang 14: no capture of a binding
        EXPECT_TRUE(std::any_of(runs.begin(), runs.end(), here) || std::any_of(fetches.begin(), fetches.end(), here))
            << name << " has a track but ran nothing";
    }
    std::map<std::uint64_t, std::string> kernel_of;  // launch -> kernel
    std::map<std::uint64_t, std::vector<std::pair<std::uint64_t, std::uint64_t>>> applied;
    for (const Slice& s : runs) {
        const std::uint64_t launch = s.args->integer("launch"), b = s.args->integer("begin"), e = s.args->integer("end");
        const std::string kernel = s.name.substr(0, s.name.find(' '));
        ASSERT_GE(launch, 1u);
        ASSERT_LE(launch, launches.size());
        ASSERT_EQ(launches.count(kernel), 1u) << s.name;
        EXPECT_EQ(kernel_of.emplace(launch, kernel).first->second, kernel) << "launch " << launch << " has two kernels";
        EXPECT_EQ(s.name, kernel + " [" + std::to_string(b) + ", " + std::to_string(e) + ")");
        EXPECT_EQ(s.args->integer("lanes"), e - b);
        EXPECT_EQ(flag(s, "applied"), s.cat == "applied");
        EXPECT_EQ(s.args->str("outcome"), s.cat);
        if (s.cat == "applied") applied[launch].push_back({b, e});
    }
    ASSERT_EQ(kernel_of.size(), launches.size());
    for (auto& [launch, pieces] : applied) {
        std::sort(pieces.begin(), pieces.end());
        std::uint64_t next = 0;
        for (auto [b, e] : pieces) {
            EXPECT_EQ(b, next) << "launch " << launch << ": a gap or an overlap at lane " << next;
            EXPECT_LT(b, e);
            next = e;
        }
        EXPECT_EQ(next, launches.at(kernel_of[launch])) << "launch " << launch << " not covered to its end";
    }
    EXPECT_EQ(applied.size(), launches.size()) << "a launch with no applied run";
}

std::string slurp(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class TraceRun : public ::testing::TestWithParam<const char*> {
protected:
    void SetUp() override {
        dir_ = std::filesystem::path(::testing::TempDir()) / ("cluster_trace_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        program_ = (dir_ / "tracks.pasm").string();
        std::ofstream(program_) << kProgram;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    Trace run(const std::string& options) {
        const std::string json = (dir_ / "t.json").string();
        const RunOutcome o = run_polymer(
            std::string("--exec ") + GetParam() + " --chunk-lanes 64 --trace " + json + " " + options + " " + program_, true);
        EXPECT_EQ(o.status, 0) << o.out;
        EXPECT_NE(o.out.find("done"), std::string::npos) << o.out;
        Trace t = Trace::read(slurp(json));
        EXPECT_EQ(nesting_problem(t.root), "");
        return t;
    }
    std::filesystem::path dir_;
    std::string program_;
};

TEST_P(TraceRun, NodesOnlyOneTrackPerNodeThatRanAndTheLanesTileEachLaunch) {
    const Trace t = run("--local-nodes 2 --no-local-work");
    expect_places_tile(t, kLaunches);
    // The home runs no chunks, only the launch that cannot be cut, whole.
    const std::vector<Slice> home = t.on("home");
    ASSERT_EQ(home.size(), 1u);
    EXPECT_EQ(home[0].name, "mark [0, 1)");
    std::set<std::string> nodes;
    for (const auto& [tid, name] : t.tracks)
        if (name.rfind("node local-", 0) == 0 && name.find(" (127.0.0.1:") != std::string::npos) nodes.insert(group_of(name));
    EXPECT_GE(nodes.size(), 1u);
    EXPECT_LE(nodes.size(), 2u);
    // A node keeps what its chunks write (docs/cluster.md, "Data lives on
    // the nodes"): no applied run brings bytes back, and the first runs
    // carried the module and the slices out.
    std::uint64_t out = 0;
    for (const Slice& s : t.on_places()) {
        if (s.cat == "applied" && t.tracks.at(s.tid) != "home") {
            EXPECT_EQ(s.args->integer("bytes_in"), 0u) << s.name;
            out += s.args->integer("bytes_out");
        }
    }
    EXPECT_GT(out, 0u);
    // The program reads its results at home: fetches from the nodes, on
    // their tracks, named after the region, with the bytes they brought.
    const std::vector<Slice> fetches = t.on_places(true);
    EXPECT_FALSE(fetches.empty());
    for (const Slice& s : fetches) {
        if (s.cat == "halo") continue;  // a slice a node took from another (a steal)
        EXPECT_EQ(s.cat, "fetched") << s.name;  // the program has no vector op
        EXPECT_NE(t.tracks.at(s.tid), "home");
        EXPECT_EQ(s.name.rfind("fetch ", 0), 0u) << s.name;
        EXPECT_GT(s.args->integer("bytes_in"), 0u) << s.name;
    }
    EXPECT_FALSE(t.last_event().get("args")->get("places_truncated")->boolean);
}

// The chunk runs share the ROB's time base: each lies inside its launch's
// slice on "backend cluster" (sent after the launch was submitted, back
// before the engine saw the launch finish).
TEST_P(TraceRun, WithTheHomeChunkSlicesLieInsideTheirLaunchSlice) {
    const Trace t = run("--local-nodes 2");
    expect_places_tile(t, kLaunches);
    std::vector<Slice> launches = t.on("backend cluster");
    ASSERT_EQ(launches.size(), kLaunches.size());
    // The cluster numbers launches in the order they were submitted, which is
    // the order of these slices' starts (each starts right before its submit).
    std::sort(launches.begin(), launches.end(), [](const Slice& a, const Slice& b) { return a.ts < b.ts; });
    for (const Slice& s : t.on_places()) {
        const Slice& l = launches[s.args->integer("launch") - 1];
        EXPECT_GE(s.ts, l.ts) << s.name;
        EXPECT_LE(s.ts + s.dur, l.ts + l.dur) << s.name;
    }
}

// A vector op whose operands are on the nodes runs there in pieces
// (docs/cluster.md, "Vector ops on the nodes"): each piece is a slice of
// category "vector" named "vadd [b, e)" on its participant's track, and the
// pieces of one op cover its elements exactly once.
TEST_P(TraceRun, VectorOpPiecesAreSlicesOnTheirParticipantsTracks) {
    std::ofstream(program_) << R"(.module trace_vector
.region xs f32[5000]
.region ys f32[5000]
.region zs f32[5000]
.kernel fill (out x: f32[i], out y: f32[i])
        gid     r0
        itof    f0, r0
        stf     x[r0], f0
        stf     y[r0], f0
.end
.proc main
        li      r1, 5000
        launch  fill, r1, xs, ys
        vadd    zs, xs, ys
        vsum    f1, zs
        printf  f1
        println
        prints  "done"
        halt
.end
)";
    const Trace t = run("--local-nodes 2 --no-local-work");
    std::map<std::string, std::vector<std::pair<std::uint64_t, std::uint64_t>>> pieces;  // op -> [b, e)
    for (const Slice& s : t.on_places(true)) {
        if (s.cat != "vector") continue;
        const std::string op = s.name.substr(0, s.name.find(' '));
        const std::uint64_t b = s.args->integer("begin"), e = s.args->integer("end");
        EXPECT_EQ(s.name, op + " [" + std::to_string(b) + ", " + std::to_string(e) + ")");
        EXPECT_EQ(s.args->str("outcome"), "vector");
        EXPECT_FALSE(flag(s, "applied"));
        EXPECT_EQ(t.tracks.at(s.tid).rfind("node ", 0), 0u) << "the data is on the nodes: " << t.tracks.at(s.tid);
        pieces[op].push_back({b, e});
    }
    ASSERT_EQ(pieces.size(), 2u) << "vadd and vsum ran on the nodes";
    for (auto& [op, runs] : pieces) {
        std::sort(runs.begin(), runs.end());
        std::uint64_t next = 0;
        for (auto [b, e] : runs) {
            EXPECT_EQ(b, next) << op << ": a gap or an overlap at " << next;
            next = e;
        }
        EXPECT_EQ(next, 5000u) << op;
    }
    expect_places_tile(t, {{"fill", 5000}});
}

INSTANTIATE_TEST_SUITE_P(ExecModes, TraceRun, ::testing::Values("frames", "ooo", "spec"),
                         [](const auto& info) { return std::string(info.param); });

// No cluster: the same tracks as before (ROB and backend cpu), no chunk
// slices, and the final metadata event without the places' flag.
TEST(TraceWithoutCluster, KeepsItsShape) {
    const auto dir = std::filesystem::path(::testing::TempDir()) / ("cluster_trace_plain_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    std::ofstream(dir / "p.pasm") << kProgram;
    const RunOutcome o = run_polymer("--exec ooo --trace " + (dir / "t.json").string() + " " + (dir / "p.pasm").string(), true);
    ASSERT_EQ(o.status, 0) << o.out;
    const Trace t = Trace::read(slurp(dir / "t.json"));
    std::filesystem::remove_all(dir);
    std::set<std::string> names;
    for (const auto& [tid, name] : t.tracks) names.insert(group_of(name));
    EXPECT_EQ(names, (std::set<std::string>{"ROB", "backend cpu"}));
    EXPECT_EQ(nesting_problem(t.root), "");
    EXPECT_TRUE(t.on_places().empty());
    EXPECT_EQ(t.on("backend cpu").size(), kLaunches.size());
    const JsonValue* last = t.last_event().get("args");
    ASSERT_NE(last, nullptr);
    EXPECT_NE(last->get("truncated"), nullptr);
    EXPECT_EQ(last->get("places_truncated"), nullptr);
}

// Lesson 16 on two nodes and the home, speculative: thousands of chunk runs
// and instructions in flight at once, every one kept, none partly
// overlapping another on its track.
TEST(ClusterTrace, LessonSixteenOnTwoNodesNests) {
    const auto dir = std::filesystem::path(::testing::TempDir()) / ("cluster_trace_16_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::string lesson = std::string(POLYMER_SAMPLES_DIR) + "/16-cluster";
    const RunOutcome o =
        run_polymer("--exec spec --local-nodes 2 --trace " + (dir / "t.json").string() + " " + lesson + ".pasm", false);
    ASSERT_EQ(o.status, 0) << o.out;
    EXPECT_EQ(o.out, slurp(lesson + ".expected"));
    const Trace t = Trace::read(slurp(dir / "t.json"));
    std::filesystem::remove_all(dir);
    EXPECT_EQ(nesting_problem(t.root), "");
    EXPECT_GT(t.on_places().size(), 2u);
    std::set<std::string> groups;
    for (const auto& [tid, name] : t.tracks) groups.insert(group_of(name));
    EXPECT_LT(groups.size(), t.tracks.size()) << "nothing overlapped: the test shows nothing";
}

// A node stalled (SIGSTOP) for half a second from before the launch: the
// other node runs a backup copy of its chunk, which is applied; the stalled
// node's own run of those lanes is dropped (lost or abandoned), and the
// applied runs still tile the launch exactly once.
TEST(ClusterTrace, AStalledNodesRunIsDroppedAndItsBackupApplied) {
    TempTokenFile token(kSecret);
    NodeProcess a(token.path()), b(token.path());
    AssembleResult assembled = assemble(kSaxpy);
    ASSERT_TRUE(assembled.ok());
    const Module module = std::move(*assembled.module);
    const std::size_t n = 1 << 18;
    std::vector<float> x(n, 1.0f), y(n, 2.0f), z(n, 0.0f);
    KernelLaunch launch;
    launch.kernel = &module.kernels[0];
    launch.kernel_index = 0;
    launch.count = launch.end = n;
    launch.args = {KernelArg{x.data(), n, ElemType::F32, 0}, KernelArg{y.data(), n, ElemType::F32, 0},
                   KernelArg{z.data(), n, ElemType::F32, 0}, KernelArg{nullptr, 0, ElemType::F32, bits(3.0f)}};
    ClusterOptions o = test_options({&a, &b}, 1 << 12, std::chrono::milliseconds(2000));
    CpuBackend local;
    auto backend = ClusterBackend::create(module, local, o);
    ASSERT_TRUE(backend) << backend.error();
    ClusterSession session;
    session.backend_ = std::move(backend).value();
    session.record_chunk_runs();
    PipelineLog log;
    log.origin = std::chrono::steady_clock::now();
    a.signal(SIGSTOP);  // it takes its first chunk and stalls on it
    const Ticket ticket = session.backend()->submit(launch);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    a.signal(SIGCONT);
    session.backend()->wait(ticket);
    for (std::size_t i = 0; i < n; ++i) ASSERT_EQ(z[i], 5.0f) << "lane " << i;
    session.add_to_trace(log);
    std::ostringstream json;
    write_chrome_trace(json, module, log);
    const Trace t = Trace::read(json.str());
    expect_places_tile(t, {{"saxpy", n}});
    const std::string a_track = "node test-node (127.0.0.1:" + std::to_string(a.port()) + ")";
    const std::string b_track = "node test-node (127.0.0.1:" + std::to_string(b.port()) + ")";
    std::vector<Slice> backups;
    for (const Slice& s : t.on(b_track))
        if (flag(s, "backup")) backups.push_back(s);
    ASSERT_EQ(backups.size(), 1u);
    EXPECT_EQ(backups[0].cat, "applied");
    const std::vector<Slice> on_a = t.on(a_track);
    ASSERT_FALSE(on_a.empty());
    bool dropped_copy = false;
    for (const Slice& s : on_a) {
        EXPECT_NE(s.cat, "applied") << s.name;  // it stalled on its first chunk until every chunk was done
        if (s.name == backups[0].name && (s.cat == "lost" || s.cat == "abandoned")) dropped_copy = true;
    }
    EXPECT_TRUE(dropped_copy);
}

}  // namespace
