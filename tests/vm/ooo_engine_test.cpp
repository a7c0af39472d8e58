// The reorder engine's parts: the predictor, the rename map, and whole
// programs that exercise renaming, rollback, traps and the trace files.
#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "vm/ooo/branch_predictor.h"
#include "vm/ooo/chrome_trace.h"
#include "vm/ooo/kanata_log.h"
#include "vm/ooo/pipeline_log.h"
#include "vm/ooo/rename_map.h"
#include "vm/ooo/track_rows.h"
#include "view_checks.h"
#include "vm_test_util.h"

namespace polymer::ooo {
namespace {

TEST(BranchPredictor, StartsFromTheDirectionHint) {
    BranchPredictor p;
    EXPECT_TRUE(p.predict(10, 4));    // backward: a loop, weakly taken
    EXPECT_FALSE(p.predict(20, 30));  // forward: weakly not taken
    EXPECT_EQ(p.state(10, 4), 2);
    EXPECT_EQ(p.state(20, 30), 1);
}

TEST(BranchPredictor, TwoBitCountersSaturateAndNeedTwoMissesToFlip) {
    BranchPredictor p;
    for (int i = 0; i < 5; ++i) p.update(10, 4, true);
    EXPECT_EQ(p.state(10, 4), 3);
    p.update(10, 4, false);  // one loop exit does not flip a strongly-taken branch
    EXPECT_EQ(p.state(10, 4), 2);
    EXPECT_TRUE(p.predict(10, 4));
    p.update(10, 4, false);
    EXPECT_FALSE(p.predict(10, 4));
    for (int i = 0; i < 5; ++i) p.update(10, 4, false);
    EXPECT_EQ(p.state(10, 4), 0);
    EXPECT_TRUE(p.predict(11, 4));  // another branch has its own counter
}

TEST(RenameMap, TracksTheNewestProducerAndRetires) {
    RenameMap map;
    EXPECT_EQ(map.producer(RegKind::Int, 3), RenameMap::kCommitted);
    map.define(RegKind::Int, 3, 7);
    map.define(RegKind::Int, 3, 9);  // a younger writer of r3
    map.define(RegKind::Float, 3, 8);
    EXPECT_EQ(map.producer(RegKind::Int, 3), 9u);
    EXPECT_EQ(map.producer(RegKind::Float, 3), 8u);
    map.retire(RegKind::Int, 3, 7);  // the older one commits: r3 still comes from 9
    EXPECT_EQ(map.producer(RegKind::Int, 3), 9u);
    map.retire(RegKind::Int, 3, 9);
    EXPECT_EQ(map.producer(RegKind::Int, 3), RenameMap::kCommitted);
    map.clear();
    EXPECT_EQ(map.producer(RegKind::Float, 3), RenameMap::kCommitted);
}

// --- whole programs through the engine ---

using test::in_main;
using test::run_source;

test::ProgramRun run_in(ExecMode mode, const std::string& source, PipelineLog* log = nullptr, std::uint32_t rob = 64) {
    MachineOptions o;
    o.exec = mode;
    o.rob_size = rob;
    o.pipeline_log = log;
    return run_source(source, o);
}

// The first committed record of the instruction at `pc`.
const InsnRecord& record_at(const PipelineLog& log, std::uint32_t pc) {
    for (const InsnRecord& r : log.records)
        if (r.pc == pc && !r.squashed) return r;
    ADD_FAILURE() << "no record of pc " << pc;
    return log.records.front();
}

constexpr const char* kBigRegions = R"(
.region big i32[300000] fill 1
.region xs i32[8] fill 2
.region ys i32[8]
.kernel twice (in x: i32[i], out y: i32[i])
        gid r0
        ld r1, x[r0]
        add r1, r1, r1
        st y[r0], r1
.end
)";

TEST(ReorderEngine, RenamingLetsALaterWriterGoPastAnInFlightReduction) {
    // 0: vsumi r1, big (long); 1: mov r2, r1 (waits for it); 2: li r1, 5 (WAW on
    // r1, WAR against mov: renamed, so it runs before the sum is back).
    PipelineLog log;
    auto run = run_in(ExecMode::Ooo, in_main("vsumi r1, big\nmov r2, r1\nli r1, 5\nprint r2\nprintc r1\nprint r1", kBigRegions), &log);
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(*run.output, "300000\x05" "5");
    EXPECT_EQ(run.r(1), 5);
    EXPECT_EQ(run.r(2), 300000);
    const InsnRecord& sum = record_at(log, 0);
    const InsnRecord& mov = record_at(log, 1);
    const InsnRecord& li = record_at(log, 2);
    EXPECT_TRUE(sum.long_op);
    EXPECT_LE(li.exec_start_ns, sum.exec_end_ns) << "li r1 waited for the reduction";
    EXPECT_GE(mov.exec_start_ns, sum.exec_end_ns) << "mov r2, r1 ran before its producer finished";
    ASSERT_EQ(mov.deps.size(), 1u);
    EXPECT_EQ(log.records[mov.deps[0]].pc, 0u);
}

TEST(ReorderEngine, RegionWriterWaitsForAnInFlightReader) {
    // 1: launch twice reads xs, writes ys; 2: vfill xs (WAR on xs) must wait for
    // it; 3: vsumi reads ys (RAW) after the kernel.
    PipelineLog log;
    auto run = run_in(ExecMode::Ooo, in_main("li r1, 8\nlaunch twice, r1, xs, ys\nli r2, 7\nvfill xs, r2\nvsumi r3, ys\nvsumi r4, xs", kBigRegions), &log);
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(3), 32);  // the kernel saw the old xs (2s)
    EXPECT_EQ(run.r(4), 56);
    const InsnRecord& kernel = record_at(log, 1);
    const InsnRecord& fill = record_at(log, 3);
    EXPECT_GE(fill.exec_start_ns, kernel.exec_end_ns);
}

