// Region handles (docs/language.md, "Region handles"): `rgn` and the handle
// operand `@rN` through every layer: the assembler and disassembler, the
// verifier's static check, the frame analysis, the interpreter's bodies and
// traps, and every execution mode against in-order.
#include <gtest/gtest.h>

#include <string>

#include "assembler/assembler.h"
#include "assembler/disassembler.h"
#include "isa/frame_analysis.h"
#include "isa/verifier.h"
#include "mode_runner.h"
#include "vm/ooo/pipeline_log.h"
#include "vm_test_util.h"

namespace polymer::test {
namespace {

// The first error of assembling `source`, as "line:col: message", or "<ok>".
std::string first_error(const std::string& source) {
    AssembleOptions ao;
    ao.filename = "test.pasm";
    AssembleResult r = assemble(source, ao);
    for (const Diagnostic& d : r.diagnostics)
        if (d.severity == Diagnostic::Severity::Error)
            return std::to_string(d.line) + ":" + std::to_string(d.col) + ": " + d.message;
    return "<ok>";
}

Module assembled(const std::string& source) {
    AssembleOptions ao;
    ao.filename = "test.pasm";
    AssembleResult r = assemble(source, ao);
    EXPECT_TRUE(r.ok()) << source;
    return r.ok() ? std::move(*r.module) : Module{};
}

std::string trap_message(const ProgramRun& run) {
    if (!run.result.trap) return "(no trap)";
    return format_trap(*run.module, *run.result.trap, disassemble_word(*run.module, run.result.trap->pc));
}

const char* kRegions = R"(
.region xs  f64[] = 1, 2, 3, 4
.region ys  f64[] = 10, 20, 30, 40
.region ns  i32[] = 5, 6, 7
.region bs  u8[] "hi"
)";

// --- assembling, printing, verifying ---------------------------------------

TEST(RegionHandles, HandleOperandsEncodeInTheRegionField) {
    const Module m = assembled(in_main("        rgn r1, ys\n        ld.f64 f1, @r1[r2]\n        vadd @r3, xs, @r31",
                                       kRegions));
    EXPECT_EQ(word_b(m.code[0]), 1u) << "rgn names region 1 (ys)";
    EXPECT_EQ(word_c(m.code[1]), kFirstHandleOperand + 1) << "@r1";
    EXPECT_EQ(word_a(m.code[2]), kFirstHandleOperand + 3);
    EXPECT_EQ(word_b(m.code[2]), 0u);
    EXPECT_EQ(word_c(m.code[2]), 255u) << "@r31 is the last value of the field";
    EXPECT_EQ(disassemble_word(m, 1), "ld.f64  f1, @r1[r2]");
    EXPECT_EQ(disassemble_word(m, 2), "vadd    @r3, xs, @r31");
    EXPECT_TRUE(verify_module(m).ok());
}

TEST(RegionHandles, DisassemblyReassemblesToTheSameModule) {
    const Module m = assembled(R"(
.region xs f32[] = 1, 2
.kernel k (inout x: f32[i])
        gid r0
        ldf f0, x[r0]
        stf x[r0], f0
.end
.proc main
        rgn     r1, xs
        rgn     r2, @r1
        len     r3, @r2
        launch  k, r3, @r2
        printr  @r1, r0, r3
        alloc   @r1, r3
        free    @r2
        halt
.end
)");
    const std::string text = disassemble(m);
    AssembleResult again = assemble(text, {});
    ASSERT_TRUE(again.ok()) << text;
    EXPECT_EQ(again.module->code, m.code);
    EXPECT_EQ(again.module->launches, m.launches);
    EXPECT_EQ(m.launches[0].args[0].index, kFirstHandleOperand + 2);
}

TEST(RegionHandles, AssemblerErrors) {
    EXPECT_EQ(first_error(in_main("        ld.f64 f1, @f1[r2]", kRegions)),
              "8:21: expected an integer register after '@' (a handle operand is written @r0..@r31), got 'f1'");
    EXPECT_EQ(first_error(in_main("        len r1, @32", kRegions)),
              "8:18: expected an integer register after '@' (a handle operand is written @r0..@r31), got '32'");
    EXPECT_EQ(first_error(in_main("        len r1, @r32", kRegions)),
              "8:18: unknown register 'r32' (integer registers are r0..r31)");
    EXPECT_EQ(first_error(in_main("        ld.f64 f1, r1[r2]", kRegions)),
              "8:20: expected a region, got register 'r1'; a region whose handle is in a register is written @r1");
}

// Where a `rgn` in the same block makes the region known, the handle is
// checked like the region's name; a label, branch or call forgets it.
TEST(RegionHandles, KnownHandlesAreTypeCheckedBeforeTheyRun) {
    EXPECT_EQ(first_error(in_main("        rgn r1, ns\n        li r2, 0\n        ld.f64 f1, @r1[r2]", kRegions)),
              "10:9: region 'ns' (i32), the handle in r1 (set by rgn), does not hold f64 elements");
    EXPECT_EQ(first_error(in_main("        rgn r1, ns\n        vadd xs, xs, @r1", kRegions)),
              "9:9: region 'ns' (i32), the handle in r1 (set by rgn), and region 'xs' (f64) must have the same "
              "element type");
    EXPECT_EQ(first_error(in_main("        rgn r1, ns\n        mov r2, r1\n        vsum f1, @r2", kRegions)), "<ok>")
        << "a copy is not followed: checked when it runs";
    EXPECT_EQ(first_error(in_main("        rgn r1, ns\n        li r1, 0\n        ld.f64 f1, @r1[r2]", kRegions)),
              "<ok>");
    EXPECT_EQ(first_error(in_main("        rgn r1, ns\nhere:\n        ld.f64 f1, @r1[r2]\n        jmp here", kRegions)),
              "<ok>")
        << "a jump target starts a block";
    EXPECT_EQ(first_error(in_main("        rgn r1, ns\n        rgn r2, @r1\n        ld.i32 r3, @r2[r0]", kRegions)),
              "<ok>");
    EXPECT_EQ(first_error(in_main("        rgn r1, ns\n        rgn r2, @r1\n        ld.u8 r3, @r2[r0]", kRegions)),
              "10:9: region 'ns' (i32), the handle in r2 (set by rgn), does not hold u8 elements");
}

TEST(RegionHandles, VerifierAcceptsHandleFieldsAndKeepsRegionIndexesBelow224) {
    Module m = assembled(in_main("        ld.f64 f1, @r1[r2]", kRegions));
    ASSERT_TRUE(verify_module(m).ok());
    m.code[0] = with_c(m.code[0], kFirstHandleOperand - 1);  // region 223 of 4
    EXPECT_EQ(verify_module(m).error(), "proc 'main' word 0 (ld.f64): region index 223 is out of range (4 regions)");
    m = assembled(in_main("        halt", kRegions));
    m.regions.resize(kMaxRegions + 1, m.regions[0]);
    for (std::size_t i = 0; i < m.regions.size(); ++i) m.regions[i].name = "g" + std::to_string(i);
    EXPECT_EQ(verify_module(m).error(), "225 regions: a module has at most 224");
}

// --- the frame analysis: a handle is any region -----------------------------

TEST(RegionHandles, FrameAnalysisOrdersAHandleAgainstEveryRegion) {
    const Module m = assembled(in_main(R"(        rgn r1, xs
        vfillf @r1, f1
        ld.f64 f2, ys[r0]
        ld.f64 f3, @r2[r0]
        st.f64 ys[r0], f3)",
                                       kRegions));
    const std::vector<BlockAnalysis> blocks = analyze_frames(m);
    ASSERT_FALSE(blocks.empty());
    const BlockAnalysis& b = blocks[0];
    auto waits_for = [&](std::uint32_t pc, std::uint32_t on) {
        for (const Dependency& d : b.deps[pc])
            if (d.on == on) return dependency_reason(m, d);
        return std::string("-");
    };
    EXPECT_EQ(waits_for(1, 0), "writes r1") << "the handle register is read";
    EXPECT_EQ(waits_for(2, 1), "writes the region of handle @r1") << "a handle write may be ys";
    EXPECT_EQ(waits_for(3, 1), "writes the region of handle @r1");
    EXPECT_EQ(waits_for(3, 2), "-") << "two reads never conflict";
    EXPECT_EQ(waits_for(4, 3), "reads the region of handle @r2 first") << "the store may overwrite what it reads";
    EXPECT_EQ(waits_for(4, 2), "reads region 'ys' first");
}

