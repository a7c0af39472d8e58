// The assembler on correct input: directives, literals, regions, kernels,
// labels, pools and launch sites, every opcode from its table example, and
// assemble -> disassemble -> assemble round trips of the samples.
#include <gtest/gtest.h>

#include <bit>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "assembler/disassembler.h"
#include "assembler_test_util.h"
#include "isa/module_io.h"
#include "isa/opcodes.h"

namespace polymer {
namespace {

using testing::assemble_ok;
using testing::in_proc;

Op op_at(const Module& m, std::size_t pc) { return static_cast<Op>(word_op(m.code.at(pc))); }

TEST(AssemblerDirectives, ModuleNameFromDirectiveOrFileStem) {
    EXPECT_EQ(assemble_ok(".module hello\n" + in_proc({})).name, "hello");
    EXPECT_EQ(assemble_ok(in_proc({}), "some/dir/prog.pasm").name, "prog");
    // A stem that is not an identifier still round-trips through `.module`.
    EXPECT_EQ(assemble_ok(".module 01-hello\n" + in_proc({})).name, "01-hello");
}

TEST(AssemblerDirectives, FileSetsSourceFile) {
    EXPECT_EQ(assemble_ok(in_proc({}), "a/b.pasm").source_file, "a/b.pasm");
    EXPECT_EQ(assemble_ok(".file \"orig.pasm\"\n" + in_proc({}), "a/b.pasm").source_file, "orig.pasm");
}

TEST(AssemblerDirectives, LinesDefaultToTheMnemonicAndLocOverridesOneInstruction) {
    Module m = assemble_ok(".proc main\n    li r1, 1\n        .loc 100 7\n  li r2, 2\n\tli r3, 3\n        halt\n.end\n");
    ASSERT_EQ(m.lines.size(), 4u);
    EXPECT_EQ(m.lines[0], (SourceLoc{2, 5}));
    EXPECT_EQ(m.lines[1], (SourceLoc{100, 7}));
    EXPECT_EQ(m.lines[2], (SourceLoc{5, 2}));
    EXPECT_EQ(m.lines[3], (SourceLoc{6, 9}));
}

TEST(AssemblerDirectives, KernelRequirementsAndLines) {
    Module m = assemble_ok(
        ".kernel k (in x: f32[i], out y: u32[], inout z: i32[i], a: f32, n: i32)\n"
        "        .requires gpu\n"
        "        .requires mem >= 4G\n"
        "        .prefers gpu\n"
        "        gid r0\n"
        "        .loc 9 3\n"
        "        exit\n"
        ".end\n");
    ASSERT_EQ(m.kernels.size(), 1u);
    const Kernel& k = m.kernels[0];
    EXPECT_EQ(k.name, "k");
    EXPECT_TRUE(k.requirements.requires_gpu);
    EXPECT_TRUE(k.requirements.prefers_gpu);
    EXPECT_EQ(k.requirements.min_memory, std::uint64_t{4} << 30);
    ASSERT_EQ(k.params.size(), 5u);
    EXPECT_EQ(k.params[0], (KernelParam{"x", ParamKind::Buffer, Access::In, ElemType::F32, Indexing::Element}));
    EXPECT_EQ(k.params[1], (KernelParam{"y", ParamKind::Buffer, Access::Out, ElemType::U32, Indexing::Broadcast}));
    EXPECT_EQ(k.params[2], (KernelParam{"z", ParamKind::Buffer, Access::InOut, ElemType::I32, Indexing::Element}));
    EXPECT_EQ(k.params[3], (KernelParam{"a", ParamKind::Uniform, Access::In, ElemType::F32, Indexing::Element}));
    EXPECT_EQ(k.params[4], (KernelParam{"n", ParamKind::Uniform, Access::In, ElemType::I32, Indexing::Element}));
    ASSERT_EQ(k.code.size(), 2u);
    EXPECT_EQ(k.lines[0], (SourceLoc{5, 9}));
    EXPECT_EQ(k.lines[1], (SourceLoc{9, 3}));
}

TEST(AssemblerDirectives, RequiresMemSizeSuffixes) {
    auto mem = [](std::string size) {
        Module m = assemble_ok(".kernel k ()\n .requires mem >= " + size + "\n exit\n.end\n");
        return m.kernels.at(0).requirements.min_memory;
    };
    EXPECT_EQ(mem("1000"), 1000u);
    EXPECT_EQ(mem("3K"), 3u * 1024);
    EXPECT_EQ(mem("512M"), 512u << 20);
    EXPECT_EQ(mem("2T"), std::uint64_t{2} << 40);
}

TEST(AssemblerRegions, EveryInitialiser) {
    Module m = assemble_ok(
        ".region zs    f32[4096]\n"
        ".region ones  f64[100] fill 1.0\n"
        ".region xs    f32[8] range 0, 0.5\n"
        ".region primes i32[] = 2, 3, 5, 7, 11\n"
        ".region small i64[3] = 1, -2, 3\n"
        ".region msg   u8[] \"Hi\\n\"\n"
        ".region sevens i32[5] fill 7\n"
        ".region down  i64[4] range 10, -3\n"
        ".region bytes u8[2] = 0xff, 'A'\n" +
        in_proc({"len r1, zs", "len r1, ones", "len r1, xs", "len r1, primes", "len r1, small", "len r1, msg",
                 "len r1, sevens", "len r1, down", "len r1, bytes"}));
    ASSERT_EQ(m.regions.size(), 9u);
    const auto& r = m.regions;
    EXPECT_EQ(r[0].name, "zs");
    EXPECT_EQ(r[0].type, ElemType::F32);
    EXPECT_EQ(r[0].length, 4096u);
    EXPECT_EQ(r[0].init, RegionInit::Zeros);
    EXPECT_EQ(r[1].init, RegionInit::Fill);
    EXPECT_EQ(r[1].float_value0, 1.0);
    EXPECT_EQ(r[2].init, RegionInit::Range);
    EXPECT_EQ(r[2].float_value0, 0.0);
    EXPECT_EQ(r[2].float_value1, 0.5);
    EXPECT_EQ(r[3].init, RegionInit::List);
    EXPECT_EQ(r[3].length, 5u);
    std::int32_t primes[5];
    ASSERT_EQ(r[3].data.size(), sizeof primes);
    std::memcpy(primes, r[3].data.data(), sizeof primes);
    EXPECT_EQ(primes[4], 11);
    std::int64_t small[3];
    ASSERT_EQ(r[4].data.size(), sizeof small);
    std::memcpy(small, r[4].data.data(), sizeof small);
    EXPECT_EQ(small[1], -2);
    EXPECT_EQ(r[5].init, RegionInit::String);
    EXPECT_EQ(r[5].type, ElemType::U8);
    EXPECT_EQ(r[5].length, 3u);
    EXPECT_EQ(r[5].data, (std::vector<std::uint8_t>{'H', 'i', '\n'}));
    EXPECT_EQ(r[6].int_value0, 7);
    EXPECT_EQ(r[7].int_value0, 10);
    EXPECT_EQ(r[7].int_value1, -3);
    EXPECT_EQ(r[8].data, (std::vector<std::uint8_t>{0xff, 'A'}));
    // Region operands are numbered in declaration order.
    EXPECT_EQ(word_b(m.code[5]), 5u);
}

// `distributed` after the initialiser (zeros, written out or not); `.equ`
// constants work in the length as in any region.
TEST(AssemblerRegions, Distributed) {
    Module m = assemble_ok(
        ".equ N, 1048576\n"
        ".region big   f32[N] distributed\n"
        ".region wide  f64[16] zeros distributed\n"
        ".region plain i32[4]\n" +
        in_proc({"len r1, big", "len r1, wide", "len r1, plain"}));
    ASSERT_EQ(m.regions.size(), 3u);
    EXPECT_TRUE(m.regions[0].distributed);
    EXPECT_EQ(m.regions[0].length, 1u << 20);
    EXPECT_EQ(m.regions[0].init, RegionInit::Zeros);
    EXPECT_TRUE(m.regions[1].distributed);
    EXPECT_EQ(m.regions[1].length, 16u);
    EXPECT_EQ(m.regions[1].type, ElemType::F64);
    EXPECT_FALSE(m.regions[2].distributed);
}

TEST(AssemblerRegions, FloatListsStoreTheirElementType) {
    Module m = assemble_ok(".region a f32[] = 1.5, -2, inf\n.region b f64[2] = nan, -0.0\n" +
                           in_proc({"len r1, a", "len r1, b"}));
    float a[3];
    std::memcpy(a, m.regions[0].data.data(), sizeof a);
    EXPECT_EQ(a[0], 1.5f);
    EXPECT_EQ(a[1], -2.0f);
    EXPECT_TRUE(std::isinf(a[2]));
    double b[2];
    std::memcpy(b, m.regions[1].data.data(), sizeof b);
    EXPECT_TRUE(std::isnan(b[0]));
    EXPECT_TRUE(std::signbit(b[1]));
}

TEST(AssemblerLiterals, IntegerForms) {
    Module m = assemble_ok(in_proc({"li r1, 42", "li r1, -7", "li r1, 0x2a", "li r1, 0b1010", "li r1, 'A'",
                                    "li r1, '\\n'", "li r1, 1_000_000", "li r1, '\\x7f'", "li r1, 0X1F",
                                    "li r1, -2147483648", "li r1, 2147483647"}));
    std::vector<std::int32_t> want = {42, -7, 42, 10, 'A', '\n', 1000000, 0x7f, 31, INT32_MIN, INT32_MAX};
    for (std::size_t i = 0; i < want.size(); ++i) {
        EXPECT_EQ(op_at(m, i), Op::Li) << i;
        EXPECT_EQ(word_imm(m.code[i]), want[i]) << i;
    }
}

TEST(AssemblerLiterals, WideIntegersGoToTheConstantPoolDeduplicated) {
    Module m = assemble_ok(in_proc({"li r1, 5000000000", "li r2, -2147483649", "li r3, 5000000000",
                                    "li r4, 0xffffffffffffffff", "liw r5, 7", "li r6, 9223372036854775807",
                                    "li r7, -9223372036854775808"}));
    EXPECT_EQ(m.int_consts,
              (std::vector<std::int64_t>{5000000000, -2147483649LL, -1, 7, INT64_MAX, INT64_MIN}));
    std::vector<std::int32_t> index = {0, 1, 0, 2, 3, 4, 5};
    for (std::size_t i = 0; i < index.size(); ++i) {
        EXPECT_EQ(op_at(m, i), Op::Liw) << i;
        EXPECT_EQ(word_imm(m.code[i]), index[i]) << i;
        EXPECT_EQ(word_a(m.code[i]), i + 1) << i;
    }
}

TEST(AssemblerLiterals, FloatFormsAndPoolOrder) {
    Module m = assemble_ok(in_proc({"lif f1, 1.5", "lif f1, -0.25", "lif f1, 1e-3", "lif f1, 2.", "lif f1, inf",
                                    "lif f1, -inf", "lif f1, nan", "lif f1, 2", "lif f1, 1.5", "lif f1, -0.0",
                                    "lif f1, 0.0", "lif f1, 1_000.5", "lif f1, 2.5E+2", "lif f1, nan"}));
    const auto& k = m.float_consts;
    ASSERT_EQ(k.size(), 11u);
    EXPECT_EQ(k[0], 1.5);
    EXPECT_EQ(k[1], -0.25);
    EXPECT_EQ(k[2], 1e-3);
    EXPECT_EQ(k[3], 2.0);
    EXPECT_EQ(k[4], INFINITY);
    EXPECT_EQ(k[5], -INFINITY);
    EXPECT_TRUE(std::isnan(k[6]));
    EXPECT_EQ(k[7], 0.0);
    EXPECT_TRUE(std::signbit(k[7]));  // -0.0 is its own constant, apart from 0.0
    EXPECT_EQ(k[8], 0.0);
    EXPECT_FALSE(std::signbit(k[8]));
    EXPECT_EQ(k[9], 1000.5);
    EXPECT_EQ(k[10], 250.0);
    std::vector<std::int32_t> index = {0, 1, 2, 3, 4, 5, 6, 3, 0, 7, 8, 9, 10, 6};
    for (std::size_t i = 0; i < index.size(); ++i) {
        EXPECT_EQ(op_at(m, i), Op::Lif) << i;
        EXPECT_EQ(word_imm(m.code[i]), index[i]) << i;
    }
}

TEST(AssemblerLiterals, MinusZeroIntegerSpellingIsNegativeZeroAsAFloat) {
    Module m = assemble_ok(in_proc({"lif f1, -0", "lif f2, 0"}));
    ASSERT_EQ(m.float_consts.size(), 2u);
    EXPECT_TRUE(std::signbit(m.float_consts[0]));
    EXPECT_FALSE(std::signbit(m.float_consts[1]));
}

TEST(AssemblerLiterals, Binary32RangeEndsWhereRoundingGivesInfinity) {
    // FLT_MAX's shortest spelling reads as a binary64 just above FLT_MAX but
    // rounds to it; only values that round to infinity are out of range.
    Module m = assemble_ok(".region a f32[] = 3.4028235e38, -3.4028235e38\n"
                           ".kernel k ()\n lif f1, 3.4028235e38\n exit\n.end\n" + in_proc({"len r1, a"}));
    float a[2];
    std::memcpy(a, m.regions[0].data.data(), sizeof a);
    EXPECT_EQ(a[0], FLT_MAX);
    EXPECT_EQ(a[1], -FLT_MAX);
    EXPECT_EQ(static_cast<std::uint32_t>(word_imm(m.kernels[0].code[0])), std::bit_cast<std::uint32_t>(FLT_MAX));
}

TEST(AssemblerLiterals, StringsWithEscapesDeduplicated) {
    Module m = assemble_ok(in_proc({R"(prints "a\tb\n")", R"(prints "q\"\\\'\r\0\x41")", R"(prints "a\tb\n")",
                                    R"(prints "")", "prints \"; not a comment\""}));
    ASSERT_EQ(m.strings.size(), 4u);
    EXPECT_EQ(m.strings[0], "a\tb\n");
    EXPECT_EQ(m.strings[1], std::string("q\"\\'\r\0A", 7));
    EXPECT_EQ(m.strings[2], "");
    EXPECT_EQ(m.strings[3], "; not a comment");
    EXPECT_EQ(word_imm(m.code[2]), 0);
}

TEST(AssemblerLiterals, KernelLifStoresBinary32Bits) {
    Module m = assemble_ok(".kernel k ()\n lif f1, 0.1\n lif f2, -2\n lif f3, -inf\n exit\n.end\n");
    const Kernel& k = m.kernels[0];
    EXPECT_EQ(static_cast<std::uint32_t>(word_imm(k.code[0])), std::bit_cast<std::uint32_t>(0.1f));
    EXPECT_EQ(static_cast<std::uint32_t>(word_imm(k.code[1])), std::bit_cast<std::uint32_t>(-2.0f));
    EXPECT_EQ(static_cast<std::uint32_t>(word_imm(k.code[2])), std::bit_cast<std::uint32_t>(-INFINITY));
    EXPECT_TRUE(m.float_consts.empty());
}

TEST(AssemblerLabels, ForwardReferencesAndProcedureLocalNames) {
    Module m = assemble_ok(
        ".proc main\n"
        "        call helper\n"
        "loop:   bnz r1, done\n"
        "        jmp loop\n"
        "done:\n"
        "        halt\n"
        ".end\n"
        ".proc helper\n"
        "loop:\n"
        "        addi r1, r1, -1\n"
        "        bnz r1, loop\n"
        "        ret\n"
        ".end\n");
    ASSERT_EQ(m.procs.size(), 2u);
    EXPECT_EQ(m.procs[0], (Procedure{"main", 0, 4}));
    EXPECT_EQ(m.procs[1], (Procedure{"helper", 4, 3}));
    EXPECT_EQ(m.labels, (std::vector<Label>{{"loop", 1}, {"done", 3}, {"loop", 4}}));
    EXPECT_EQ(op_at(m, 0), Op::Call);
    EXPECT_EQ(word_imm(m.code[0]), 1);  // helper, declared later
    EXPECT_EQ(word_imm(m.code[1]), 3);  // forward: done
    EXPECT_EQ(word_imm(m.code[2]), 1);  // main's loop
    EXPECT_EQ(word_imm(m.code[5]), 4);  // helper's loop
}

TEST(AssemblerKernels, LaunchSitesCheckAndRecordArguments) {
    Module m = assemble_ok(
        ".region xs f32[4]\n.region ys f32[4]\n.region zs f32[4]\n.region cs i32[4]\n" +
        in_proc({"launch saxpy, r3, xs, ys, zs, f1", "launch count, r4, cs, r9", "launch saxpy, r5, zs, xs, ys, f2"}) +
        ".kernel count (inout c: i32[i], n: i32)\n exit\n.end\n"
        ".kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)\n"
        "        gid r0\n        ldf f0, x[r0]\n        ldf f1, y[r0]\n        ldpf f2, a\n"
        "        ffma f3, f2, f0, f1\n        stf z[r0], f3\n.end\n");
    ASSERT_EQ(m.kernels.size(), 2u);
    EXPECT_EQ(m.kernels[0].name, "count");
    ASSERT_EQ(m.launches.size(), 3u);
    using K = LaunchArg::Kind;
    EXPECT_EQ(m.launches[0], (LaunchSite{1, {{K::Region, 0}, {K::Region, 1}, {K::Region, 2}, {K::FloatReg, 1}}}));
    EXPECT_EQ(m.launches[1], (LaunchSite{0, {{K::Region, 3}, {K::IntReg, 9}}}));
    EXPECT_EQ(m.launches[2], (LaunchSite{1, {{K::Region, 2}, {K::Region, 0}, {K::Region, 1}, {K::FloatReg, 2}}}));
    for (std::uint32_t i = 0; i < 3; ++i) {
        EXPECT_EQ(op_at(m, i), Op::Launch);
        EXPECT_EQ(word_imm(m.code[i]), static_cast<std::int32_t>(i));
        EXPECT_EQ(word_a(m.code[i]), 3 + i);
    }
    const Kernel& k = m.kernels[1];
    ASSERT_EQ(k.code.size(), 6u);
    EXPECT_EQ(k.code[4], make_word(static_cast<std::uint8_t>(KOp::Ffma), 3, 2, 0, 1));
    EXPECT_EQ(k.code[5], make_word(static_cast<std::uint8_t>(KOp::Stf), 3, 0, 2));
}

TEST(AssemblerKernels, StructuredControlFlowNests) {
    Module m = assemble_ok(
        ".kernel k (inout x: f32[i])\n"
        "        gid r0\n"
        "        loop\n"
        "            if r1\n"
        "                break\n"
        "            else\n"
        "                loop\n"
        "                    continue\n"
        "                end\n"
        "            end\n"
        "        end\n"
        ".end\n");
    EXPECT_EQ(m.kernels[0].code.size(), 10u);
}

// --- every opcode from its table example -------------------------------------

// Collapses the disassembler's column padding: "li      r1, 5" -> "li r1, 5".
std::string squeeze(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c != ' ' || out.empty() || out.back() != ' ') out += c;
    return out;
}