TEST(ReorderEngine, IndependentLongOpsAreInFlightTogether) {
    PipelineLog log;
    auto run = run_in(ExecMode::Ooo, in_main("vsumi r1, big\nvsumi r2, xs\nli r3, 8\nlaunch twice, r3, xs, ys\nadd r4, r1, r2", kBigRegions), &log);
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(4), 300016);
    // The second and third long ops were submitted before the first was seen finished.
    EXPECT_LT(record_at(log, 1).exec_start_ns, record_at(log, 0).exec_end_ns);
    EXPECT_LT(record_at(log, 3).exec_start_ns, record_at(log, 0).exec_end_ns);
}

// A loop whose exit depends on a reduction: spec predicts "go on" and
// mispredicts the exit; the wrong path divides by zero and runs a kernel that
// overwrites ys. Neither may be seen.
constexpr const char* kMispredicted = R"(
        li r5, 0
        li r6, 3
        li r8, 8
loop:   vsumi r1, big
        sub r1, r1, r1
        add r5, r5, r1
        addi r5, r5, 1
        blt r5, r6, loop
        vsumi r2, big
        bnz r2, done
        li r7, 0
        div r9, r5, r7
        launch twice, r8, xs, ys
done:   vsumi r3, ys
        print r3
)";

TEST(ReorderEngine, MispredictionRollsBackAndTheSquashedTrapNeverFires) {
    PipelineLog log;
    auto spec = run_in(ExecMode::Spec, in_main(kMispredicted, kBigRegions), &log);
    auto ref = run_in(ExecMode::InOrder, in_main(kMispredicted, kBigRegions));
    ASSERT_TRUE(spec.halted()) << (spec.result.trap ? spec.result.trap->detail : "");
    EXPECT_EQ(*spec.output, *ref.output);
    EXPECT_EQ(*spec.output, "0");
    EXPECT_EQ(spec.result.steps, ref.result.steps);
    const EngineStats& st = spec.machine->engine_stats();
    EXPECT_GE(st.predictions, 3u);
    EXPECT_GE(st.mispredictions, 1u);
    EXPECT_GT(st.squashed, 0u);
    bool squashed_div = false;
    for (const InsnRecord& r : log.records) squashed_div |= r.squashed && r.op == Op::Div;
    EXPECT_TRUE(squashed_div) << "the wrong path was not issued: the test shows nothing";
}

TEST(ReorderEngine, TrapsAtTheSameInstructionAndStateInEveryMode) {
    // The index comes from a reduction; the out-of-bounds load is the 6th word.
    const std::string source = in_main("li r1, 99\nprint r1\nvsumi r2, xs\nli r3, 4\nadd r2, r2, r3\nld.i32 r4, xs[r2]\nprint r4", kBigRegions);
    auto ref = run_in(ExecMode::InOrder, source);
    ASSERT_EQ(ref.trap_kind(), TrapKind::OutOfBounds);
    for (ExecMode mode : {ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec}) {
        auto run = run_in(mode, source, nullptr, 4);
        ASSERT_EQ(run.trap_kind(), TrapKind::OutOfBounds) << exec_mode_name(mode);
        EXPECT_EQ(run.result.trap->pc, ref.result.trap->pc);
        EXPECT_EQ(run.result.trap->pc, 5u);
        EXPECT_EQ(run.result.trap->detail, ref.result.trap->detail);
        EXPECT_EQ(*run.output, "99");
        EXPECT_EQ(run.r(4), 0) << "a register written after the trap";
    }
}

