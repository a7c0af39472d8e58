// The loop pass (assembler/loops/): which loops become kernels, the reasons
// the others stay scalar, and that inserting kloop words moves nothing else.
// What the kernels compute is checked end to end against the scalar loops
// in tests/vm/loop_kernels_run_test.cpp and by the differential test.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "assembler/disassembler.h"
#include "assembler/loops/mask_bits.h"
#include "isa/encoding.h"
#include "isa/formats.h"
#include "isa/opcodes.h"

namespace polymer {
namespace {

AssembleResult assemble_with(const std::string& source, bool loop_kernels) {
    AssembleOptions options;
    options.filename = "t.pasm";
    options.loop_kernels = loop_kernels;
    AssembleResult r = assemble(source, options);
    EXPECT_TRUE(r.ok());
    return r;
}

// The report line of the one loop of `source` (without "t.pasm:LINE: ").
std::string report_of(const std::string& source) {
    AssembleResult r = assemble_with(source, true);
    EXPECT_EQ(r.loop_report.size(), 1u);
    if (r.loop_report.size() != 1) return "";
    const std::string& line = r.loop_report[0];
    return line.substr(line.find(": ") + 2);
}

// Words [from, to) of kernel `k`, one per line, single-spaced ("le r8, r9, r5").
std::string kernel_text(const Module& m, std::uint32_t k, std::size_t from = 0, std::size_t to = SIZE_MAX) {
    std::string text;
    for (std::size_t pc = from; pc < std::min(to, m.kernels[k].code.size()); ++pc) {
        for (char c : disassemble_kernel_word(m, k, static_cast<std::uint32_t>(pc)))
            if (c != ' ' || (!text.empty() && text.back() != ' ')) text += c;
        text += "\n";
    }
    return text;
}

// A procedure around `body`, with regions xs, ys (f64) and n (i32) of 1000 elements.
std::string program(const std::string& body, const std::string& proc_directives = "") {
    return ".region xs f64[1000] range 0, 1\n"
           ".region ys f64[1000]\n"
           ".region ns i32[1000] range 0, 1\n"
           ".region text u8[1000]\n"
           ".proc helper\n        ret\n.end\n"
           ".proc main\n" + proc_directives +
           "        li r1, 0\n"
           "        len r2, xs\n"
           "        lif f7, 2.5\n"
           "        li r9, 3\n" + body +
           "        halt\n.end\n";
}

// y[i] := x[i] * f7 over a top-tested loop, with `extra` inside the body.
std::string top_tested(const std::string& extra, const std::string& after = "") {
    return program("loop:   bge r1, r2, done\n"
                   "        ld.f64 f0, xs[r1]\n"
                   "        fmul f0, f0, f7\n" + extra +
                   "        st.f64 ys[r1], f0\n"
                   "        addi r1, r1, 1\n"
                   "        jmp loop\n"
                   "done:\n" + after);
}

TEST(LoopKernels, APlainLoopOverRegionsBecomesAKernel) {
    AssembleResult r = assemble_with(top_tested(""), true);
    ASSERT_EQ(r.loop_report.size(), 1u);
    EXPECT_EQ(r.loop_report[0], "t.pasm:13: loop turned into kernel main.loop13 (one lane per iteration)");
    const Module& m = *r.module;
    ASSERT_EQ(m.loop_kernels.size(), 1u);
    const LoopKernel& l = m.loop_kernels[0];
    const Kernel& k = m.kernels[l.kernel];
    EXPECT_EQ(k.name, "main.loop13");
    EXPECT_TRUE(k.wide);
    EXPECT_EQ(l.induction, 1);
    EXPECT_EQ(l.bound, 2);
    EXPECT_EQ(l.compare, LoopCompare::Lt);
    EXPECT_TRUE(l.tested_first);
    EXPECT_EQ(l.step, 1);
    EXPECT_EQ(l.chunk, 1u);
    // The kloop word sits just before the header, and names the entry.
    EXPECT_EQ(static_cast<Op>(word_op(m.code[l.header - 1])), Op::Kloop);
    EXPECT_EQ(word_field(m.code[l.header - 1], Field::Imm), 0u);
    EXPECT_EQ(m.lines[l.header - 1].line, 13u);
    // Parameters: the two regions, the counter's start, the invariant f7.
    ASSERT_EQ(k.params.size(), 4u);
    EXPECT_EQ(k.params[0].name, "xs");
    EXPECT_EQ(k.params[0].access, Access::In);
    EXPECT_EQ(k.params[0].type, ElemType::F64);
    EXPECT_EQ(k.params[1].name, "ys");
    EXPECT_EQ(k.params[1].access, Access::Out);
    EXPECT_EQ(k.params[2].name, "i0");
    EXPECT_EQ(k.params[3].name, "f7");
    EXPECT_EQ(k.params[3].type, ElemType::F64);
    ASSERT_EQ(l.args.size(), 4u);
    EXPECT_EQ(l.args[2].kind, LoopArg::Kind::IntReg);
    EXPECT_EQ(l.args[2].index, 1u);
    EXPECT_EQ(l.args[3].kind, LoopArg::Kind::FloatReg);
    EXPECT_EQ(l.args[3].index, 7u);
    // Both accesses are at i, checked before the kernel runs.
    ASSERT_EQ(l.accesses.size(), 2u);
    EXPECT_EQ(l.accesses[0].scale, 1);
    EXPECT_EQ(l.accesses[0].offset, 0);
    EXPECT_FALSE(l.accesses[0].writes);
    EXPECT_TRUE(l.accesses[1].writes);
}

// Removing the kloop words gives back, word for word, the module assembled
// with --no-loop-kernels: labels, branch targets, procedures and lines moved
// consistently and nothing else changed.
void expect_only_kloops_added(const std::string& source) {
    const Module with = *assemble_with(source, true).module;
    const Module without = *assemble_with(source, false).module;
    std::vector<std::uint32_t> kloops;
    for (std::uint32_t pc = 0; pc < with.code.size(); ++pc)
        if (static_cast<Op>(word_op(with.code[pc])) == Op::Kloop) kloops.push_back(pc);
    EXPECT_EQ(kloops.size(), with.loop_kernels.size());
    auto old_pc = [&](std::uint32_t pc) {
        std::uint32_t before = 0;
        for (std::uint32_t k : kloops) before += k < pc;
        return pc - before;
    };
    std::vector<Word> code;
    std::vector<SourceLoc> lines;
    for (std::uint32_t pc = 0; pc < with.code.size(); ++pc) {
        if (std::find(kloops.begin(), kloops.end(), pc) != kloops.end()) continue;
        Word w = with.code[pc];
        const FormatInfo& f = format_info(op_info(static_cast<Op>(word_op(w))).format);
        for (std::size_t k = 0; k < f.count; ++k)
            if (f.operands[k].kind == OperandKind::Label)
                w = with_field(w, f.operands[k].field, old_pc(word_field(w, f.operands[k].field)));
        code.push_back(w);
        lines.push_back(with.lines[pc]);
    }
    EXPECT_EQ(code, without.code);
    EXPECT_EQ(lines, without.lines);
    ASSERT_EQ(with.procs.size(), without.procs.size());
    for (std::size_t p = 0; p < with.procs.size(); ++p) {
        EXPECT_EQ(old_pc(with.procs[p].start), without.procs[p].start);
        std::uint32_t inside = 0;
        for (std::uint32_t k : kloops) inside += k >= with.procs[p].start && k < with.procs[p].start + with.procs[p].length;
        EXPECT_EQ(with.procs[p].length - inside, without.procs[p].length);
    }
    ASSERT_EQ(with.labels.size(), without.labels.size());
    for (std::size_t i = 0; i < with.labels.size(); ++i) EXPECT_EQ(old_pc(with.labels[i].pc), without.labels[i].pc);
    for (const LoopKernel& l : with.loop_kernels)
        EXPECT_EQ(static_cast<Op>(word_op(with.code[l.header - 1])), Op::Kloop);
}

TEST(LoopKernels, KloopWordsMoveLabelsBranchesProceduresAndLinesConsistently) {
    expect_only_kloops_added(top_tested("", "        call helper\n"));
    expect_only_kloops_added(program("        li r5, 0\n"
                                     "sum:    ld.i32 r6, ns[r1]\n"
                                     "        add r5, r5, r6\n"
                                     "        addi r1, r1, 1\n"
                                     "        blt r1, r2, sum\n"
                                     "        li r1, 0\n"
                                     "again:  bge r1, r2, out\n"
                                     "        ld.f64 f0, xs[r1]\n"
                                     "        st.f64 ys[r1], f0\n"
                                     "        addi r1, r1, 1\n"
                                     "        jmp again\n"
                                     "out:    print r5\n"));
}

TEST(LoopKernels, BottomTestedLoopsAndEveryComparisonForm) {
    struct Case {
        std::string test;
        bool first;
        LoopCompare compare;
    };
    // Tested last: the branch back is taken while the loop goes on.
    const Case cases[] = {
        {"blt r1, r2, loop", false, LoopCompare::Lt},   {"bltu r1, r2, loop", false, LoopCompare::Ltu},
        {"bne r1, r2, loop", false, LoopCompare::Ne},   {"blt r2, r1, loop", false, LoopCompare::Gt},
        {"bge r2, r1, loop", false, LoopCompare::Le},   {"bgeu r1, r2, loop", false, LoopCompare::Geu},
        {"bgeu r2, r1, loop", false, LoopCompare::Leu}, {"bltu r2, r1, loop", false, LoopCompare::Gtu},
    };
    for (const Case& c : cases) {
        const Module m = *assemble_with(program("loop:   ld.f64 f0, xs[r1]\n"
                                                "        st.f64 ys[r1], f0\n"
                                                "        addi r1, r1, 1\n"
                                                "        " + c.test + "\n"),
                                        true)
                              .module;
        ASSERT_EQ(m.loop_kernels.size(), 1u) << c.test;
        EXPECT_EQ(m.loop_kernels[0].compare, c.compare) << c.test;
        EXPECT_FALSE(m.loop_kernels[0].tested_first) << c.test;
    }
    // Tested first: the branch out is taken when the loop ends.
    const Case first[] = {
        {"bge r1, r2, done", true, LoopCompare::Lt}, {"blt r1, r2, done", true, LoopCompare::Ge},
        {"beq r1, r2, done", true, LoopCompare::Ne}, {"bgeu r1, r2, done", true, LoopCompare::Ltu},
        {"bge r2, r1, done", true, LoopCompare::Gt}, {"blt r2, r1, done", true, LoopCompare::Le},
    };
    for (const Case& c : first) {
        const Module m = *assemble_with(program("loop:   " + c.test + "\n"
                                                "        ld.f64 f0, xs[r1]\n"
                                                "        st.f64 ys[r1], f0\n"
                                                "        addi r1, r1, 1\n"
                                                "        jmp loop\n"
                                                "done:\n"),
                                        true)
                              .module;
        ASSERT_EQ(m.loop_kernels.size(), 1u) << c.test;
        EXPECT_EQ(m.loop_kernels[0].compare, c.compare) << c.test;
        EXPECT_TRUE(m.loop_kernels[0].tested_first) << c.test;
    }
}

TEST(LoopKernels, ReductionsKeepAPartialPerLane) {
    const std::string source = program("        li r5, 0\n"
                                       "        li r6, 0\n"
                                       "sum:    ld.i32 r3, ns[r1]\n"
                                       "        add r5, r5, r3\n"
                                       "        max r6, r3, r6\n"
                                       "        addi r1, r1, 1\n"
                                       "        blt r1, r2, sum\n"
                                       "        print r5\n"
                                       "        print r6\n");
    EXPECT_EQ(report_of(source), "loop turned into kernel main.loop15 (one lane per iteration; reduction r5 add, r6 max)");
    const Module m = *assemble_with(source, true).module;
    const LoopKernel& l = m.loop_kernels[0];
    ASSERT_EQ(l.reductions.size(), 2u);
    EXPECT_EQ(l.reductions[1].op, ReduceOp::Max);
    // Each reduction's partials: an out buffer the lane writes at its own element.
    const Kernel& k = m.kernels[l.kernel];
    int partials = 0;
    for (std::size_t p = 0; p < l.args.size(); ++p)
        if (l.args[p].kind == LoopArg::Kind::Partials) {
            ++partials;
            EXPECT_EQ(k.params[p].indexing, Indexing::Element);
            EXPECT_EQ(k.params[p].type, ElemType::I64);
        }
    EXPECT_EQ(partials, 2);
}

// kloop adds the lanes' partials in iteration order, so one fadd per
// iteration gives the scalar loop's sum exactly; fmin (whose identity would
// change a NaN) or two fadds in an iteration need `.reassociate`.
TEST(LoopKernels, FloatReductionsAreExactOrNeedReassociate) {
    const std::string one = "        lif f5, 0.0\n"
                            "dot:    ld.f64 f0, xs[r1]\n"
                            "        fmul f0, f0, f0\n"
                            "        fadd f5, f5, f0\n"
                            "        addi r1, r1, 1\n"
                            "        blt r1, r2, dot\n"
                            "        printf f5\n";
    EXPECT_EQ(report_of(program(one)), "loop turned into kernel main.loop14 (one lane per iteration; reduction f5 fadd)");
    const std::string two = "        lif f5, 0.0\n"
                            "dot:    ld.f64 f0, xs[r1]\n"
                            "        fadd f5, f5, f0\n"
                            "        fadd f5, f5, f7\n"
                            "        addi r1, r1, 1\n"
                            "        blt r1, r2, dot\n"
                            "        printf f5\n";
    EXPECT_EQ(report_of(program(two)), "not turned into a kernel: f5 accumulates floats across iterations in another order "
                                       "(`.reassociate` in the procedure lets it)");
    EXPECT_EQ(report_of(program(two, "        .reassociate\n")),
              "loop turned into kernel main.loop15 (one lane per iteration; reduction f5 fadd reassociated)");
    const std::string least = "        lif f5, 0.0\n"
                              "low:    ld.f64 f0, xs[r1]\n"
                              "        fmin f5, f5, f0\n"
                              "        addi r1, r1, 1\n"
                              "        blt r1, r2, low\n"
                              "        printf f5\n";
    EXPECT_EQ(report_of(program(least)), "not turned into a kernel: f5 accumulates floats across iterations in another order "
                                         "(`.reassociate` in the procedure lets it)");
}

TEST(LoopKernels, EachReasonALoopStaysScalar) {
    EXPECT_EQ(report_of(top_tested("        fmul f3, f3, f0\n        fadd f3, f3, f7\n", "        printf f3\n")),
              "not turned into a kernel: f3 carries a value between iterations");
    EXPECT_EQ(report_of(top_tested("        printf f0\n")),
              "not turned into a kernel: printf (line 16) reads or writes the program's input or output");
    EXPECT_EQ(report_of(top_tested("        call helper\n")), "not turned into a kernel: call (line 16) calls a procedure");
    EXPECT_EQ(report_of(top_tested("        push r1\n        pop r1\n")),
              "not turned into a kernel: push (line 16) uses the value stack");
    EXPECT_EQ(report_of(top_tested("        feq r4, f0, f7\n        bnz r4, done\n")),
              "not turned into a kernel: the loop may leave early (line 17)");
    EXPECT_EQ(report_of(top_tested("        ld.u8 r4, text[r1]\n")),
              "not turned into a kernel: ld.u8 (line 16): kernels have no u8 buffers");
    EXPECT_EQ(report_of(top_tested("        popcnt r4, r1\n")), "not turned into a kernel: popcnt (line 16) has no exact kernel form");
    EXPECT_EQ(report_of(top_tested("        addi r8, r1, 1\n        div r4, r9, r8\n")),
              "not turned into a kernel: the divisor r8 changes between iterations (line 17)");
    EXPECT_EQ(report_of(top_tested("        fsin f0, f0\n")), "not turned into a kernel: fsin (line 16) has no exact kernel form");
    // An element written by one iteration and read by the next.
    EXPECT_EQ(report_of(program("loop:   bge r1, r2, done\n"
                                "        addi r3, r1, 1\n"
                                "        ld.f64 f0, ys[r3]\n"
                                "        st.f64 ys[r1], f0\n"
                                "        addi r1, r1, 1\n"
                                "        jmp loop\n"
                                "done:\n")),
              "not turned into a kernel: 'ys' is written at one index and used at another, by different iterations");
    // A gather: the index comes from memory.
    EXPECT_EQ(report_of(program("loop:   bge r1, r2, done\n"
                                "        ld.i32 r3, ns[r1]\n"
                                "        ld.f64 f0, xs[r3]\n"
                                "        st.f64 ys[r1], f0\n"
                                "        addi r1, r1, 1\n"
                                "        jmp loop\n"
                                "done:\n")),
              "not turned into a kernel: the index r3 of ld.f64 is not a fixed multiple of the counter plus a constant (line 15)");
    // The counter stepped only on some iterations.
    EXPECT_EQ(report_of(program("loop:   bge r1, r2, done\n"
                                "        ld.f64 f0, xs[r1]\n"
                                "        st.f64 ys[r1], f0\n"
                                "        bz r9, skip\n"
                                "        addi r1, r1, 1\n"
                                "skip:   jmp loop\n"
                                "done:\n")),
              "not turned into a kernel: r1 is not stepped exactly once per iteration (line 17)");
    // Every iteration writes one element.
    EXPECT_EQ(report_of(program("loop:   bge r1, r2, done\n"
                                "        ld.f64 f0, xs[r1]\n"
                                "        li r3, 0\n"
                                "        st.f64 ys[r3], f0\n"
                                "        addi r1, r1, 1\n"
                                "        jmp loop\n"
                                "done:\n")),
              "not turned into a kernel: every iteration writes the same element of 'ys'");
}

TEST(LoopKernels, ConditionsAndInnerLoopsBecomeStructuredKernelCode) {
    // A clamp (if/else) and an inner loop that doubles the value r9 times.
    const std::string source = program("loop:   bge r1, r2, done\n"
                                       "        ld.f64 f0, xs[r1]\n"
                                       "        flt r4, f0, f7\n"
                                       "        bz r4, big\n"
                                       "        fmov f1, f7\n"
                                       "        jmp joined\n"
                                       "big:    fmov f1, f0\n"
                                       "joined: li r5, 0\n"
                                       "inner:  bge r5, r9, idone\n"
                                       "        fadd f1, f1, f1\n"
                                       "        addi r5, r5, 1\n"
                                       "        jmp inner\n"
                                       "idone:  st.f64 ys[r1], f1\n"
                                       "        addi r1, r1, 1\n"
                                       "        jmp loop\n"
                                       "done:\n");
    EXPECT_EQ(report_of(source), "loop turned into kernel main.loop13 (one lane per iteration)");
    const Module m = *assemble_with(source, true).module;
    const Kernel& k = m.kernels[m.loop_kernels[0].kernel];
    std::string shape;
    for (Word w : k.code) {
        const KEffect e = kop_effect(static_cast<KOp>(word_op(w)));
        if (e == KEffect::If || e == KEffect::Else || e == KEffect::Loop || e == KEffect::End || e == KEffect::Break)
            shape += std::string(kop_info(static_cast<KOp>(word_op(w))).mnemonic) + " ";
    }
    EXPECT_EQ(shape, "if else end loop if break end end ");
    expect_only_kloops_added(source);
}

TEST(LoopKernels, AnOuterLoopThatStaysScalarLetsItsInnerLoopsTurn) {
    const std::string source = program("outer:  li r3, 0\n"
                                       "inner:  ld.f64 f0, xs[r3]\n"
                                       "        st.f64 ys[r3], f0\n"
                                       "        addi r3, r3, 1\n"
                                       "        blt r3, r2, inner\n"
                                       "        print r1\n"
                                       "        addi r1, r1, 1\n"
                                       "        blt r1, r9, outer\n");
    AssembleResult r = assemble_with(source, true);
    ASSERT_EQ(r.loop_report.size(), 2u);
    EXPECT_EQ(r.loop_report[0], "t.pasm:13: not turned into a kernel: print (line 18) reads or writes the program's input or output");
    EXPECT_EQ(r.loop_report[1], "t.pasm:14: loop turned into kernel main.loop14 (one lane per iteration)");
    expect_only_kloops_added(source);
}

// A register read after the loop that some iterations leave unwritten (an
// escape loop's temporaries) is a last value: kloop takes it from the last
// lane whose mask says it wrote it. One that an iteration reads before
// writing still carries a value.
TEST(LoopKernels, RegistersSomeIterationsWriteAreLastValues) {
    const std::string source = program("loop:   bge r1, r2, done\n"
                                       "        ld.f64 f0, xs[r1]\n"
                                       "        li r5, 0\n"
                                       "inner:  bge r5, r9, idone\n"
                                       "        fadd f3, f0, f0\n"
                                       "        addi r5, r5, 1\n"
                                       "        jmp inner\n"
                                       "idone:  st.f64 ys[r1], f0\n"
                                       "        addi r1, r1, 1\n"
                                       "        jmp loop\n"
                                       "done:\n");
    EXPECT_EQ(report_of(source), "loop turned into kernel main.loop13 (one lane per iteration; last value f3)");
    const Module m = *assemble_with(source, true).module;
    const LoopKernel& l = m.loop_kernels[0];
    ASSERT_EQ(l.reductions.size(), 2u);
    EXPECT_EQ(l.reductions[0].op, ReduceOp::Last);
    EXPECT_TRUE(l.reductions[0].is_float);
    EXPECT_EQ(l.reductions[1].op, ReduceOp::LastMask);
    EXPECT_EQ(report_of(program("loop:   bge r1, r2, done\n"
                                "        ld.f64 f0, xs[r1]\n"
                                "        feq r4, f0, f3\n"
                                "        bz r4, skip\n"
                                "        fadd f3, f0, f0\n"
                                "skip:   addi r1, r1, 1\n"
                                "        jmp loop\n"
                                "done:\n")),
              "not turned into a kernel: f3 carries a value between iterations");
}

// The escape loop of a Mandelbrot pixel loop, small: the words of an inner
// loop's iteration as the kernel runs them. A branch's test is one compare
// (or none: bnz tests its register), and the mask bits of last values
// written in one straight run are one `ori`; a bit written after a break
// cannot join the ones before it.
TEST(LoopKernels, InnerLoopsRunAsFewWordsAsTheScalarLoop) {
    const std::string source = program("loop:   bge r1, r2, done\n"
                                       "        ld.f64 f0, xs[r1]\n"
                                       "        li r5, 0\n"
                                       "inner:  bge r5, r9, idone\n"
                                       "        fadd f3, f0, f0\n"
                                       "        fmul f4, f3, f3\n"
                                       "        flt r4, f7, f4\n"
                                       "        bnz r4, idone\n"
                                       "        fadd f5, f0, f7\n"
                                       "        fadd f5, f5, f5\n"
                                       "        addi r5, r5, 1\n"
                                       "        jmp inner\n"
                                       "idone:  st.f64 ys[r1], f0\n"
                                       "        addi r1, r1, 1\n"
                                       "        jmp loop\n"
                                       "done:\n");
    EXPECT_EQ(report_of(source), "loop turned into kernel main.loop13 (one lane per iteration; last value r4, f3, f4, f5)");
    const Module m = *assemble_with(source, true).module;
    const std::uint32_t k = m.loop_kernels[0].kernel;
    const std::vector<Word>& code = m.kernels[k].code;
    const auto loop = std::find_if(code.begin(), code.end(), [](Word w) { return static_cast<KOp>(word_op(w)) == KOp::Loop; });
    ASSERT_NE(loop, code.end());
    const auto from = static_cast<std::size_t>(loop - code.begin());
    EXPECT_EQ(kernel_text(m, k, from, from + 18), "loop\n"
                                                  "le r3, r9, r5\n"  // bge r5, r9: leave when r9 <= r5
                                                  "if r3\n"
                                                  "break\n"
                                                  "end\n"
                                                  "fadd f3, f0, f0\n"
                                                  "ori r6, r6, 7\n"  // r4, f3 and f4: this run writes all three
                                                  "fmul f4, f3, f3\n"
                                                  "flt r4, f7, f4\n"
                                                  "if r4\n"  // bnz r4
                                                  "break\n"
                                                  "end\n"
                                                  "fadd f5, f0, f7\n"
                                                  "ori r6, r6, 8\n"  // f5, once for its two writes
                                                  "fadd f5, f5, f5\n"
                                                  "addi r5, r5, 1\n"
                                                  "end\n"
                                                  "stf ys[r1], f0\n");
    expect_only_kloops_added(source);
}

// place_mask_bits on kernel code written by hand: the mask is r10.
std::string placed(const std::string& body) {
    const std::string source = ".kernel k (out m: i64[i])\n"
                               "        .wide\n"
                               "        gid r0\n"
                               "        li r10, 0\n" + body +
                               "        st m[r0], r10\n"
                               ".end\n"
                               ".proc main\n        halt\n.end\n";
    AssembleResult r = assemble_with(source, false);
    if (!r.ok()) return "";
    Module m = *r.module;
    Kernel& k = m.kernels[0];
    const std::size_t end = loops::place_mask_bits(k, 2, k.code.size() - 1, 10);
    EXPECT_EQ(k.lines.size(), k.code.size());
    return kernel_text(m, 0, 2, end);
}

TEST(LoopKernels, MaskBitsMergeWhereTheyCannotChangeTheMask) {
    // One straight run: one ori, at the first.
    EXPECT_EQ(placed("fadd f1, f2, f2\n ori r10, r10, 1\n fadd f3, f1, f1\n ori r10, r10, 2\n ori r10, r10, 1\n"),
              "fadd f1, f2, f2\nori r10, r10, 3\nfadd f3, f1, f1\n");
    // Both parts of an if set bit 1: set before the if, whichever runs; bit 2
    // only in one part stays there.
    EXPECT_EQ(placed("if r1\n fadd f1, f2, f2\n ori r10, r10, 1\n else\n fsub f1, f2, f2\n ori r10, r10, 3\n end\n"),
              "ori r10, r10, 1\nif r1\nfadd f1, f2, f2\nelse\nfsub f1, f2, f2\nori r10, r10, 2\nend\n");
    // A bit set already on every path here goes.
    EXPECT_EQ(placed("fadd f1, f2, f2\n ori r10, r10, 1\n if r1\n fadd f1, f1, f1\n ori r10, r10, 3\n end\n"),
              "fadd f1, f2, f2\nori r10, r10, 1\nif r1\nfadd f1, f1, f1\nori r10, r10, 2\nend\n");
    // A loop's body sets bit 1 before it can break: the loop sets it, once.
    EXPECT_EQ(placed("loop\n fadd f1, f2, f2\n ori r10, r10, 1\n lt r2, r3, r4\n if r2\n break\n end\n end\n"),
              "ori r10, r10, 1\nloop\nfadd f1, f2, f2\nlt r2, r3, r4\nif r2\nbreak\nend\nend\n");
}

TEST(LoopKernels, MaskBitsStayWhereABranchMaySkipThem) {
    // An if without an else part, or a break, between two writes: nothing merges.
    const std::string skipped = "if r1\nfadd f1, f2, f2\nori r10, r10, 1\nend\nfadd f3, f2, f2\nori r10, r10, 2\n";
    EXPECT_EQ(placed(skipped), skipped);
    const std::string broken = "loop\nif r1\nbreak\nend\nfadd f1, f2, f2\nori r10, r10, 1\nif r2\nbreak\nend\n"
                               "fadd f3, f2, f2\nori r10, r10, 2\nend\n";
    EXPECT_EQ(placed(broken), broken);
    // A continue ends the run too: bit 2 stays after it (bit 1, set before
    // the body can leave, moves out of the loop).
    EXPECT_EQ(placed("loop\nfadd f1, f2, f2\nori r10, r10, 1\nif r1\ncontinue\nend\nfadd f3, f2, f2\nori r10, r10, 2\n"
                     "if r2\nbreak\nend\nend\n"),
              "ori r10, r10, 1\nloop\nfadd f1, f2, f2\nif r1\ncontinue\nend\nfadd f3, f2, f2\nori r10, r10, 2\n"
              "if r2\nbreak\nend\nend\n");
}

TEST(LoopKernels, NoLoopKernelsLeavesTheModuleAlone) {
    AssembleResult r = assemble_with(top_tested(""), false);
    EXPECT_TRUE(r.loop_report.empty());
    EXPECT_TRUE(r.module->loop_kernels.empty());
    for (Word w : r.module->code) EXPECT_NE(static_cast<Op>(word_op(w)), Op::Kloop);
}

}  // namespace
}  // namespace polymer