// The element type the example's regions need: ld.T/st.T name it, integer
// vector ops need an integer type, everything else is fine with f32.
ElemType example_region_type(Op op) {
    const OpInfo& info = op_info(op);
    if (info.elem) return *info.elem;
    if (info.text) return ElemType::U8;
    return info.vector.kind == VectorKind::Int ? ElemType::I64 : ElemType::F32;
}

TEST(AssemblerOpcodes, EveryProcedureOpcodeAssemblesFromItsExample) {
    for (Op op : kAllOps) {
        // Written by the assembler in front of a loop, refused in source
        // (LoopKernelSource below); run in tests/vm/loop_kernel_test.cpp.
        if (has_operand_kind(op, OperandKind::LoopSite)) continue;
        const OpInfo& info = op_info(op);
        std::string type(elem_type_name(example_region_type(op)));
        std::string source;
        for (const char* name : {"text", "xs", "ys", "zs", "buf", "mask", "sums", "a", "b", "c"})
            source += ".region " + std::string(name) + " " + type + "[4]\n";
        source += ".kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)\n exit\n.end\n";
        source += ".proc main\nloop:\n        " + std::string(info.example) + "\ndone:\n        halt\n.end\n";
        source += ".proc fib\n        ret\n.end\n";
        // The procs examples' names, after main so that its line stays 16.
        source += ".proc worker\n        ret\n.end\n";
        source += ".channel pings 4\n.channel pongs 4\n.channel results 4\n.barrier step 2\n";
        SCOPED_TRACE(info.example);
        Module m = assemble_ok(source);
        ASSERT_FALSE(m.code.empty());
        EXPECT_EQ(word_op(m.code[0]), static_cast<std::uint8_t>(op)) << info.mnemonic;
        EXPECT_EQ(m.lines[0], (SourceLoc{16, 9}));
        // Every operand landed in the field its format names: the
        // disassembler, reading the fields by format, gives the example back.
        // (Hex literals come back in decimal.)
        std::string text = squeeze(disassemble_word(m, 0));
        if (info.example.find("0x") == std::string_view::npos) {
            EXPECT_EQ(text, info.example);
        }
        std::string again = source;
        again.replace(again.find(info.example), info.example.size(), text);
        EXPECT_EQ(assemble_ok(again).code, m.code);  // 10 regions, 3 kernel lines, .proc, label
    }
}

