// Loops of launches (vm/launch_rounds.h): which loops are found, and that a
// loop run as rounds leaves what the loop run word by word leaves (regions,
// registers, steps, launches counted, the trap and where), whether the CPU
// backend runs its rounds by pieces or one after another.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "assembler/disassembler.h"
#include "isa/encoding.h"
#include "vm/backend.h"
#include "vm/launch_rounds.h"
#include "vm/trap.h"
#include "vm_test_util.h"

namespace polymer::test {
namespace {

// y := a*x + y, 40 rounds over 70,000 lanes (several pieces of a 256 KiB cache share).
const char* kAxpyLoop = R"(
.region x i32[70000]
.region y i32[70000]
.kernel start (out x: i32[i], out y: i32[i])
        gid     r0
        st      x[r0], r0
        li      r1, 1
        st      y[r0], r1
.end
.kernel axpy (in x: i32[i], inout y: i32[i], a: i32)
        gid     r0
        ld      r1, x[r0]
        ld      r2, y[r0]
        ldp     r3, a
        mul     r1, r1, r3
        add     r2, r2, r1
        st      y[r0], r2
.end
.kernel twice (inout y: i32[i])
        gid     r0
        ld      r1, y[r0]
        add     r1, r1, r1
        st      y[r0], r1
.end
.proc main
        li      r9, 70000
        launch  start, r9, x, y
        li      r3, 3
        li      r10, 0
        li      r11, 40
again:  launch  axpy, r9, x, y, r3
        launch  twice, r9, y
        addi    r10, r10, 1
        blt     r10, r11, again
        li      r12, 7
        halt
.end
)";

// Lane 50,000 breaks the [i] contract once its y passes its limit (round 6:
// y counts 1, 2, ... and its limit is 6), every other lane never does.
const char* kFaultsInRoundSix = R"(
.region y i32[70000]
.region lim i32[70000]
.kernel start (out y: i32[i], out lim: i32[i])
        gid     r0
        li      r1, 50000
        eq      r2, r0, r1
        li      r3, 994
        mul     r2, r2, r3
        li      r3, 1000
        sub     r3, r3, r2
        st      lim[r0], r3     ; 6 for lane 50000, 1000 for the others
        li      r1, 0
        st      y[r0], r1
.end
.kernel bump (inout y: i32[i], in lim: i32[i])
        gid     r0
        ld      r1, y[r0]
        addi    r1, r1, 1
        st      y[r0], r1
        ld      r2, lim[r0]
        lt      r3, r2, r1
        add     r4, r0, r3
        ld      r5, lim[r4]     ; the next lane's element once y > lim
.end
.proc main
        li      r9, 70000
        launch  start, r9, y, lim
        li      r10, 100
        li      r11, 0
again:  launch  bump, r9, y, lim
        addi    r10, r10, -1
        bne     r10, r11, again
        halt
.end
)";

MachineOptions rounds(bool on, Backend* backend = nullptr) {
    MachineOptions o;
    o.launch_rounds = on;
    o.backend = backend;
    return o;
}

const Region& region_named(const ProgramRun& run, const char* name) {
    const RegionStore& store = run.machine->regions();
    for (std::size_t i = 0; i < store.size(); ++i)
        if (store[i].name == name) return store[i];
    ADD_FAILURE() << "no region " << name;
    return store[0];
}

std::vector<std::byte> bytes_of(const ProgramRun& run, const char* region) {
    const Region& g = region_named(run, region);
    const auto* p = static_cast<const std::byte*>(g.data);
    return {p, p + g.bytes()};
}

std::string trap_text(const ProgramRun& run) {
    return run.result.trap ? format_trap(*run.module, *run.result.trap, disassemble_word(*run.module, run.result.trap->pc)) : "";
}

void expect_same_run(const ProgramRun& a, const ProgramRun& b, const std::vector<const char*>& regions) {
    EXPECT_EQ(a.result.status, b.result.status);
    EXPECT_EQ(trap_text(a), trap_text(b));
    EXPECT_EQ(a.result.steps, b.result.steps);
    EXPECT_EQ(a.machine->state().pc, b.machine->state().pc);
    EXPECT_EQ(a.machine->kernels_launched(), b.machine->kernels_launched());
    for (unsigned i = 0; i < kIntRegisters; ++i) EXPECT_EQ(a.r(i), b.r(i)) << "r" << i;
    for (const char* g : regions) EXPECT_TRUE(bytes_of(a, g) == bytes_of(b, g)) << g;
}

TEST(LaunchRounds, FindsALoopWhoseBodyIsLaunches) {
    AssembleResult a = assemble(kAxpyLoop);
    ASSERT_TRUE(a.ok());
    std::string out;
    OutputBuffer buffer(&out);
    auto m = Machine::create(*a.module, buffer, {});
    ASSERT_TRUE(m.ok());
    const std::vector<LaunchLoop> loops = find_launch_loops(*a.module, m.value()->code());
    ASSERT_EQ(loops.size(), 1u);
    EXPECT_EQ(loops[0].launches, 2u);
    EXPECT_EQ(loops[0].counter, 10);
    EXPECT_EQ(loops[0].bound, 11);
    EXPECT_EQ(loops[0].step, 1);
    EXPECT_EQ(loops[0].compare, LoopCompare::Lt);
    EXPECT_EQ(static_cast<Op>(word_op(a.module->code[loops[0].head])), Op::Launch);
}

