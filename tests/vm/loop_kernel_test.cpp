// kloop in the VM (docs/loop-kernels.md, "How kloop runs a loop"): a loop run
// as its kernel leaves every register, region, output and trap exactly as the
// scalar loop does, in every execution mode; the checks make it fall back;
// reductions are combined in lane order; speculation never runs it early.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "isa/verifier.h"
#include "vm/backend.h"
#include "vm/machine.h"
#include "vm/ooo/pipeline_log.h"
#include "vm/scalar_semantics.h"
#include "loop_kernel_modules.h"

namespace polymer::test {
namespace {

constexpr ExecMode kModes[] = {ExecMode::InOrder, ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec};

// Everything a run leaves behind.
struct Outcome {
    std::string output;
    std::optional<Trap> trap;
    RegisterFile regs;
    std::vector<std::vector<std::byte>> regions;
    LoopKernelStats stats;
    EngineStats engine;
};

Outcome run_module(const Module& m, MachineOptions options) {
    Outcome o;
    OutputBuffer out(&o.output);
    auto machine = Machine::create(m, out, options);
    EXPECT_TRUE(machine.ok()) << (machine.ok() ? "" : machine.error());
    if (!machine.ok()) return o;
    Machine& mc = *machine.value();
    const RunResult r = mc.run(*mc.find_proc("main"));
    out.flush();
    o.trap = r.trap;
    o.regs = mc.state().regs;
    for (std::size_t g = 0; g < mc.regions().size(); ++g) {
        const Region& region = mc.regions()[g];
        o.regions.emplace_back(region.bytes());
        if (region.bytes() != 0) std::memcpy(o.regions.back().data(), region.data, region.bytes());
    }
    o.stats = mc.loop_kernel_stats();
    o.engine = mc.engine_stats();
    return o;
}

MachineOptions options_for(ExecMode mode, std::vector<std::string> args, bool loop_kernels) {
    MachineOptions o;
    o.exec = mode;
    o.args = std::move(args);
    o.loop_kernels = loop_kernels;
    return o;
}

void expect_same(const Outcome& a, const Outcome& b) {
    EXPECT_EQ(a.output, b.output);
    ASSERT_EQ(a.trap.has_value(), b.trap.has_value());
    if (a.trap) {
        EXPECT_EQ(a.trap->kind, b.trap->kind);
        EXPECT_EQ(a.trap->pc, b.trap->pc);
        EXPECT_EQ(a.trap->detail, b.trap->detail);
    }
    for (unsigned i = 0; i < kIntRegisters; ++i) EXPECT_EQ(a.regs.r[i], b.regs.r[i]) << "r" << i;
    for (unsigned i = 0; i < kFloatRegisters; ++i)
        EXPECT_EQ(std::bit_cast<std::uint64_t>(a.regs.f[i]), std::bit_cast<std::uint64_t>(b.regs.f[i])) << "f" << i;
    EXPECT_EQ(a.regions, b.regions);
}

std::uint64_t scalar(const LoopKernelStats& s, LoopScalarReason r) { return s.scalar[static_cast<std::size_t>(r)]; }

TEST(LoopKernelVm, TheHandMadeModuleVerifies) {
    std::unique_ptr<Module> m = squares_module();
    ASSERT_TRUE(m);
    Result<Verified> v = verify_module(*m);
    EXPECT_TRUE(v.ok()) << (v ? "" : v.error());
}

// The loops run as kernels (all but their last iteration) leave exactly what
// the scalar loops leave, in every mode.
TEST(LoopKernelVm, EveryModeLeavesWhatTheScalarLoopLeaves) {
    std::unique_ptr<Module> m = squares_module();
    ASSERT_TRUE(m);
    const Outcome reference = run_module(*m, options_for(ExecMode::InOrder, {"5000", "0"}, false));
    ASSERT_FALSE(reference.trap);
    EXPECT_EQ(reference.output, "5000 24990008\n5000 24990008\n");
    EXPECT_EQ(scalar(reference.stats, LoopScalarReason::Disabled), 2u);
    for (ExecMode mode : kModes)
        for (bool idle_interpreter : {true, false})
            for (std::uint32_t rob : {kDefaultRobSize, 2u}) {
                SCOPED_TRACE(std::string(exec_mode_name(mode)) + (idle_interpreter ? "" : ", every instruction in the ROB") +
                             ", ROB " + std::to_string(rob));
                MachineOptions o = options_for(mode, {"5000", "0"}, true);
                o.interpret_when_idle = idle_interpreter;
                o.rob_size = rob;
                const Outcome kernel = run_module(*m, o);
                expect_same(kernel, reference);
                EXPECT_EQ(kernel.stats.kernels, 2u);
                EXPECT_EQ(kernel.stats.iterations, 2u * 4999);
            }
}

TEST(LoopKernelVm, ShortLoopsStayScalar) {
    std::unique_ptr<Module> m = squares_module();
    ASSERT_TRUE(m);
    for (ExecMode mode : kModes) {
        const Outcome kernel = run_module(*m, options_for(mode, {"1024", "0"}, true));
        expect_same(kernel, run_module(*m, options_for(mode, {"1024", "0"}, false)));
        EXPECT_EQ(scalar(kernel.stats, LoopScalarReason::TooFew), 2u);  // 1023 iterations for a kernel
        MachineOptions lower = options_for(mode, {"1024", "0"}, true);
        lower.loop_kernel_min = 1023;
        EXPECT_EQ(run_module(*m, lower).stats.kernels, 2u);
    }
}

// The last iteration is out of range: kloop leaves the loop to the scalar
// code, which traps at the same word with the same state.
TEST(LoopKernelVm, AnAccessOutOfRangeTrapsWhereTheScalarLoopTraps) {
    std::unique_ptr<Module> m = squares_module();
    ASSERT_TRUE(m);
    const Outcome reference = run_module(*m, options_for(ExecMode::InOrder, {"6001", "0"}, false));
    ASSERT_TRUE(reference.trap);
    EXPECT_EQ(reference.trap->kind, TrapKind::OutOfBounds);
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(exec_mode_name(mode));
        const Outcome kernel = run_module(*m, options_for(mode, {"6001", "0"}, true));
        expect_same(kernel, reference);
        EXPECT_EQ(scalar(kernel.stats, LoopScalarReason::OutOfRange), 1u);
        EXPECT_EQ(kernel.stats.kernels, 0u);
    }
}

// The handle in r10 names xs, the region the kernel reads: kloop does not
// run the kernel over two views of one region.
TEST(LoopKernelVm, AHandleThatAliasesFallsBack) {
    std::unique_ptr<Module> m = squares_module();
    ASSERT_TRUE(m);
    const Outcome reference = run_module(*m, options_for(ExecMode::InOrder, {"5000", "1"}, false));
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(exec_mode_name(mode));
        const Outcome kernel = run_module(*m, options_for(mode, {"5000", "1"}, true));
        expect_same(kernel, reference);
        EXPECT_EQ(kernel.stats.kernels, 1u);
        EXPECT_EQ(scalar(kernel.stats, LoopScalarReason::Aliasing), 1u);
    }
}