// --- the trace files (the viewers' rules: view_checks.h) ---

using polymer::testing::JsonReader;
using polymer::testing::KanataLog;
using polymer::testing::nesting_problem;
using polymer::testing::read_kanata;

std::string chrome_trace(const test::ProgramRun& run, const PipelineLog& log) {
    std::ostringstream json;
    write_chrome_trace(json, *run.module, log);
    return json.str();
}

KanataLog kanata_log(const test::ProgramRun& run, const PipelineLog& log) {
    std::ostringstream out;
    write_kanata_log(out, *run.module, log);
    return read_kanata(out.str());
}

TEST(TraceFiles, ChromeTraceHasRobAndBackendTracksThatNest) {
    PipelineLog log;
    auto run = run_in(ExecMode::Spec, in_main(kMispredicted, kBigRegions), &log);
    ASSERT_TRUE(run.halted());
    const std::string json = chrome_trace(run, log);
    const auto trace = JsonReader::parse(json);
    ASSERT_TRUE(trace) << json.substr(0, 2000);
    EXPECT_EQ(nesting_problem(*trace), "");
    EXPECT_NE(json.find("\"name\":\"ROB\""), std::string::npos);
    EXPECT_NE(json.find("\"backend cpu\""), std::string::npos);
    EXPECT_NE(json.find("\"cat\":\"squashed\""), std::string::npos);
    EXPECT_NE(json.find("\"name\":\"vsumi @3\""), std::string::npos);
}

TEST(TraceFiles, KanataLogFollowsKonatasRulesAndHaltRetiresLast) {
    PipelineLog log;
    auto run = run_in(ExecMode::Spec, in_main(kMispredicted, kBigRegions), &log);
    ASSERT_TRUE(run.halted());
    const KanataLog k = kanata_log(run, log);
    ASSERT_EQ(k.problem, "");
    EXPECT_EQ(k.ops, log.records.size());
    EXPECT_EQ(k.committed, run.result.steps);
    EXPECT_GT(k.flushed, 0u);
    EXPECT_GT(k.deps, 0u);
    EXPECT_EQ(k.arrows, k.deps);
    EXPECT_NE(k.last_committed.find(": halt"), std::string::npos) << k.last_committed;
}

// A trap ends the run at the trapping instruction's commit: it is the last
// to retire, after everything older, in both views. (A store's body runs at
// commit, long after its issue: here after the long reduction before it.)
TEST(TraceFiles, ATrappingInstructionRetiresLast) {
    const std::string source = in_main("li r1, 99\nprint r1\nvsumi r2, big\nli r3, 4\nadd r2, r2, r3\nst.i32 xs[r2], r1\nprint r1", kBigRegions);
    for (ExecMode mode : {ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec}) {
        PipelineLog log;
        auto run = run_in(mode, source, &log);
        ASSERT_EQ(run.trap_kind(), TrapKind::OutOfBounds) << exec_mode_name(mode);
        const KanataLog k = kanata_log(run, log);
        ASSERT_EQ(k.problem, "") << exec_mode_name(mode);
        EXPECT_EQ(k.last_committed.rfind("5: st.i32", 0), 0u) << k.last_committed;
        const auto trace = JsonReader::parse(chrome_trace(run, log));
        ASSERT_TRUE(trace);
        EXPECT_EQ(nesting_problem(*trace), "") << exec_mode_name(mode);
    }
}

// Each span on the lowest row free at its start: as many rows as spans open
// at once, none with two that overlap, touching spans sharing a row.
TEST(TrackRows, NoTwoSpansOfARowOverlap) {
    const std::vector<Span> spans = {{0, 10}, {2, 4}, {4, 6}, {3, 12}, {10, 11}, {11, 11}, {11, 20}, {5, 5}};
    const std::vector<std::uint32_t> row = assign_rows(spans);
    ASSERT_EQ(row.size(), spans.size());
    EXPECT_EQ(row, (std::vector<std::uint32_t>{0, 1, 1, 2, 0, 0, 0, 3}));  // [5, 5] is open at 5 with three others
    for (std::size_t a = 0; a < spans.size(); ++a) {
        for (std::size_t b = a + 1; b < spans.size(); ++b) {
            if (row[a] != row[b]) continue;
            EXPECT_TRUE(spans[a].end <= spans[b].begin || spans[b].end <= spans[a].begin) << a << " and " << b;
        }
    }
    EXPECT_TRUE(assign_rows({}).empty());
}

}  // namespace
}  // namespace polymer::ooo