// kloop in source: a clear error at the word, not a module with a loop
// kernel entry nobody made.
TEST(AssemblerOpcodes, LoopKernelWordsAreRefusedInSource) {
    for (Op op : kAllOps) {
        if (!has_operand_kind(op, OperandKind::LoopSite)) continue;
        const std::string source = ".proc main\n        " + std::string(op_info(op).example) + "\n        halt\n.end\n";
        AssembleResult r = assemble(source, {.filename = "k.pasm"});
        ASSERT_FALSE(r.ok()) << op_info(op).mnemonic;
        ASSERT_FALSE(r.diagnostics.empty());
        EXPECT_EQ(r.diagnostics[0].line, 2u);
        EXPECT_NE(r.diagnostics[0].message.find("written by the assembler in front of a loop"), std::string::npos)
            << r.diagnostics[0].message;
    }
}

TEST(AssemblerOpcodes, EveryKernelOpcodeAssemblesFromItsExample) {
    for (KOp op : kAllKOps) {
        const KOpInfo& info = kop_info(op);
        // Blocks around the example so that the body is balanced.
        std::string before, after;
        switch (kop_effect(op)) {
        case KEffect::If: case KEffect::Loop: after = "end\n"; break;
        case KEffect::Else: before = "if r1\n"; after = "end\n"; break;
        case KEffect::End: before = "loop\n"; break;
        case KEffect::Break: case KEffect::Continue: before = "loop\n"; after = "end\n"; break;
        case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Load: case KEffect::Store:
        case KEffect::Atomic: case KEffect::Exit:
            break;
        }
        std::string source =
            ".kernel k (inout x: f32[i], inout z: f32[i], inout counts: i32[i], inout hist: u32[i], a: f32, n: i32)\n" +
            before + std::string(info.example) + "\n" + after + ".end\n";
        SCOPED_TRACE(info.example);
        Module m = assemble_ok(source);
        ASSERT_EQ(m.kernels.size(), 1u);
        std::size_t pc = before.empty() ? 0 : 1;
        ASSERT_GT(m.kernels[0].code.size(), pc);
        EXPECT_EQ(word_op(m.kernels[0].code[pc]), static_cast<std::uint8_t>(op)) << info.mnemonic;
        // Hex literals come back in decimal (0x9E3779B1 as -1640531535): the
        // same bits, so the text assembles to the same word.
        const std::string text = squeeze(disassemble_kernel_word(m, 0, static_cast<std::uint32_t>(pc)));
        if (info.example.find("0x") == std::string_view::npos) {
            EXPECT_EQ(text, info.example);
        }
        std::string again = source;
        again.replace(again.find(info.example), info.example.size(), text);
        EXPECT_EQ(assemble_ok(again).kernels.at(0).code, m.kernels[0].code) << text;
    }
}