TEST(LoopKernelVm, TheStatsLineCountsByReason) {
    LoopKernelStats s;
    EXPECT_EQ(loop_kernel_stats_text(s), "0 loops run as kernels (0 iterations), 0 ran scalar");
    s.kernels = 2;
    s.iterations = 4194302;
    s.scalar[static_cast<std::size_t>(LoopScalarReason::TooFew)] = 1;
    EXPECT_EQ(loop_kernel_stats_text(s), "2 loops run as kernels (4194302 iterations), 1 ran scalar (1 too few iterations)");
    s.kernels = 1;
    s.scalar[static_cast<std::size_t>(LoopScalarReason::Aliasing)] = 2;
    EXPECT_EQ(loop_kernel_stats_text(s),
              "1 loop run as a kernel (4194302 iterations), 3 ran scalar (1 too few iterations, 2 aliasing)");
}

// --trace: the kloop's record carries its kernel's run on a backend track.
TEST(LoopKernelVm, TheTraceShowsTheKernelsLaunch) {
    std::unique_ptr<Module> m = squares_module();
    ASSERT_TRUE(m);
    PipelineLog log;
    MachineOptions o = options_for(ExecMode::Ooo, {"5000", "0"}, true);
    o.pipeline_log = &log;
    o.interpret_when_idle = false;
    run_module(*m, o);
    unsigned launches = 0;
    for (const InsnRecord& r : log.records) {
        if (r.op != Op::Kloop) continue;
        EXPECT_TRUE(r.long_op);
        EXPECT_GT(r.exec_end_ns, r.exec_start_ns);
        ASSERT_LT(r.track, log.tracks.size());
        EXPECT_EQ(log.tracks[r.track], "cpu");
        ++launches;
    }
    EXPECT_EQ(launches, 2u);
}

