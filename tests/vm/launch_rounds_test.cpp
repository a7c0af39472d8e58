// Loops of launches (vm/launch_rounds.h): which loops are found, that a loop
// run as rounds leaves what the loop run word by word leaves (regions,
// registers, steps, launches counted, the trap and where), and that a loop
// whose rounds the backend declines runs word by word.
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

// A CPU backend that takes every loop's rounds and runs them one by one,
// counting the calls: the VM's side of rounds, apart from any backend's way.
class TakesRounds final : public Backend {
public:
    std::string_view name() const override { return "takes-rounds"; }
    Ticket submit(const VectorOpArgs& a) override { return cpu_.submit(a); }
    Ticket submit(const KernelLaunch& l) override { return cpu_.submit(l); }
    VectorOpResult wait(Ticket t) override { return cpu_.wait(t); }
    void wait_all() override { cpu_.wait_all(); }
    std::optional<RoundsResult> run_rounds(std::span<const KernelLaunch> body, std::uint64_t rounds) override {
        calls.push_back(rounds);
        return run_rounds_one_by_one(cpu_, body, rounds);
    }
    std::vector<std::uint64_t> calls;  // the rounds of each call

private:
    CpuBackend cpu_{CpuBackendOptions{2}};
};

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
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Ooo, ExecMode::Spec}) {
        SCOPED_TRACE(std::string(exec_mode_name(mode)));
        TakesRounds taker;
        MachineOptions on = rounds(true, &taker), off = rounds(false);
        on.exec = off.exec = mode;
        const ProgramRun a = run_source(kAxpyLoop, on);
        const ProgramRun b = run_source(kAxpyLoop, off);
        ASSERT_TRUE(a.halted() && b.halted());
        expect_same_run(a, b, {"x", "y"});
        EXPECT_EQ(taker.calls, std::vector<std::uint64_t>{40});  // the whole loop, in one call
        EXPECT_EQ(a.r(10), 40);
        EXPECT_EQ(a.machine->kernels_launched(), 81u);
        // y = 2 * (3 x + y) each round from y = 1: spot-check lane 12345 against the formula.
        std::int64_t y = 1;
        for (int k = 0; k < 40; ++k) y = static_cast<std::int32_t>(2 * (3 * 12345 + y));
        std::int32_t got = 0;
        std::memcpy(&got, static_cast<const char*>(region_named(a, "y").data) + 4 * 12345, 4);
        EXPECT_EQ(got, static_cast<std::int32_t>(y));
    }
}

// The CPU backend takes an element-wise body and runs a piece of lanes
// (256 KiB of its buffers: 70,000 lanes are several) through every round at a time.
TEST(LaunchRounds, TheCpuBackendRunsAnElementWiseBodyByPieces) {
    for (unsigned threads : {1u, 2u}) {
        CpuBackend by_rounds(CpuBackendOptions{threads}), by_words(CpuBackendOptions{threads});
        const ProgramRun a = run_source(kAxpyLoop, rounds(true, &by_rounds));
        const ProgramRun b = run_source(kAxpyLoop, rounds(false, &by_words));
        ASSERT_TRUE(a.halted() && b.halted());
        expect_same_run(a, b, {"x", "y"});
        EXPECT_EQ(a.machine->launch_round_stats().loops, 1u);
        if (threads == 2) {  // the rounds went to the pool as one job (and `start` as another), not 80
            EXPECT_LE(by_rounds.pooled_submits(), 2u);
            EXPECT_GE(by_words.pooled_submits(), 81u);
        }
        const ProgramRun f = run_source(kFaultsInRoundSix, rounds(true, &by_rounds));
        const ProgramRun g = run_source(kFaultsInRoundSix, rounds(false, &by_words));
        ASSERT_EQ(f.trap_kind(), TrapKind::OutOfBounds) << trap_text(f);
        expect_same_run(f, g, {});
        EXPECT_EQ(f.r(10), 100 - 6);
    }
}

TEST(LaunchRounds, AFaultInARoundTrapsAtItsLaunchWithTheCounterAsThen) {
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Ooo}) {
        SCOPED_TRACE(std::string(exec_mode_name(mode)));
        TakesRounds taker;
        MachineOptions on = rounds(true, &taker), off = rounds(false);
        on.exec = off.exec = mode;
        const ProgramRun a = run_source(kFaultsInRoundSix, on);
        const ProgramRun b = run_source(kFaultsInRoundSix, off);
        ASSERT_EQ(a.trap_kind(), TrapKind::OutOfBounds) << trap_text(a);
        EXPECT_EQ(taker.calls, std::vector<std::uint64_t>{100});
        expect_same_run(a, b, {});  // the faulting launch leaves y as its lanes happened to run
        EXPECT_EQ(a.r(10), 100 - 6);   // the counter as the seventh round began
        EXPECT_NE(trap_text(a).find("lane 50000"), std::string::npos) << trap_text(a);
    }
}