// Kernel immediates are 32 bits: a literal that fits them signed or unsigned
// is its bit pattern; shift amounts are 0..31.
TEST(AssemblerKernels, ImmediatesAreThirtyTwoBitPatterns) {
    Module m = assemble_ok(
        ".kernel k (out o: i32[i])\n"
        "        li r1, 0x9E3779B1\n"
        "        li r2, -1640531535\n"
        "        li r3, 4294967295\n"
        "        li r4, -1\n"
        "        li r5, 0xFFFFFFFF\n"
        "        li r6, -2147483648\n"
        "        xori r7, r1, 0x80000000\n"
        "        andi r8, r1, 0b1111\n"
        "        shli r9, r1, 31\n"
        "        sari r10, r1, 0\n"
        ".end\n");
    const std::vector<Word>& code = m.kernels.at(0).code;
    ASSERT_EQ(code.size(), 10u);
    auto imm = [&](std::size_t pc) { return static_cast<std::uint32_t>(word_imm(code[pc])); };
    EXPECT_EQ(imm(0), 0x9E3779B1u);
    EXPECT_EQ(imm(1), 0x9E3779B1u);
    EXPECT_EQ(imm(2), 0xFFFFFFFFu);
    EXPECT_EQ(imm(3), 0xFFFFFFFFu);
    EXPECT_EQ(imm(4), 0xFFFFFFFFu);
    EXPECT_EQ(imm(5), 0x80000000u);
    EXPECT_EQ(imm(6), 0x80000000u);
    EXPECT_EQ(imm(7), 15u);
    EXPECT_EQ(imm(8), 31u);
    EXPECT_EQ(imm(9), 0u);
    // A procedure's `li` is 64-bit: 0x9E3779B1 stays positive there (liw).
    Module p = assemble_ok(".proc main\n        li r1, 0x9E3779B1\n        halt\n.end\n");
    EXPECT_EQ(word_op(p.code.at(0)), static_cast<std::uint8_t>(Op::Liw));
    EXPECT_EQ(p.int_consts.at(0), 0x9E3779B1);
}