// Counts the kernel launches a backend is given, and runs them on the CPU.
class CountingBackend final : public Backend {
public:
    std::string_view name() const override { return "counting"; }
    Ticket submit(const VectorOpArgs& args) override { return cpu_.submit(args); }
    Ticket submit(const KernelLaunch& l) override { return ++launches, cpu_.submit(l); }
    VectorOpResult wait(Ticket t) override { return cpu_.wait(t); }
    void wait_all() override { cpu_.wait_all(); }
    bool run_inline(const KernelLaunch& l, VectorOpResult& r) override {
        if (!cpu_.run_inline(l, r)) return false;
        return ++launches, true;
    }
    unsigned launches = 0;

private:
    CpuBackend cpu_;
};

// The loop is skipped by a branch whose condition comes from a vector op
// still in flight: spec predicts it not taken and issues the kloop, which,
// run only at commit, is squashed without ever launching.
TEST(LoopKernelVm, SpeculationNeverRunsItEarly) {
    std::string source(kSquares);
    const std::string skip = "        vsumi   r7, ys\n        add     r7, r7, r9\n        li      r5, 0\n"
                             "        bne     r7, r5, done\n        li      r1, 0\n        nop\nloop:";
    source.replace(source.find("        li      r1, 0\n        nop\nloop:"),
                   std::string_view("        li      r1, 0\n        nop\nloop:").size(), skip);
    std::unique_ptr<Module> m = assemble_for_loops(source);
    ASSERT_TRUE(m);
    LoopKernel first;
    first.kernel = kernel_index(*m, "body");
    first.induction = 1;
    first.bound = 2;
    first.tested_first = false;
    first.args = {{LoopArg::Kind::Region, 0}, {LoopArg::Kind::Region, 1}};
    add_kloop(*m, {0, "done", first});
    CountingBackend backend;
    MachineOptions o = options_for(ExecMode::Spec, {"5000", "1"}, true);
    o.backend = &backend;
    o.interpret_when_idle = false;
    const Outcome skipped = run_module(*m, o);
    EXPECT_GE(skipped.engine.mispredictions, 1u);  // the kloop was issued on the wrong path
    EXPECT_EQ(skipped.stats.kernels, 0u);
    EXPECT_EQ(skipped.stats.iterations, 0u);
    EXPECT_EQ(backend.launches, 0u);
    expect_same(skipped, run_module(*m, options_for(ExecMode::InOrder, {"5000", "1"}, false)));
}

// --- reductions --------------------------------------------------------------

// sum += xs[i] * k and lo = min(lo, xs[i]) over i in [r1, r2), step 1, tested first.
constexpr std::string_view kSums = R"(
.region xs i32[20000] range -7000, 3
.kernel sums (in x: i32[], i0: i32, iters: i32, k: i32, out part: i32[], out low: i32[])
        .wide
        gid     r1
.end