TEST(RegionHandles, AHandleOperandMayTrap) {
    const Module m = assembled(in_main("        len r1, ys\n        len r1, @r2", kRegions));
    EXPECT_FALSE(may_trap(m, m.code[0])) << "len of a named region cannot trap";
    EXPECT_TRUE(may_trap(m, m.code[1])) << "@r2 may hold no handle";
}

// --- running ------------------------------------------------------------------

TEST(RegionHandles, EveryRegionOperandTakesAHandle) {
    ProgramRun run = run_source(R"(
.region xs  f64[] = 1, 2, 3, 4
.region ys  f64[] = 10, 20, 30, 40
.region zs  f64[4]
.region fs  f32[] = 1.5, 2.5
.region ns  i32[] = 5, 6, 7
.region us  u32[3]
.region ls  i64[] = 1, 2
.region bs  u8[] "hi"
.kernel twice (inout x: f32[i])
        gid r0
        ldf f0, x[r0]
        fadd f0, f0, f0
        stf x[r0], f0
.end
.proc main
        rgn r1, xs
        rgn r2, ys
        rgn r3, zs
        li r9, 2
        ld.f64 f1, @r1[r9]
        st.f64 @r3[r9], f1
        vadd @r3, @r1, @r2
        vdot f2, @r1, @r2
        rgn r4, ns
        ld.i32 r10, @r4[r9]
        st.i32 @r4[r0], r10
        rgn r5, us
        st.u32 @r5[r9], r10
        ld.u32 r11, @r5[r9]
        rgn r6, ls
        ld.i64 r12, @r6[r0]
        st.i64 @r6[r0], r9
        rgn r7, bs
        ld.u8 r13, @r7[r0]
        st.u8 @r7[r0], r13
        rgn r8, fs
        ld.f32 f3, @r8[r0]
        st.f32 @r8[r0], f3
        len r14, @r8
        launch twice, r14, @r8
        vsumi r15, @r4
        li r16, 0
        len r17, @r3
        printr @r3, r16, r17
        printr @r8, r16, r14
        alloc @r5, r9
        len r18, @r5
        free @r7
        len r19, @r7
        halt
.end
)");
    ASSERT_TRUE(run.halted()) << trap_message(run);
    EXPECT_EQ(*run.output, "[11, 22, 33, 44][3, 5]");
    EXPECT_EQ(run.f(1), 3);
    EXPECT_EQ(run.f(2), 300);
    EXPECT_EQ(run.r(10), 7);
    EXPECT_EQ(run.r(11), 7);
    EXPECT_EQ(run.r(12), 1);
    EXPECT_EQ(run.r(13), 'h');
    EXPECT_EQ(run.r(15), 7 + 6 + 7);
    EXPECT_EQ(run.r(18), 2) << "alloc through a handle";
    EXPECT_EQ(run.r(19), 0) << "free through a handle";
    EXPECT_EQ(run.r(1), region_handle(0));
    EXPECT_NE(run.r(1), 0) << "a handle is not the region's index";
}

