// The embedding API (include/polymer/polymer.h) as a user calls it: only the
// public header is included here.
#include <gtest/gtest.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "polymer/polymer.h"

namespace {

using polymer::ExecutionMode;
using polymer::Instance;
using polymer::InstanceOptions;
using polymer::Program;
using polymer::ProgramError;
using polymer::RunOutcome;

// Doubles `xs` into `ys` with a vector op, sums it into f1 and r1 counts it.
constexpr const char* kDouble = R"(
.region xs f64[4] = 1, 2, 3, 4
.region ys f64[4]
.region counts i32[2]
.proc main
        len     r1, xs
        alloc   ys, r1
        vadd    ys, xs, xs
        vsum    f1, ys
        li      r2, 0
        li      r3, 7
        st.i32  counts[r2], r3
        prints  "doubled\n"
        halt
.end
.proc divide
        div     r1, r1, r2
        halt
.end
.proc spin
again:  jmp     again
.end
)";

InstanceOptions cpu_options(std::ostringstream& out) {
    InstanceOptions o;
    o.backend = polymer::BackendChoice::cpu;
    o.output = polymer::write_to(out);
    return o;
}

// std::string of a ProgramError's what(), or "" when `f` does not throw one.
template <class F>
std::string error_of(F&& f) {
    try {
        f();
    } catch (const ProgramError& e) {
        return e.what();
    }
    return "";
}

TEST(EmbedApi, RunsAProgramAndReadsItsRegionsAndRegisters) {
    std::ostringstream out;
    Instance vm(Program::assemble(kDouble, "double.pasm"), cpu_options(out));
    RunOutcome done = vm.run();
    ASSERT_TRUE(done.ok()) << done.message;
    EXPECT_GT(done.steps, 5u);
    EXPECT_EQ(out.str(), "doubled\n");
    EXPECT_EQ(vm.read<double>("ys"), (std::vector<double>{2, 4, 6, 8}));
    EXPECT_EQ(vm.float_register(1), 20.0);
    EXPECT_EQ(vm.int_register(1), 4);
    EXPECT_EQ(vm.region<std::int32_t>("counts")[0], 7);
}

TEST(EmbedApi, WritesRegionsOfAnyLengthBeforeARunInEveryMode) {
    for (ExecutionMode mode : {ExecutionMode::in_order, ExecutionMode::frames, ExecutionMode::ooo, ExecutionMode::spec}) {
        std::ostringstream out;
        InstanceOptions o = cpu_options(out);
        o.exec = mode;
        Instance vm(Program::assemble(kDouble), o);
        std::vector<double> xs(1000);
        for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = static_cast<double>(i);
        vm.write("xs", xs);
        ASSERT_TRUE(vm.run().ok());
        std::vector<double> ys = vm.read<double>("ys");
        ASSERT_EQ(ys.size(), 1000u);
        EXPECT_EQ(ys[999], 1998.0);
        EXPECT_EQ(vm.float_register(1), 999.0 * 1000.0);
        // A span writes in place; the next run sees it.
        vm.region<double>("xs")[0] = 0.5;
        ASSERT_TRUE(vm.run().ok());
        EXPECT_EQ(vm.read<double>("ys")[0], 1.0);
    }
}

// A loop of launches runs as rounds or launch by launch: the same regions
// and registers either way, in every mode.
TEST(EmbedApi, ALoopOfLaunchesGivesTheSameResultAsRoundsOrOneByOne) {
    constexpr const char* kLoop = R"(
.region ys i32[100000]
.kernel bump (inout y: i32[i], k: i32)
        gid     r0
        ld      r1, y[r0]
        ldp     r2, k
        add     r1, r1, r2
        add     r1, r1, r0
        st      y[r0], r1
.end
.proc main
        li      r9, 100000
        li      r3, 5
        li      r10, 0
        li      r11, 30
again:  launch  bump, r9, ys, r3
        addi    r10, r10, 1
        blt     r10, r11, again
        halt
.end
)";
    for (ExecutionMode mode : {ExecutionMode::in_order, ExecutionMode::ooo}) {
        std::vector<std::vector<std::int32_t>> ys;
        for (bool rounds : {true, false}) {
            std::ostringstream out;
            InstanceOptions o = cpu_options(out);
            o.exec = mode;
            o.launch_rounds = rounds;
            Instance vm(Program::assemble(kLoop), o);
            RunOutcome done = vm.run();
            ASSERT_TRUE(done.ok()) << done.message;
            EXPECT_EQ(vm.int_register(10), 30);
            ys.push_back(vm.read<std::int32_t>("ys"));
        }
        EXPECT_EQ(ys[0], ys[1]);
        EXPECT_EQ(ys[0][99999], 30 * (5 + 99999));
    }
}