.proc main
        li      r5, 0
        argi    r1, r5
        li      r5, 1
        argi    r2, r5
        li      r4, 9
        li      r7, 1000000
        li      r8, 3
        li      r9, -2
        nop
loop:
        bge     r1, r2, done
        ld.i32  r3, xs[r1]
        mul     r6, r3, r8
        add     r7, r7, r6
        min     r4, r4, r3
        addi    r1, r1, 1
        jmp     loop
done:
        print   r7
        println
        print   r4
        println
        halt
.end
)";

// Runs `sums` in C++ (its IR above is a stub): lane g sums x[i] * k over its
// chunk of iterations, as the generated kernel would. Stands in for the
// backend until wide kernels run on this branch.
class SumsBackend final : public Backend {
public:
    std::string_view name() const override { return "sums"; }
    Ticket submit(const VectorOpArgs&) override { return 0; }
    Ticket submit(const KernelLaunch& l) override {
        const auto* x = static_cast<const std::int32_t*>(l.args[0].data);
        const auto i0 = static_cast<std::int64_t>(l.args[1].uniform);
        const std::uint64_t iters = l.args[2].uniform, chunk = 4096;
        const auto k = static_cast<std::int64_t>(l.args[3].uniform);
        auto* part = static_cast<std::int64_t*>(l.args[4].data);
        auto* low = static_cast<std::int64_t*>(l.args[5].data);
        for (std::uint64_t g = l.begin; g < l.end; ++g) {
            part[g] = 0;  // each lane starts from its reduction's identity
            low[g] = std::numeric_limits<std::int64_t>::max();
            for (std::uint64_t it = g * chunk; it < std::min(iters, (g + 1) * chunk); ++it) {
                const std::int64_t v = x[i0 + static_cast<std::int64_t>(it)];
                part[g] = sem::add(part[g], sem::mul(v, k));
                low[g] = sem::min(low[g], v);
            }
        }
        ++launches;
        return 1;
    }
    VectorOpResult wait(Ticket) override { return {}; }
    void wait_all() override {}
    unsigned launches = 0;
};

std::unique_ptr<Module> sums_module() {
    std::unique_ptr<Module> m = assemble_for_loops(kSums);
    if (!m) return m;
    Kernel& k = m->kernels[kernel_index(*m, "sums")];
    // The wide types the generated kernels use (the kernel parser reads
    // only narrow ones on this branch).
    for (std::size_t p = 1; p <= 3; ++p) k.params[p].type = ElemType::I64;
    for (std::size_t p = 4; p <= 5; ++p) k.params[p].type = ElemType::I64;
    LoopKernel l;
    l.kernel = kernel_index(*m, "sums");
    l.induction = 1;
    l.bound = 2;
    l.compare = LoopCompare::Lt;
    l.tested_first = true;
    l.chunk = 4096;
    l.args = {{LoopArg::Kind::Region, 0},   {LoopArg::Kind::IntReg, 1},   {LoopArg::Kind::Iterations, 0},
              {LoopArg::Kind::IntReg, 8},   {LoopArg::Kind::Partials, 0}, {LoopArg::Kind::Partials, 1}};
    l.reductions = {{false, 7, ReduceOp::Add}, {false, 4, ReduceOp::Min}};
    l.accesses = {{0, false, 1, 0, false, 0}};
    add_kloop(*m, {0, "done", l});
    return m;
}

