// Every trap: its kind, the pc and source position it names, the machine
// state it leaves, and the one-line message polymer-run prints.
#include <gtest/gtest.h>

#include "assembler/disassembler.h"
#include "vm_test_util.h"

namespace polymer::test {
namespace {

std::string message(const ProgramRun& run) {
    if (!run.result.trap) return "(no trap)";
    return format_trap(*run.module, *run.result.trap, disassemble_word(*run.module, run.result.trap->pc));
}

TEST(Traps, DivisionByZeroNamesProcPcLineAndInstruction) {
    ProgramRun run = run_source(R"(.proc main
        li r1, 7
        li r2, 0
        prints "before\n"
        div r3, r1, r2
        halt
.end
)");
    ASSERT_EQ(run.result.status, RunStatus::Trapped);
    EXPECT_EQ(run.trap_kind(), TrapKind::DivisionByZero);
    EXPECT_EQ(run.result.trap->pc, 3u);
    EXPECT_EQ(run.machine->pc(), 3u) << "state is saved at the faulting word";
    EXPECT_EQ(message(run), "trap: division-by-zero in proc 'main' at pc 3 (test.pasm:5:9): div r3, r1, r2");
    EXPECT_EQ(*run.output, "before\n") << "output before the trap is kept";
    EXPECT_EQ(run.r(3), 0) << "the faulting instruction writes nothing";
}

TEST(Traps, EveryDivisionOpTraps) {
    for (const char* op : {"div", "rem", "divu", "remu"}) {
        ProgramRun run = run_source(in_main(std::string("        li r1, 1\n        ") + op + " r3, r1, r2"));
        EXPECT_EQ(run.trap_kind(), TrapKind::DivisionByZero) << op;
    }
}

TEST(Traps, OutOfBoundsLoadStoreAndPrintr) {
    const char* regions = ".region xs i32[3]\n";
    ProgramRun load = run_source(in_main("        li r2, 3\n        ld.i32 r1, xs[r2]", regions));
    EXPECT_EQ(load.trap_kind(), TrapKind::OutOfBounds);
    EXPECT_EQ(message(load),
              "trap: out-of-bounds in proc 'main' at pc 1 (test.pasm:5:9): ld.i32 r1, xs[r2]: index 3 is outside "
              "'xs' (length 3)");
    ProgramRun negative = run_source(in_main("        li r2, -1\n        st.i32 xs[r2], r1", regions));
    EXPECT_EQ(negative.trap_kind(), TrapKind::OutOfBounds);
    ProgramRun slice = run_source(in_main("        li r2, 2\n        li r3, 2\n        printr xs, r2, r3", regions));
    EXPECT_EQ(slice.trap_kind(), TrapKind::OutOfBounds);
    EXPECT_EQ(*slice.output, "") << "nothing of a bad slice is printed";
    ProgramRun empty = run_source(in_main("        li r2, 3\n        li r3, 0\n        printr xs, r2, r3", regions));
    EXPECT_TRUE(empty.halted()) << "an empty slice at the end is fine";
    EXPECT_EQ(*empty.output, "[]");
    ProgramRun freed = run_source(in_main("        free xs\n        li r2, 0\n        ld.i32 r1, xs[r2]", regions));
    EXPECT_EQ(freed.trap_kind(), TrapKind::OutOfBounds);
}

TEST(Traps, ValueStackOverflowAndUnderflow) {
    MachineOptions small;
    small.value_stack_slots = 4;
    ProgramRun over = run_source(in_main("loop:   push r1\n        jmp loop"), small);
    EXPECT_EQ(over.trap_kind(), TrapKind::StackOverflow);
    EXPECT_EQ(over.machine->value_depth(), 4u);
    ProgramRun deep = run_source(in_main("loop:   pushf f1\n        jmp loop"));
    EXPECT_EQ(deep.trap_kind(), TrapKind::StackOverflow);
    EXPECT_EQ(deep.machine->value_depth(), 65536u) << "the documented default";
    ProgramRun under = run_source(in_main("        push r1\n        pop r1\n        pop r2"));
    EXPECT_EQ(under.trap_kind(), TrapKind::StackUnderflow);
    EXPECT_EQ(under.result.trap->pc, 2u);
    ProgramRun underf = run_source(in_main("        popf f2"));
    EXPECT_EQ(underf.trap_kind(), TrapKind::StackUnderflow);
}

TEST(Traps, CallDepth) {
    const char* source = ".proc down\n        call down\n        ret\n.end\n.proc main\n        call down\n        halt\n.end\n";
    ProgramRun run = run_source(source);
    EXPECT_EQ(run.trap_kind(), TrapKind::CallDepth);
    EXPECT_EQ(run.machine->call_depth(), 10000u) << "the documented limit";
    EXPECT_EQ(message(run).substr(0, 58), "trap: call-depth in proc 'down' at pc 0 (test.pasm:2:9): c");
    MachineOptions small;
    small.call_depth_limit = 3;
    ProgramRun limited = run_source(source, small);
    EXPECT_EQ(limited.trap_kind(), TrapKind::CallDepth);
    EXPECT_EQ(limited.machine->call_depth(), 3u);
}

TEST(Traps, BadAllocation) {
    const char* regions = ".region buf f64[1]\n";
    ProgramRun negative = run_source(in_main("        li r1, -1\n        alloc buf, r1", regions));
    EXPECT_EQ(negative.trap_kind(), TrapKind::BadAllocation);
    MachineOptions small;
    small.memory_limit = 1024;
    ProgramRun huge = run_source(in_main("        li r1, 1000\n        alloc buf, r1", regions), small);
    EXPECT_EQ(huge.trap_kind(), TrapKind::BadAllocation);
    EXPECT_EQ(huge.machine->regions()[0].length, 1u) << "a failed alloc leaves the region as it was";
    ProgramRun fits = run_source(in_main("        li r1, 128\n        alloc buf, r1", regions), small);
    EXPECT_TRUE(fits.halted()) << "128 doubles are exactly 1024 bytes (the old storage is released)";
}

TEST(Traps, VectorOperandMismatches) {
    ProgramRun length = run_source(in_main("        vadd zs, xs, short", ".region xs f32[4]\n.region zs f32[4]\n.region short f32[3]\n"));
    EXPECT_EQ(length.trap_kind(), TrapKind::LengthMismatch);
    EXPECT_FALSE(length.result.trap->detail.empty());
    // Lengths are only known at run time once alloc has changed one.
    ProgramRun resized = run_source(in_main("        li r1, 2\n        alloc xs, r1\n        vcopy zs, xs",
                                     ".region xs i32[4]\n.region zs i32[4]\n"));
    EXPECT_EQ(resized.trap_kind(), TrapKind::LengthMismatch);
}

TEST(Traps, StepLimit) {
    MachineOptions limited;
    limited.max_steps = 1000;
    ProgramRun run = run_source(in_main("loop:   addi r1, r1, 1\n        jmp loop"), limited);
    EXPECT_EQ(run.trap_kind(), TrapKind::StepLimit);
    // The budget is checked at branches and calls: the first one past 1000 steps traps.
    EXPECT_EQ(run.result.steps, 1002u);
    EXPECT_EQ(run.r(1), 501);
    EXPECT_EQ(run.result.trap->pc, 1u);
    ProgramRun recursion = run_source(".proc f\n        call f\n        ret\n.end\n.proc main\n        call f\n        halt\n.end\n",
                               limited);
    EXPECT_EQ(recursion.trap_kind(), TrapKind::StepLimit) << "calls are counted too";
    ProgramRun enough = run_source(in_main("        li r1, 0\n        li r2, 10\nloop:   addi r1, r1, 1\n        blt r1, r2, loop"),
                            limited);
    EXPECT_TRUE(enough.halted());
}

TEST(Traps, LaunchRunsInsteadOfTrapping) {
    ProgramRun run = run_source(R"(
.region xs f32[4]
.region ys f32[4]
.region zs f32[4]
.kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)
        gid     r0
        ldf     f0, x[r0]
        ldf     f1, y[r0]
        ldpf    f2, a
        ffma    f3, f2, f0, f1
        stf     z[r0], f3
.end
.proc main
        li r1, 4
        launch saxpy, r1, xs, ys, zs, f1
        halt
.end
)");
    // Launch now runs (tests/vm/launch_test.cpp covers it); it must not trap.
    EXPECT_TRUE(run.halted()) << (run.result.trap ? message(run) : "");
}

TEST(Traps, FormatWithoutLineTable) {
    Module m;
    m.source_file = "prog.pbc";
    m.code = {make_word(static_cast<std::uint8_t>(Op::Halt))};
    m.procs = {{"main", 0, 1}};
    Trap t{TrapKind::StepLimit, 0, ""};
    EXPECT_EQ(format_trap(m, t), "trap: step-limit in proc 'main' at pc 0 (prog.pbc): halt");
}

}  // namespace
}  // namespace polymer::test