TEST(EmbedApi, NamesWhatIsWrongWithARegionAccess) {
    std::ostringstream out;
    Instance vm(Program::assemble(kDouble), cpu_options(out));
    EXPECT_EQ(error_of([&] { vm.region<double>("zs"); }),
              "no region named 'zs' in <input> (it has xs, ys, counts)");
    EXPECT_EQ(error_of([&] { vm.read<float>("xs"); }), "region 'xs' holds f64, not f32");
    EXPECT_EQ(error_of([&] { vm.write<std::int64_t>("counts", std::vector<std::int64_t>{1}); }),
              "region 'counts' holds i32, not i64");
    EXPECT_EQ(error_of([&] { vm.run("nowhere"); }), "no procedure named 'nowhere' in <input>");
    EXPECT_EQ(error_of([&] { vm.set_int_register(32, 1); }), "no register r32 (registers are r0..r31)");
    EXPECT_EQ(error_of([&] { vm.float_register(40); }), "no register f40 (registers are f0..f31)");
    InstanceOptions small = cpu_options(out);
    small.memory_limit = 1024;
    Instance tight(Program::assemble(kDouble), small);
    EXPECT_NE(error_of([&] { tight.write("xs", std::vector<double>(1000)); }).find("region 'xs': "), std::string::npos);
    EXPECT_EQ(tight.read<double>("xs").size(), 4u) << "a refused write leaves the region as it was";
}

TEST(EmbedApi, ReportsAssemblyAndLoadErrorsWithWhere) {
    const std::string e = error_of([] { Program::assemble(".proc main\n  add r32, r1, r2\n.end\n", "bad.pasm"); });
    EXPECT_NE(e.find("bad.pasm:2:7: error: "), std::string::npos) << e;
    EXPECT_NE(error_of([] { Program::load({}, "empty.pbc"); }).find("empty.pbc: error: "), std::string::npos);
    EXPECT_NE(error_of([] { Program::from_file("/nonexistent/x.pasm"); }).find("cannot read '/nonexistent/x.pasm'"),
              std::string::npos);
}

TEST(EmbedApi, TrapsAndStepLimitsAreOutcomesNotExceptions) {
    std::ostringstream out;
    Instance vm(Program::assemble(kDouble, "double.pasm"), cpu_options(out));
    vm.set_int_register(1, 10);
    vm.set_int_register(2, 0);
    RunOutcome trapped = vm.run("divide");
    EXPECT_EQ(trapped.status, RunOutcome::Status::trapped);
    EXPECT_EQ(trapped.trap, "division-by-zero");
    EXPECT_NE(trapped.message.find("double.pasm:17:"), std::string::npos) << trapped.message;
    vm.set_int_register(2, 5);
    EXPECT_TRUE(vm.run("divide").ok());
    EXPECT_EQ(vm.int_register(1), 2);

    InstanceOptions limited = cpu_options(out);
    limited.max_steps = 1000;
    Instance slow(Program::assemble(kDouble), limited);
    RunOutcome stopped = slow.run("spin");
    EXPECT_EQ(stopped.status, RunOutcome::Status::step_limit);
    EXPECT_EQ(stopped.trap, "step-limit");
}

TEST(EmbedApi, ProgramsRoundTripThroughBytecode) {
    Program p = Program::assemble(kDouble, "double.pasm");
    EXPECT_EQ(p.procedures(), (std::vector<std::string>{"main", "divide", "spin"}));
    ASSERT_EQ(p.regions().size(), 3u);
    EXPECT_EQ(p.regions()[0].type, polymer::ElementType::f64);
    EXPECT_EQ(polymer::to_string(p.regions()[2].type), "i32");
    Program again = Program::load(p.bytecode());
    EXPECT_EQ(again.bytecode(), p.bytecode());
    std::ostringstream out;
    Instance vm(again, cpu_options(out));
    ASSERT_TRUE(vm.run().ok());
    EXPECT_EQ(vm.float_register(1), 20.0);
}

TEST(EmbedApi, AnOutputCallbackThatThrowsReachesTheCaller) {
    InstanceOptions o;
    o.backend = polymer::BackendChoice::cpu;
    o.output = [](std::string_view) { throw std::runtime_error("disk full"); };
    Instance vm(Program::assemble(kDouble), o);
    EXPECT_THROW(vm.run(), std::runtime_error);
    EXPECT_EQ(vm.read<double>("ys")[3], 8.0) << "the run itself finished";
}

}  // namespace