// --- round trips ----------------------------------------------------------------

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(AssemblerRoundTrip, SamplesDisassembleToTheSameBytes) {
    std::size_t count = 0;
    for (const auto& entry : std::filesystem::directory_iterator(POLYMER_SOURCE_DIR "/samples")) {
        if (entry.path().extension() != ".pasm") continue;
        SCOPED_TRACE(entry.path().string());
        Module first = assemble_ok(read_text(entry.path()), entry.path().string());
        Module second = assemble_ok(disassemble(first), "disassembly.pasm");
        EXPECT_EQ(write_module(first), write_module(second));
        ++count;
    }
    EXPECT_GE(count, 1u);
}

TEST(AssemblerRoundTrip, KernelsRegionsAndConstantsSurvive) {
    std::string source =
        ".module trip\n"
        ".region xs f32[4] range 0, 0.1\n.region ys f32[] = 1.5, nan, -0.0, 3e38\n.region zs f32[4] fill -inf\n"
        ".region s u8[] \"a\\x00\\x01\\\"\"\n.region n i64[2] = -9223372036854775808, 9223372036854775807\n" +
        in_proc({"launch k, r1, xs, ys, zs, f3, r4", "lif f1, 0.1", "li r2, 1099511627776", "printr s, r1, r2",
                 "ld.i64 r1, n[r2]", "prints \"\\x00\\x7f\\n\""}) +
        ".kernel k (in x: f32[i], in y: f32[], out z: f32[i], a: f32, m: i32)\n .prefers gpu\n"
        " .requires mem >= 3M\n gid r0\n ldf f1, x[r0]\n lif f2, 0.1\n lif f3, 16777217\n stf z[r0], f1\n.end\n";
    Module first = assemble_ok(source);
    Module second = assemble_ok(disassemble(first));
    EXPECT_EQ(first, second);
    DisassembleOptions no_loc;
    no_loc.source_locations = false;
    Module third = assemble_ok(disassemble(first, no_loc));
    EXPECT_EQ(first.code, third.code);
    EXPECT_EQ(first.kernels[0].code, third.kernels[0].code);
}

}  // namespace
}  // namespace polymer