// Inner loops whose branches take every form: each of the eight branch
// opcodes as an inner loop's test at its top, as a break and as a continue
// in its middle (the kernel tests "taken"), and as a bottom test (it tests
// "not taken"), with registers that only some steps write (last values, their
// mask bits merged per run). Run as kernels, they leave what the scalar loops
// leave.
TEST(LoopKernelVm, InnerLoopBranchesOfEveryFormLeaveWhatTheScalarLoopLeaves) {
    // Each form's words: {taken when the loop should leave (top test, break,
    // continue), on r5 (counts up from 0) or r4/r7 (the step's values)}.
    const std::string top[] = {"bge r5, r6", "blt r6, r5", "bgeu r5, r6", "bltu r6, r5",
                               "beq r5, r6", "bne r5, r12", "bz r5", "bnz r5"};
    const std::string mid[] = {"bge r4, r8", "blt r8, r4", "bgeu r4, r8", "bltu r8, r4",
                               "beq r4, r8", "bne r4, r8", "bz r7", "bnz r7"};
    // Taken while the bottom-tested loop goes on: r11 counts up from 1, r15 in 1..5.
    const std::string bottom[] = {"blt r11, r15", "bge r15, r11", "bltu r11, r15", "bgeu r15, r11",
                                  "bne r11, r15", "beq r11, r15", "bnz r16", "bz r16"};
    for (int k = 0; k < 8; ++k) {
        const std::string source =
            ".region ys i64[3000]\n"
            ".proc main\n"
            "        li r1, 0\n"
            "        li r2, 3000\n"
            "        li r6, 40\n"
            "        li r8, 90\n"
            "        li r9, 97\n"
            "        li r17, 3\n"
            "        li r18, 5\n"
            "loop:   bge r1, r2, done\n"
            "        muli r3, r1, 7919\n"
            "        rem r3, r3, r9\n"          // 0..96, by lane
            "        rem r12, r3, r18\n"
            "        addi r15, r12, 1\n"
            "        li r5, 0\n"
            "inner:  " + top[k] + ", idone\n"
            "        addi r5, r5, 1\n"
            "        muli r4, r5, 3\n"
            "        add r4, r4, r3\n"
            "        rem r7, r4, r17\n"
            "        " + mid[(k + 3) % 8] + ", idone\n"
            "        itof f1, r4\n"
            "        " + mid[(k + 5) % 8] + ", inner\n"  // continue
            "        addi r10, r4, 1\n"
            "        fadd f2, f1, f1\n"
            "        jmp inner\n"
            "idone:  li r11, 0\n"
            "inner2: addi r11, r11, 1\n"
            "        sub r16, r15, r11\n"
            "        " + bottom[k] + ", inner2\n"
            "        add r13, r5, r11\n"
            "        st.i64 ys[r1], r13\n"
            "        addi r1, r1, 1\n"
            "        jmp loop\n"
            "done:   halt\n"
            ".end\n";
        SCOPED_TRACE(source);
        AssembleOptions ao;
        ao.filename = "forms.pasm";
        const AssembleResult a = assemble(source, ao);
        ASSERT_TRUE(a.ok());
        ASSERT_EQ(a.loop_report.size(), 1u);  // the inner loops go into the kernel
        EXPECT_NE(a.loop_report[0].find("turned into kernel main.loop"), std::string::npos) << a.loop_report[0];
        const Outcome reference = run_module(*a.module, options_for(ExecMode::InOrder, {}, false));
        ASSERT_FALSE(reference.trap);
        const Outcome kernel = run_module(*a.module, options_for(ExecMode::InOrder, {}, true));
        expect_same(kernel, reference);
        EXPECT_EQ(kernel.stats.kernels, 1u);
    }
}

TEST(LoopKernelVm, ReductionsAreCombinedInLaneOrderFromTheRegister) {
    std::unique_ptr<Module> m = sums_module();
    ASSERT_TRUE(m);
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(exec_mode_name(mode));
        // 12345 iterations from 100: four lanes, the last one short.
        const std::vector<std::string> args = {"100", "12445"};
        const Outcome reference = run_module(*m, options_for(mode, args, false));
        SumsBackend backend;
        MachineOptions o = options_for(mode, args, true);
        o.backend = &backend;
        const Outcome kernel = run_module(*m, o);
        expect_same(kernel, reference);
        EXPECT_EQ(backend.launches, 1u);
        EXPECT_EQ(kernel.stats.iterations, 12344u);
        EXPECT_EQ(reference.regs.r[4], -7000 + 3 * 100);  // the smallest element read
    }
}