TEST(RegionHandles, BadHandlesTrapNamingRegisterValueAndExpectation) {
    ProgramRun not_handle = run_source(in_main("        li r1, 3\n        len r2, @r1", kRegions));
    EXPECT_EQ(not_handle.trap_kind(), TrapKind::BadHandle);
    EXPECT_EQ(trap_message(not_handle),
              "trap: bad-handle in proc 'main' at pc 1 (test.pasm:9:9): len r2, @r1: @r1 = 3 is not a region handle "
              "(rgn rN, region makes one)");
    EXPECT_EQ(not_handle.machine->pc(), 1u);

    ProgramRun wrong_type = run_source(in_main("        rgn r1, ns\n        mov r2, r1\n        ld.f64 f1, @r2[r0]",
                                               kRegions));
    EXPECT_EQ(trap_message(wrong_type),
              "trap: bad-handle in proc 'main' at pc 2 (test.pasm:10:9): ld.f64 f1, @r2[r0]: @r2 = 0x52474e0000000002 "
              "is the handle of 'ns' (i32), but f64 elements are expected");

    ProgramRun forged = run_source(in_main("        rgn r1, ns\n        addi r1, r1, 9\n        free @r1", kRegions));
    EXPECT_EQ(trap_message(forged),
              "trap: bad-handle in proc 'main' at pc 2 (test.pasm:10:9): free @r1: @r1 = 0x52474e000000000b is not a "
              "region handle (this module has 4 regions)");

    ProgramRun vector = run_source(in_main("        rgn r1, ns\n        mov r2, r1\n        vadd xs, xs, @r2", kRegions));
    EXPECT_EQ(vector.trap_kind(), TrapKind::TypeMismatch);
    EXPECT_EQ(trap_message(vector),
              "trap: type-mismatch in proc 'main' at pc 2 (test.pasm:10:9): vadd xs, xs, @r2: vadd: b is i32 but dst "
              "is f64 (b: @r2 = 0x52474e0000000002 is the handle of 'ns' (i32))");

    ProgramRun vector_bad = run_source(in_main("        vsum f1, @r5", kRegions));
    EXPECT_EQ(trap_message(vector_bad),
              "trap: bad-handle in proc 'main' at pc 0 (test.pasm:8:9): vsum f1, @r5: a: @r5 = 0 is not a region "
              "handle (rgn rN, region makes one)");

    ProgramRun bounds = run_source(in_main("        rgn r1, ns\n        li r2, 3\n        ld.i32 r3, @r1[r2]", kRegions));
    EXPECT_EQ(trap_message(bounds),
              "trap: out-of-bounds in proc 'main' at pc 2 (test.pasm:10:9): ld.i32 r3, @r1[r2]: index 3 is outside "
              "'ns' (length 3)");

    ProgramRun launch = run_source(R"(
.region ns i32[4]
.region fs f32[4]
.kernel k (inout x: f32[i])
        gid r0
        stf x[r0], f0
.end
.proc main
        rgn r1, fs
        rgn r2, ns
        mov r1, r2
        li r3, 4
        launch k, r3, @r1
        halt
.end
)");
    EXPECT_EQ(trap_message(launch),
              "trap: bad-handle in proc 'main' at pc 4 (test.pasm:13:9): launch k, r3, @r1: kernel 'k': buffer 'x' "
              "(f32) gets @r1 = 0x52474e0000000000 is the handle of 'ns' (i32), but f32 elements are expected");
}

