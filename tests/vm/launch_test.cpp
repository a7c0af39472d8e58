// `launch` in the interpreter: arguments and uniforms reach the kernel, later
// instructions see its writes, and a bad count or uniform traps `bad-launch`
// with the source position.
#include <gtest/gtest.h>

#include <string>

#include "assembler/disassembler.h"
#include "vm/trap.h"
#include "vm_test_util.h"

namespace polymer::test {
namespace {

const char* kSaxpy =
    ".region xs f32[] = 1, 2, 3, 4\n"
    ".region ys f32[] = 10, 20, 30, 40\n"
    ".region zs f32[4]\n"
    ".kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)\n"
    "        gid     r0\n"
    "        ldf     f0, x[r0]\n"
    "        ldf     f1, y[r0]\n"
    "        ldpf    f2, a\n"
    "        ffma    f3, f2, f0, f1\n"
    "        stf     z[r0], f3\n"
    ".end\n";

const char* kAddI =
    ".region ns i32[] = 1, 2, 3\n"
    ".kernel addi (inout n: i32[i], k: i32)\n"
    "        gid     r0\n"
    "        ld      r1, n[r0]\n"
    "        ldp     r2, k\n"
    "        add     r1, r1, r2\n"
    "        st      n[r0], r1\n"
    ".end\n";

std::string message(const ProgramRun& run) {
    return format_trap(*run.module, *run.result.trap, disassemble_word(*run.module, run.result.trap->pc));
}

TEST(Launch, SaxpyResultsAreSeenByScalarCodeAndPrint) {
    ProgramRun run = run_source(in_main("        li r1, 4\n        lif f1, 2.0\n"
                                        "        launch saxpy, r1, xs, ys, zs, f1\n"
                                        "        li r2, 3\n        ld.f32 f5, zs[r2]\n        li r2, 0\n        li r3, 4\n        printr zs, r2, r3",
                                        kSaxpy));
    ASSERT_TRUE(run.halted()) << (run.result.trap ? message(run) : "");
    EXPECT_DOUBLE_EQ(run.f(5), 48.0);  // 2 * 4 + 40
    EXPECT_NE(run.output->find("12"), std::string::npos) << *run.output;
    EXPECT_EQ(run.machine->kernels_launched(), 1u);
}

TEST(Launch, PartialCountLeavesTheRestAndWaitFenceAreHarmless) {
    ProgramRun run = run_source(in_main("        li r1, 2\n        lif f1, 1.0\n"
                                        "        launch saxpy, r1, xs, ys, zs, f1\n        fence\n        wait\n"
                                        "        li r2, 1\n        ld.f32 f5, zs[r2]\n"
                                        "        li r2, 2\n        ld.f32 f6, zs[r2]",
                                        kSaxpy));
    ASSERT_TRUE(run.halted());
    EXPECT_DOUBLE_EQ(run.f(5), 22.0);
    EXPECT_DOUBLE_EQ(run.f(6), 0.0);
}

TEST(Launch, IntUniformAndZeroCount) {
    ProgramRun run = run_source(in_main("        li r1, 3\n        li r3, -5\n        launch addi, r1, ns, r3\n"
                                        "        li r1, 0\n        launch addi, r1, ns, r3\n"
                                        "        li r2, 2\n        ld.i32 r4, ns[r2]",
                                        kAddI));
    ASSERT_TRUE(run.halted()) << (run.result.trap ? message(run) : "");
    EXPECT_EQ(run.r(4), -2);
    EXPECT_EQ(run.machine->kernels_launched(), 2u);
}

TEST(Launch, NegativeCountTrapsBadLaunchWithPosition) {
    ProgramRun run = run_source(in_main("        li r1, -1\n        li r3, 1\n        launch addi, r1, ns, r3", kAddI));
    ASSERT_EQ(run.trap_kind(), TrapKind::BadLaunch);
    const std::string m = message(run);
    EXPECT_NE(m.find("trap: bad-launch in proc 'main'"), std::string::npos) << m;
    EXPECT_NE(m.find("(test.pasm:"), std::string::npos) << m;
    EXPECT_NE(m.find("count -1 is negative"), std::string::npos) << m;
}

TEST(Launch, CountOverTheLimitTraps) {
    ProgramRun run = run_source(in_main("        li r1, 2147483648\n        li r3, 1\n        launch addi, r1, ns, r3", kAddI));
    ASSERT_EQ(run.trap_kind(), TrapKind::BadLaunch);
    EXPECT_NE(message(run).find("over the limit of 2147483647"), std::string::npos) << message(run);
}

TEST(Launch, IntUniformThatDoesNotFitIn32BitsTraps) {
    ProgramRun run = run_source(in_main("        li r1, 3\n        li r3, 2147483648\n        launch addi, r1, ns, r3", kAddI));
    ASSERT_EQ(run.trap_kind(), TrapKind::BadLaunch);
    EXPECT_NE(message(run).find("uniform 'k' gets 2147483648, which does not fit in i32"), std::string::npos)
        << message(run);
}

// `.requires` is checked against the backend that runs the kernel, before the
// launch runs, in every mode: the CPU backend is no GPU, and no machine has
// an exabyte.
const char* kNeeds =
    ".region ns i32[] = 1, 2, 3\n"
    ".kernel on_gpu (inout n: i32[i])\n"
    "        .requires gpu\n"
    "        gid     r0\n"
    "        st      n[r0], r0\n"
    ".end\n"
    ".kernel huge (inout n: i32[i])\n"
    "        .requires mem >= 1000000000G\n"
    "        gid     r0\n"
    "        st      n[r0], r0\n"
    ".end\n";

TEST(Launch, RequirementsTheBackendCannotMeetTrapBeforeTheKernelRuns) {
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec}) {
        MachineOptions o;
        o.exec = mode;
        ProgramRun gpu = run_source(in_main("        li r1, 3\n        launch on_gpu, r1, ns", kNeeds), o);
        ASSERT_EQ(gpu.trap_kind(), TrapKind::BadLaunch) << exec_mode_name(mode);
        EXPECT_NE(message(gpu).find("kernel 'on_gpu': .requires gpu, but this machine runs kernels on the CPU backend, "
                                    "which is not a GPU"),
                  std::string::npos)
            << message(gpu);
        EXPECT_EQ(gpu.machine->regions()[0].as<std::int32_t>()[1], 2) << "the kernel must not have run";
        ProgramRun mem = run_source(in_main("        li r1, 3\n        launch huge, r1, ns", kNeeds), o);
        ASSERT_EQ(mem.trap_kind(), TrapKind::BadLaunch) << exec_mode_name(mode);
        EXPECT_NE(message(mem).find("kernel 'huge': .requires mem >= 1073741824000000000 bytes, but this machine has "),
                  std::string::npos)
            << message(mem);
    }
}