TEST(LaunchRounds, LeavesOutALoopWhoseLaunchReadsTheCounterOrThatDoesMore) {
    const std::string reads_counter = std::string(kAxpyLoop).replace(std::string(kAxpyLoop).find("x, y, r3\n        launch"), 8, "x, y, r10");
    const std::string does_more = std::string(kAxpyLoop).replace(std::string(kAxpyLoop).find("        launch  twice"), 0, "        li r4, 1\n");
    for (const std::string& source : {reads_counter, does_more}) {
        AssembleResult a = assemble(source);
        ASSERT_TRUE(a.ok()) << source;
        std::string out;
        OutputBuffer buffer(&out);
        auto m = Machine::create(*a.module, buffer, {});
        ASSERT_TRUE(m.ok());
        EXPECT_TRUE(find_launch_loops(*a.module, m.value()->code()).empty()) << source;
    }
}

TEST(LaunchRounds, RoundsLeaveWhatTheLoopWordByWordLeaves) {
    for (unsigned threads : {1u, 2u}) {
        CpuBackend by_rounds(CpuBackendOptions{threads}), by_words(CpuBackendOptions{threads});
        const ProgramRun a = run_source(kAxpyLoop, rounds(true, &by_rounds));
        const ProgramRun b = run_source(kAxpyLoop, rounds(false, &by_words));
        ASSERT_TRUE(a.halted() && b.halted());
        expect_same_run(a, b, {"x", "y"});
        EXPECT_EQ(a.r(10), 40);
        EXPECT_EQ(a.machine->kernels_launched(), 81u);
        if (threads == 2) {  // the rounds went to the pool as one job (and `start` as another), not 80
            EXPECT_LE(by_rounds.pooled_submits(), 2u);
            EXPECT_GE(by_words.pooled_submits(), 81u);
        }
        // y = 2 * (3 x + y) each round from y = 1: spot-check lane 12345 against the formula.
        std::int64_t y = 1;
        for (int k = 0; k < 40; ++k) y = static_cast<std::int32_t>(2 * (3 * 12345 + y));
        std::int32_t got = 0;
        std::memcpy(&got, static_cast<const char*>(region_named(a, "y").data) + 4 * 12345, 4);
        EXPECT_EQ(got, static_cast<std::int32_t>(y));
    }
}

TEST(LaunchRounds, AFaultInARoundTrapsAtItsLaunchWithTheCounterAsThen) {
    for (unsigned threads : {1u, 2u}) {
        CpuBackend by_rounds(CpuBackendOptions{threads}), by_words(CpuBackendOptions{threads});
        const ProgramRun a = run_source(kFaultsInRoundSix, rounds(true, &by_rounds));
        const ProgramRun b = run_source(kFaultsInRoundSix, rounds(false, &by_words));
        ASSERT_EQ(a.trap_kind(), TrapKind::OutOfBounds) << trap_text(a);
        // Regions other than the rounds' are not compared: the rounds leave those they write as they happened to be.
        expect_same_run(a, b, {});
        EXPECT_EQ(a.r(10), 100 - 6);  // the counter as the seventh round began
        EXPECT_NE(trap_text(a).find("lane 50000"), std::string::npos) << trap_text(a);
    }
}

// A window read of a buffer the body writes: the rounds run one after
// another (a piece of lanes would read a neighbour's element of the wrong
// round), and still leave what the words leave.
TEST(LaunchRounds, AWindowOverAWrittenBufferRunsRoundByRound) {
    const char* source = R"(
.region a f32[5000]
.region b f32[5000]
.kernel seed (out a: f32[i])
        gid     r0
        itof    f0, r0
        stf     a[r0], f0
.end
.kernel blur (in x: f32[i-1..i+1], out y: f32[i])
        gid     r0
        count   r5
        addi    r5, r5, -1
        min     r6, r0, r5
        addi    r7, r0, -1
        li      r8, 0
        max     r7, r7, r8
        addi    r8, r0, 1
        min     r8, r8, r5
        ldf     f0, x[r7]
        ldf     f1, x[r0]
        ldf     f2, x[r8]
        fadd    f0, f0, f1
        fadd    f0, f0, f2
        stf     y[r6], f0
.end
.proc main
        li      r9, 5000
        launch  seed, r9, a
        li      r10, 0
        li      r11, 30
again:  launch  blur, r9, a, b
        launch  blur, r9, b, a
        addi    r10, r10, 1
        blt     r10, r11, again
        halt
.end
)";
    CpuBackend by_rounds(CpuBackendOptions{2}), by_words(CpuBackendOptions{2});
    const ProgramRun a = run_source(source, rounds(true, &by_rounds));
    const ProgramRun b = run_source(source, rounds(false, &by_words));
    ASSERT_TRUE(a.halted()) << trap_text(a);
    expect_same_run(a, b, {"a", "b"});
}

TEST(LaunchRounds, AStepLimitRunsTheLoopWordByWord) {
    MachineOptions on = rounds(true), off = rounds(false);
    on.max_steps = off.max_steps = 50;
    const ProgramRun a = run_source(kAxpyLoop, on);
    const ProgramRun b = run_source(kAxpyLoop, off);
    EXPECT_EQ(a.trap_kind(), TrapKind::StepLimit);
    expect_same_run(a, b, {"x", "y"});
    EXPECT_EQ(a.machine->kernels_launched(), 1u + 2 * 12);  // the limit falls in the loop's 13th round
}

}  // namespace
}  // namespace polymer::test