// A divisor register that is 0: the scalar loop runs (and traps where it would).
TEST(LoopKernelVm, AZeroDivisorFallsBack) {
    std::unique_ptr<Module> m = sums_module();
    ASSERT_TRUE(m);
    m->loop_kernels[0].divisors = {5};  // r5 is 1 when the loop starts
    SumsBackend backend;
    MachineOptions o = options_for(ExecMode::InOrder, {"100", "12445"}, true);
    o.backend = &backend;
    EXPECT_EQ(run_module(*m, o).stats.kernels, 1u);
    m->loop_kernels[0].divisors = {0};  // r0 is 0
    const Outcome zero = run_module(*m, o);
    EXPECT_EQ(zero.stats.kernels, 0u);
    EXPECT_EQ(scalar(zero.stats, LoopScalarReason::DivisorZero), 1u);
}

TEST(LoopKernelVm, ALoopThatWouldWrapStaysScalar) {
    std::unique_ptr<Module> m = sums_module();
    ASSERT_TRUE(m);
    m->loop_kernels[0].compare = LoopCompare::Ne;
    m->loop_kernels[0].step = 2;  // from 100 by 2 never meets 12445 (the scalar loop's own test still ends it)
    SumsBackend backend;
    MachineOptions o = options_for(ExecMode::InOrder, {"100", "12445"}, true);
    o.backend = &backend;
    const Outcome wraps = run_module(*m, o);
    EXPECT_EQ(scalar(wraps.stats, LoopScalarReason::WouldWrap), 1u);
    EXPECT_EQ(backend.launches, 0u);
}

// A CpuBackend that counts the launches it gets (kloop's segments). It
// folds reductions in groups of lanes (Backend::folds_groups) only when
// told to: by default kloop folds each lane's partial itself.
class SegmentCountingBackend final : public Backend {
public:
    explicit SegmentCountingBackend(bool folds = false) : folds_(folds) {}
    std::string_view name() const override { return "cpu"; }
    Ticket submit(const VectorOpArgs& args) override { return cpu_.submit(args); }
    Ticket submit(const KernelLaunch& launch) override {
        ++launches;
        return cpu_.submit(launch);
    }
    VectorOpResult wait(Ticket t) override { return cpu_.wait(t); }
    void wait_all() override { cpu_.wait_all(); }
    bool run_inline(const KernelLaunch& launch, VectorOpResult& result) override {
        if (!cpu_.run_inline(launch, result)) return false;
        ++launches;
        return true;
    }
    std::optional<BackendCapabilities> capabilities() const override { return cpu_.capabilities(); }
    bool runs_on_host_cores(const KernelLaunch& launch) const override { return cpu_.runs_on_host_cores(launch); }
    bool folds_groups(const KernelLaunch& launch) const override { return folds_ && cpu_.folds_groups(launch); }
    unsigned launches = 0;

private:
    bool folds_;
    CpuBackend cpu_;
};

// `source` assembled as file `name`, with its loop kernels.
std::unique_ptr<Module> assemble_with_loop_kernels(const std::string& source, const char* name) {
    AssembleOptions ao;
    ao.filename = name;
    AssembleResult a = assemble(source, ao);
    EXPECT_TRUE(a.ok());
    if (!a.ok()) return nullptr;
    for (const std::string& line : a.loop_report) EXPECT_NE(line.find("turned into kernel"), std::string::npos) << line;
    return std::make_unique<Module>(std::move(*a.module));
}

// In every mode, with loop kernels on a CPU backend that counts launches:
// what the scalar run leaves, `kernels` loops run as kernels in `launches`
// launches.
void expect_scalar_results_in(const Module& m, std::uint64_t kernels, unsigned launches) {
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(exec_mode_name(mode));
        const Outcome reference = run_module(m, options_for(mode, {}, false));
        ASSERT_FALSE(reference.trap);
        SegmentCountingBackend backend;
        MachineOptions o = options_for(mode, {}, true);
        o.backend = &backend;
        const Outcome kernel = run_module(m, o);
        expect_same(kernel, reference);
        EXPECT_EQ(kernel.stats.kernels, kernels);
        EXPECT_EQ(backend.launches, launches);
    }
}