// A window buffer: read around the lane's own element, never with storage
// the kernel writes; at least `count` elements, as an element-wise one.
const char* kStencil =
    ".region ts f32[] = 1, 2, 4, 8, 16\n"
    ".region us f32[5]\n"
    ".region ks i32[] = 1, 2, 3, 4, 5\n"
    ".kernel blur (in t: f32[i-1..i+1], out u: f32[i])\n"
    "        gid     r0\n"
    "        addi    r1, r0, 1\n"
    "        blen    r2, t\n"
    "        ldf     f0, t[r0]\n"
    "        lt      r3, r1, r2\n"
    "        if      r3\n"
    "        ldf     f1, t[r1]\n"
    "        fadd    f0, f0, f1\n"
    "        end\n"
    "        stf     u[r0], f0\n"
    ".end\n"
    ".kernel scan (in t: f32[i..i+1], inout u: f32[])\n"
    "        gid     r0\n"
    "        ldf     f0, t[r0]\n"
    "        stf     u[r0], f0\n"
    ".end\n"
    ".kernel pair (in a: i32[i-1..i], in b: i32[i..i+1], out c: i32[i])\n"
    "        gid     r0\n"
    "        ld      r1, a[r0]\n"
    "        ld      r2, b[r0]\n"
    "        add     r1, r1, r2\n"
    "        st      c[r0], r1\n"
    ".end\n";

TEST(Launch, WindowBufferRunsAndReadsItsNeighbour) {
    ProgramRun run = run_source(in_main("        li r1, 5\n        launch blur, r1, ts, us\n"
                                        "        li r2, 0\n        li r3, 5\n        printr us, r2, r3",
                                        kStencil));
    ASSERT_TRUE(run.halted()) << (run.result.trap ? message(run) : "");
    EXPECT_EQ(*run.output, "[3, 6, 12, 24, 16]");
}

TEST(Launch, WindowBufferShorterThanTheCountTraps) {
    ProgramRun run = run_source(in_main("        li r1, 6\n        launch blur, r1, ts, us", kStencil));
    ASSERT_EQ(run.trap_kind(), TrapKind::BadLaunch);
    EXPECT_NE(message(run).find("kernel 'blur': window buffer 't' gets 'ts' with 5 elements, fewer than the 6 lanes"),
              std::string::npos)
        << message(run);
}

TEST(Launch, WindowBufferSharingStorageWithAnOutputTraps) {
    ProgramRun out = run_source(in_main("        li r1, 5\n        launch blur, r1, ts, ts", kStencil));
    ASSERT_EQ(out.trap_kind(), TrapKind::BadLaunch);
    EXPECT_NE(message(out).find("kernel 'blur': window buffer 't' and 'out' buffer 'u' both get 'ts': lanes would read "
                                "elements other lanes write"),
              std::string::npos)
        << message(out);
    EXPECT_EQ(out.machine->regions()[0].as<float>()[1], 2.0f) << "the kernel must not have run";
    // Through a handle, and an inout buffer: the same region is the same storage.
    ProgramRun inout = run_source(in_main("        rgn r5, ts\n        li r1, 4\n        launch scan, r1, ts, @r5", kStencil));
    ASSERT_EQ(inout.trap_kind(), TrapKind::BadLaunch);
    EXPECT_NE(message(inout).find("kernel 'scan': window buffer 't' and 'inout' buffer 'u' both get 'ts': lanes would "
                                  "read elements other lanes write"),
              std::string::npos)
        << message(inout);
    // Two windows may read one region: nothing writes it.
    ProgramRun fine = run_source(
        in_main("        li r1, 4\n        launch pair, r1, ks, ks, cs\n        li r2, 0\n        printr cs, r2, r1",
                std::string(kStencil) + ".region cs i32[4]\n"));
    ASSERT_TRUE(fine.halted()) << (fine.result.trap ? message(fine) : "");
    EXPECT_EQ(*fine.output, "[2, 4, 6, 8]");
}

}  // namespace
}  // namespace polymer::test