// --- every execution mode ---------------------------------------------------------

// A library procedure over handles, a push/pop of a handle (its value known
// only at commit), overlapping vector ops, and then a bad handle.
const char* kModesProgram = R"(
.region xs f64[] = 1, 2, 3, 4
.region ys f64[] = 5, 6, 7, 8
.region zs f64[4]
.region ws f64[4]
.region ns i32[] = 1, 2, 3, 4
.proc sum3
        vadd @r3, @r1, @r2
        vsum f1, @r3
        ret
.end
.proc main
        rgn r1, xs
        rgn r2, ys
        rgn r3, zs
        call sum3
        printf f1
        push r1
        rgn r1, ws
        pop r4
        vadd @r1, @r4, @r4
        vmul zs, @r2, @r2
        li r5, 0
        li r6, 4
        printr @r1, r5, r6
        printr zs, r5, r6
        ld.f64 f2, @r4[r5]
        printf f2
        rgn r7, ns
        mov r8, r7
        vadd @r1, @r1, @r8
        halt
.end
)";

TEST(RegionHandles, EveryModeAgreesWithInOrder) {
    const Module m = assembled(kModesProgram);
    const Outcome ref = run_mode(m, "main", ExecMode::InOrder, 1, nullptr);
    ASSERT_TRUE(ref.trap.has_value());
    EXPECT_EQ(ref.trap->kind, TrapKind::TypeMismatch);
    EXPECT_EQ(ref.output, "36[2, 4, 6, 8][25, 36, 49, 64]1");
    for (ExecMode mode : {ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec})
        for (std::uint32_t rob : {1u, 2u, 8u, 64u})
            for (bool hand_off : {false, true}) {
                const std::string d = difference(ref, run_mode(m, "main", mode, rob, nullptr, hand_off));
                EXPECT_TRUE(d.empty()) << exec_mode_name(mode) << " rob " << rob << " hand-off " << hand_off << ": "
                                       << d;
            }
}

// The engine links a handle operand to the region it names at issue: a vector
// op through a handle waits for the last writer of that region only.
TEST(RegionHandles, TheEngineTracksTheActualRegion) {
    const Module m = assembled(R"(
.region xs f64[4]
.region ys f64[4]
.proc main
        rgn r1, xs
        rgn r2, ys
        lif f1, 1
        vfillf @r1, f1
        vfillf @r2, f1
        vfillf xs, f1
        halt
.end
)");
    std::string output;
    OutputBuffer out(&output);
    PipelineLog log;
    MachineOptions options;
    options.exec = ExecMode::Ooo;
    options.pipeline_log = &log;
    auto created = Machine::create(m, out, options);
    ASSERT_TRUE(created.ok());
    Machine& vm = *created.value();
    ASSERT_EQ(vm.run(*vm.find_proc("main")).status, RunStatus::Halted);
    auto record_at = [&](std::uint32_t pc) -> const InsnRecord* {
        for (const InsnRecord& r : log.records)
            if (r.pc == pc) return &r;
        return nullptr;
    };
    const InsnRecord* fill_xs = record_at(3);
    const InsnRecord* fill_ys = record_at(4);
    const InsnRecord* fill_xs_again = record_at(5);
    ASSERT_TRUE(fill_xs && fill_ys && fill_xs_again);
    auto depends = [&](const InsnRecord* r, const InsnRecord* on) {
        return std::find(r->deps.begin(), r->deps.end(), on->seq) != r->deps.end();
    };
    EXPECT_FALSE(depends(fill_ys, fill_xs)) << "ys through @r2 does not wait for xs through @r1";
    EXPECT_TRUE(depends(fill_xs_again, fill_xs)) << "xs by name waits for xs through @r1 (WAW)";
    EXPECT_FALSE(depends(fill_xs_again, fill_ys));
}

}  // namespace
}  // namespace polymer::test