// Reductions and last values over more iterations than one segment holds:
// kloop folds segment after segment (a later segment's last writer wins),
// and the result is the scalar loop's, the reassociated fadd's too (its
// values are exact, so any order gives the same sum).
TEST(LoopKernelVm, ReductionsFoldAcrossSegments) {
    const std::string source = R"(
.module segments
.equ N, 300001
.region xs i64[N] range -150000, 1
.region fs f64[N] range 0.5, 1.0
.proc main
        li      r2, N
        li      r3, 7               ; add
        li      r4, 0               ; min
        li      r5, 0               ; max
        lif     f3, 0.25            ; fadd, in order
        li      r1, 0
loop:   bge     r1, r2, done
        ld.i64  r6, xs[r1]
        mul     r6, r6, r6
        add     r3, r3, r6
        ld.i64  r7, xs[r1]
        min     r4, r4, r7
        max     r5, r5, r7
        ld.f64  f1, fs[r1]
        fadd    f3, f3, f1
        bnz     r7, skip            ; r8 and f4 written by iteration 150000 only (xs = 0 there)
        addi    r8, r1, 1000
        fadd    f4, f1, f1
skip:   addi    r1, r1, 1
        jmp     loop
done:   call    sum
        halt
.end
.proc sum
        .reassociate
        lif     f5, 1.0
        li      r1, 0
again:  bge     r1, r2, out
        ld.f64  f1, fs[r1]
        fadd    f5, f5, f1
        addi    r1, r1, 1
        jmp     again
out:    ret
.end
)";
    const std::unique_ptr<Module> m = assemble_with_loop_kernels(source, "segments.pasm");
    ASSERT_TRUE(m);
    ASSERT_EQ(m->loop_kernels.size(), 2u);
    std::vector<ReduceOp> ops;
    for (const LoopKernel& l : m->loop_kernels)
        for (const LoopReduction& r : l.reductions) ops.push_back(r.op);
    EXPECT_EQ(ops, (std::vector<ReduceOp>{ReduceOp::Add, ReduceOp::Min, ReduceOp::Max, ReduceOp::Fadd, ReduceOp::Last,
                                          ReduceOp::Last, ReduceOp::LastMask, ReduceOp::FaddAnyOrder}));
    EXPECT_EQ(run_module(*m, options_for(ExecMode::InOrder, {}, false)).regs.r[8], 151000);
    // 300000 iterations each: the first loop's 7 partials a lane make
    // segments of 16384 lanes (19), the second's one of 131072 (3).
    expect_scalar_results_in(*m, 2, 19 + 3);
}