// A stencil's body reads through a window what it writes: the CPU backend
// declines its rounds, the loop runs word by word, and from then on the VM
// does not offer it again (the engine overlaps its launches in the ROB as
// before).
const char* kStencilLoop = R"(
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
        stf     y[r0], f0
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

TEST(LaunchRounds, ALoopTheBackendDeclinesRunsWordByWord) {
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Ooo}) {
        SCOPED_TRACE(std::string(exec_mode_name(mode)));
        MachineOptions on = rounds(true), off = rounds(false);
        on.exec = off.exec = mode;
        const ProgramRun a = run_source(kStencilLoop, on);
        const ProgramRun b = run_source(kStencilLoop, off);
        ASSERT_TRUE(a.halted() && b.halted()) << trap_text(a);
        expect_same_run(a, b, {"a", "b"});
        const std::vector<LaunchLoop> loops = find_launch_loops(*a.module, a.machine->code());
        ASSERT_EQ(loops.size(), 1u);
        EXPECT_EQ(a.machine->launch_loop_at(loops[0].head), nullptr);
        EXPECT_EQ(a.machine->launch_round_stats().declined, 1u);
        EXPECT_EQ(a.machine->launch_round_stats().loops, 0u);
        if (mode == ExecMode::Ooo) {
            EXPECT_GT(a.machine->engine_stats().committed, 60u);  // the launches went through the ROB
        }
    }
}

// Only a body whose written buffers are element-wise, over the same lanes,
// may run a piece of lanes through every round (a cluster's claims).
TEST(LaunchRounds, WhichBodiesRunByPieces) {
    const char* source = R"(
.region a f32[5000]
.region b f32[5000]
.kernel scale (inout y: f32[i])
        gid     r0
        ldf     f0, y[r0]
        fadd    f0, f0, f0
        stf     y[r0], f0
.end
.kernel blur (in x: f32[i-1..i+1], out y: f32[i])
        gid     r0
        ldf     f0, x[r0]
        stf     y[r0], f0
.end
.kernel total (in x: f32[], out y: f32[i])
        gid     r0
        li      r1, 0
        ldf     f0, x[r1]
        stf     y[r0], f0
.end
.proc main
        halt
.end
)";
    AssembleResult assembled = assemble(source);
    ASSERT_TRUE(assembled.ok());
    const Module& m = *assembled.module;
    std::vector<float> a(5000), b(5000);
    auto launch = [&](const char* kernel, std::vector<KernelArg> args, std::uint64_t lanes) {
        KernelLaunch l;
        for (const Kernel& k : m.kernels)
            if (k.name == kernel) l.kernel = &k;
        l.args = std::move(args);
        l.count = l.end = lanes;
        return l;
    };
    const KernelArg in_a{a.data(), a.size(), ElemType::F32, 0, nullptr}, in_b{b.data(), b.size(), ElemType::F32, 0, nullptr};
    const KernelLaunch scale_a = launch("scale", {in_a}, 5000), scale_b = launch("scale", {in_b}, 5000);
    EXPECT_TRUE(rounds_run_by_pieces(std::vector<KernelLaunch>{scale_a, scale_b}));
    // b read through a window where the body writes it.
    EXPECT_FALSE(rounds_run_by_pieces(std::vector<KernelLaunch>{launch("blur", {in_a, in_b}, 5000), launch("blur", {in_b, in_a}, 5000)}));
    // a window over a buffer the body never writes is fine.
    EXPECT_TRUE(rounds_run_by_pieces(std::vector<KernelLaunch>{launch("blur", {in_a, in_b}, 5000)}));
    // a whole-buffer read of what the body writes.
    EXPECT_FALSE(rounds_run_by_pieces(std::vector<KernelLaunch>{launch("total", {in_b, in_a}, 5000), scale_b}));
    // lanes that differ.
    EXPECT_FALSE(rounds_run_by_pieces(std::vector<KernelLaunch>{scale_a, launch("scale", {in_b}, 4000)}));
}

TEST(LaunchRounds, AStepLimitRunsTheLoopWordByWord) {
    TakesRounds taker;
    MachineOptions on = rounds(true, &taker), off = rounds(false);
    on.max_steps = off.max_steps = 50;
    const ProgramRun a = run_source(kAxpyLoop, on);
    const ProgramRun b = run_source(kAxpyLoop, off);
    EXPECT_EQ(a.trap_kind(), TrapKind::StepLimit);
    expect_same_run(a, b, {"x", "y"});
    EXPECT_EQ(a.machine->kernels_launched(), 1u + 2 * 12);  // the limit falls in the loop's 13th round
    EXPECT_TRUE(taker.calls.empty());
}

}  // namespace
}  // namespace polymer::test