// A backend that folds reductions in groups of lanes (the CPU backend, in
// one launch) and one that stores a partial a lane (kloop folds them, in
// segments) give the same bits in every mode: a `.reassociate` fadd over
// inexact values, whose sum shows any change in the order of its adds, and
// integer folds, which are also the scalar loop's.
TEST(LoopKernelVm, AFoldingBackendGivesTheBitsOfPartialsFoldedByKloop) {
    const std::string source = R"(
.module folds
.equ N, 300001
.region xs i64[N] range -150000, 7
.region fs f64[N] range 0.1, 0.37
.proc main
        li      r2, N
        li      r3, 7               ; add
        li      r4, 0               ; min
        li      r5, 0               ; max
        li      r1, 0
loop:   bge     r1, r2, done
        ld.i64  r6, xs[r1]
        mul     r7, r6, r6
        add     r3, r3, r7
        min     r4, r4, r6
        max     r5, r5, r6
        addi    r1, r1, 1
        jmp     loop
done:   call    sum
        halt
.end
.proc sum
        .reassociate
        lif     f5, 1.0
        lif     f6, 55500.0         ; cubes about the middle cancel: the sum shows its order
        li      r1, 0
again:  bge     r1, r2, out
        ld.f64  f1, fs[r1]
        fsub    f1, f1, f6
        fmul    f2, f1, f1
        fmul    f2, f2, f1
        fadd    f5, f5, f2
        addi    r1, r1, 1
        jmp     again
out:    ret
.end
)";
    const std::unique_ptr<Module> m = assemble_with_loop_kernels(source, "folds.pasm");
    ASSERT_TRUE(m);
    ASSERT_EQ(m->loop_kernels.size(), 2u);
    for (ExecMode mode : kModes) {
        SCOPED_TRACE(exec_mode_name(mode));
        const Outcome scalar_run = run_module(*m, options_for(mode, {}, false));
        SegmentCountingBackend folding(true), storing(false);
        MachineOptions o = options_for(mode, {}, true);
        o.backend = &folding;
        const Outcome folded = run_module(*m, o);
        o.backend = &storing;
        const Outcome stored = run_module(*m, o);
        expect_same(folded, stored);
        EXPECT_EQ(folded.stats.kernels, 2u);
        EXPECT_EQ(folding.launches, 2u);                 // one launch a loop
        EXPECT_EQ(storing.launches, 10u + 3u);           // segments of 32768 lanes (3 partials a lane), of 131072 (1)
        for (unsigned r : {3u, 4u, 5u}) EXPECT_EQ(folded.regs.r[r], scalar_run.regs.r[r]) << "r" << r;
        EXPECT_NE(folded.regs.f[5], scalar_run.regs.f[5]);  // or the order of the adds could not show
    }
}

// Last values are recorded only for a tail of the lanes (vm/loop_kernel_plain.h):
// the rest run a kernel without them, and earlier lanes run again, recording,
// only when the tail did not write a register. In every case the registers are
// the scalar loop's. `first_write` is the one iteration that writes r8 (the
// others write r7 and f4 only); launches counts what the CPU backend got.
TEST(LoopKernelVm, LastValuesAreRecordedForATailAndFoundFurtherBackOnlyWhenNeeded) {
    struct Case {
        const char* what;
        const char* first_write;  // the iteration that writes r8: "99990" (in the tail), "5", or "-1" (none)
        const char* ys_access;    // "out" (st only) or "inout" (the loop also reads ys: no plain kernel)
        unsigned launches;
    };
    // 100001 iterations, 100000 lanes; 2 partials (r8, the mask) a lane: a
    // tail of 2048 lanes, then earlier lanes 16384 at a time (6 launches for
    // the other 97952), or without a plain kernel segments of 65536 (so 2
    // launches, where the plain kernel would take 8 to find r8 at lane 5).
    const Case cases[] = {
        {"written in the tail", "99990", "out", 2},
        {"written early: earlier lanes again, last first", "5", "out", 2 + 6},
        {"never written: every earlier lane again", "-1", "out", 2 + 6},
        {"the loop reads what it writes: recorded everywhere", "5", "inout", 2},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        const bool inout = std::string(c.ys_access) == "inout";
        const std::string source = std::string(R"(
.module tail
.equ N, 100001
.region xs i64[N] range 0, 3
.region ys i64[N]
.proc main
        li      r2, N
        li      r8, -77
        li      r9, )") + c.first_write + R"(
        li      r1, 0
loop:   bge     r1, r2, done
        ld.i64  r7, xs[r1]
        itof    f4, r7
        bne     r1, r9, skip
        addi    r8, r7, 1
skip:   )" + (inout ? "ld.i64  r6, ys[r1]\n        add     r7, r7, r6\n        " : "") + R"(st.i64  ys[r1], r7
        addi    r1, r1, 1
        jmp     loop
done:   halt
.end
)";
        const std::unique_ptr<Module> m = assemble_with_loop_kernels(source, "tail.pasm");
        ASSERT_TRUE(m);
        expect_scalar_results_in(*m, 1, c.launches);
    }
}

}  // namespace
}  // namespace polymer::test
