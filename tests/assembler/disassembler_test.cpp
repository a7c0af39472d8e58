// The disassembler on hand-built modules: every opcode from a hand-encoded
// word, a whole module against golden text, the literal printers, listings,
// and modules with bad indices (no crash).
#include <gtest/gtest.h>

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <random>
#include <sstream>

#include "assembler/assembler.h"
#include "assembler/disassembler.h"
#include "isa/frame_analysis.h"
#include "isa/module_io.h"
#include "isa/opcodes.h"
#include "isa/verifier.h"
#include "roundtrip_corpus.h"

namespace polymer {
namespace {

// Collapses runs of spaces so tests do not depend on column alignment.
std::string squeeze(std::string_view s) {
    std::string out;
    for (char c : s)
        if (c != ' ' || out.empty() || out.back() != ' ') out += c;
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out;
}

std::vector<std::uint8_t> bytes_of(const auto& values) {
    std::vector<std::uint8_t> out(values.size() * sizeof(values[0]));
    std::memcpy(out.data(), values.data(), out.size());
    return out;
}

// A module whose pools and tables have at least five entries, so that any
// field value 1..4 names something: region i is "g<i>", proc i is "p<i>", the
// label at pc 4 is "lab4", parameter i of kernel 0 is "q<i>", channel i
// "ch<i>", barrier i "bar<i>".
Module context_module() {
    Module m;
    m.name = "ctx";
    for (int i = 0; i < 5; ++i) {
        RegionDecl r;
        r.name = "g" + std::to_string(i);
        r.type = ElemType::F32;
        r.length = 8;
        m.regions.push_back(r);
        m.procs.push_back({"p" + std::to_string(i), static_cast<std::uint32_t>(i * 2), 2});
        m.channels.push_back({"ch" + std::to_string(i), 4});
        m.barriers.push_back({"bar" + std::to_string(i), 2});
    }
    m.code.assign(10, make_word(static_cast<std::uint8_t>(Op::Nop)));
    m.int_consts = {0, 1, 2, 3, -5000000000};
    m.float_consts = {0, 1, 2, 3, 0.1};
    m.strings = {"", "a", "b", "c", "hi\n\"x\"\t\\"};
    m.labels = {{"lab4", 4}};
    Kernel k;
    k.name = "kern";
    for (int i = 0; i < 5; ++i) k.params.push_back({"q" + std::to_string(i), ParamKind::Buffer, Access::InOut});
    m.kernels.push_back(k);
    for (int i = 0; i < 5; ++i) m.launches.push_back({0, {}});
    m.launches[4].args = {{LaunchArg::Kind::Region, 2}, {LaunchArg::Kind::IntReg, 7}, {LaunchArg::Kind::FloatReg, 9}};
    m.loop_kernels.resize(5);
    m.loop_kernels[4].header = 5;
    m.loop_kernels[4].end = 8;
    return m;
}

// The operands of a word with A=1, B=2, C=3, imm=4, written by hand per format
// (an oracle independent of the disassembler's format walk).
const std::map<Format, std::string>& expected_operands() {
    static const std::map<Format, std::string> table = {
        {Format::None, ""},
        {Format::R, "r1"},
        {Format::F, "f1"},
        {Format::RR, "r1, r2"},
        {Format::FF, "f1, f2"},
        {Format::RF, "r1, f2"},
        {Format::FR, "f1, r2"},
        {Format::RRR, "r1, r2, r3"},
        {Format::FFF, "f1, f2, f3"},
        {Format::FFFF, "f1, f2, f3, f4"},
        {Format::RFF, "r1, f2, f3"},
        {Format::RRI, "r1, r2, 4"},
        {Format::RI, "r1, 4"},
        {Format::FD, "f1, 4"},
        {Format::RD, "r1, 4"},
        {Format::RK, "r1, -5000000000"},
        {Format::FK, "f1, 0.1"},
        {Format::FI32, "f1, 6e-45"},  // the bits 4 as a binary32: a subnormal
        {Format::L, "lab4"},
        {Format::RL, "r1, lab4"},
        {Format::RRL, "r1, r2, lab4"},
        {Format::P, "p4"},
        {Format::S, "\"hi\\n\\\"x\\\"\\t\\\\\""},
        {Format::RM, "r1, g3[r2]"},
        {Format::FM, "f1, g3[r2]"},
        {Format::MR, "g3[r2], r1"},
        {Format::MF, "g3[r2], f1"},
        {Format::G, "g1"},
        {Format::RG, "r1, g2"},
        {Format::FG, "f1, g2"},
        {Format::GR, "g1, r2"},
        {Format::GF, "g1, f2"},
        {Format::GRR, "g1, r2, r3"},
        {Format::GG, "g1, g2"},
        {Format::GGG, "g1, g2, g3"},
        {Format::GGGG, "g1, g2, g3, g4"},
        {Format::GGF, "g1, g2, f3"},
        {Format::FGG, "f1, g2, g3"},
        {Format::RGG, "r1, g2, g3"},
        {Format::GGGR, "g1, g2, g3, r4"},
        {Format::Launch, "kern, r1, g2, r7, f9"},
        {Format::Loop, "4 ; kernel 'kern', the loop at words 5-7"},
        {Format::RPM, "r1, q3[r2]"},
        {Format::FPM, "f1, q3[r2]"},
        {Format::PMR, "q3[r2], r1"},
        {Format::PMF, "q3[r2], f1"},
        {Format::RP, "r1, q2"},
        {Format::FP, "f1, q2"},
        {Format::RPR, "r1, p4, r2"},
        {Format::RFR, "r1, f2, r3"},
        {Format::CR, "ch1, r2"},
        {Format::CF, "ch1, f2"},
        {Format::RC, "r1, ch2"},
        {Format::FC, "f1, ch2"},
        {Format::Barrier, "bar1"},
        {Format::CGRR, "ch1, g2, r3, r4"},
        {Format::RGRC, "r1, g2, r3, ch4"},
    };
    return table;
}

std::string expected_text(std::string_view mnemonic, Format f) {
    const std::string& ops = expected_operands().at(f);
    return ops.empty() ? std::string(mnemonic) : std::string(mnemonic) + " " + ops;
}

TEST(Disassembler, OracleCoversEveryFormat) { EXPECT_EQ(expected_operands().size(), kFormatCount); }

TEST(Disassembler, EveryOpcodeFromAHandEncodedWord) {
    Module m = context_module();
    for (Op op : kAllOps) {
        m.code[0] = make_word(static_cast<std::uint8_t>(op), 1, 2, 3, 4);
        EXPECT_EQ(squeeze(disassemble_word(m, 0)), expected_text(op_info(op).mnemonic, op_info(op).format))
            << "opcode " << op_info(op).mnemonic;
    }
}

TEST(Disassembler, EveryKernelOpcodeFromAHandEncodedWord) {
    Module m = context_module();
    for (KOp op : kAllKOps) {
        m.kernels[0].code = {make_word(static_cast<std::uint8_t>(op), 1, 2, 3, 4)};
        EXPECT_EQ(squeeze(disassemble_kernel_word(m, 0, 0)),
                  expected_text(kop_info(op).mnemonic, kop_info(op).format))
            << "kernel opcode " << kop_info(op).mnemonic;
    }
}

TEST(Disassembler, ImmediatesAreSigned) {
    Module m = context_module();
    m.code[0] = make_word(static_cast<std::uint8_t>(Op::Li), 3, 0, 0, -42);
    EXPECT_EQ(squeeze(disassemble_word(m, 0)), "li r3, -42");
    m.code[0] = make_word(static_cast<std::uint8_t>(Op::Addi), 1, 1, 0, INT32_MIN);
    EXPECT_EQ(squeeze(disassemble_word(m, 0)), "addi r1, r1, -2147483648");
}

TEST(Disassembler, BadIndicesAndOpcodesPrintPlaceholdersWithoutCrashing) {
    Module m = context_module();
    m.code[0] = make_word(250);
    EXPECT_EQ(disassemble_word(m, 0), "<bad opcode 250>");
    m.code[0] = make_word(static_cast<std::uint8_t>(Op::LdF32), 1, 2, 99);
    EXPECT_EQ(squeeze(disassemble_word(m, 0)), "ld.f32 f1, <bad region 99>[r2]");
    m.code[0] = make_word(static_cast<std::uint8_t>(Op::Liw), 1, 0, 0, -1);
    EXPECT_EQ(squeeze(disassemble_word(m, 0)), "liw r1, <bad constant 4294967295>");
    m.code[0] = make_word(static_cast<std::uint8_t>(Op::Launch), 1, 0, 0, 77);
    EXPECT_EQ(squeeze(disassemble_word(m, 0)), "launch <bad launch site 77>");
    EXPECT_EQ(disassemble_word(m, 1000), "<bad pc 1000>");
    EXPECT_EQ(disassemble_kernel_word(m, 5, 0), "<bad kernel 5>");
    m.regions[0].init = RegionInit::List;  // length 8 but no data: prints what there is
    EXPECT_NE(disassemble(m).find(".region g0 f32[8] ="), std::string::npos);
}

TEST(Disassembler, RandomWordsAndTablesNeverCrash) {
    std::mt19937_64 rng(5);
    for (int round = 0; round < 200; ++round) {
        Module m = context_module();
        for (Word& w : m.code) w = rng();
        for (Word& w : m.kernels[0].code = std::vector<Word>(rng() % 20)) w = rng();
        m.procs.push_back({"wild", static_cast<std::uint32_t>(rng() % 12), static_cast<std::uint32_t>(rng() % 30)});
        m.labels.push_back({"odd", static_cast<std::uint32_t>(rng())});
        m.lines.assign(rng() % 12, SourceLoc{static_cast<std::uint32_t>(rng() % 100), 1});
        std::string text = disassemble(m) + listing(m, "a\nb\n");
        EXPECT_FALSE(text.empty());
        for (std::uint32_t pc = 0; pc < m.code.size() + 2; ++pc) EXPECT_FALSE(disassemble_word(m, pc).empty());
    }
}

TEST(Disassembler, JumpWithoutALabelGetsASyntheticOne) {
    Module m;
    m.name = "t";
    m.code = {make_word(static_cast<std::uint8_t>(Op::Nop)), make_word(static_cast<std::uint8_t>(Op::Jmp), 0, 0, 0, 0)};
    m.procs = {{"main", 0, 2}};
    std::string text = disassemble(m, {.source_locations = false});
    EXPECT_NE(text.find("L0:\n        nop"), std::string::npos) << text;
    EXPECT_NE(text.find("jmp     L0"), std::string::npos) << text;
}

TEST(Disassembler, LabelsOnProcedureBoundaries) {
    Module m;
    m.name = "t";
    m.code = {make_word(static_cast<std::uint8_t>(Op::Ret)), make_word(static_cast<std::uint8_t>(Op::Jmp), 0, 0, 0, 1)};
    m.procs = {{"a", 0, 1}, {"main", 1, 1}};
    m.labels = {{"top", 1}, {"fin", 2}};
    EXPECT_EQ(disassemble(m, {.source_locations = false}),
              ".module t\n\n.proc a\n        ret\n.end\n"
              "\n.proc main\ntop:\n        jmp     top\nfin:\n.end\n");
}

TEST(LiteralText, DoublesAreShortestAndReadBack) {
    EXPECT_EQ(double_text(0.5), "0.5");
    EXPECT_EQ(double_text(1.0), "1.0");
    EXPECT_EQ(double_text(-0.0), "-0.0");
    EXPECT_EQ(double_text(0.1), "0.1");
    EXPECT_EQ(double_text(1e100), "1e100");
    EXPECT_EQ(double_text(1e-300), "1e-300");
    EXPECT_EQ(double_text(INFINITY), "inf");
    EXPECT_EQ(double_text(-INFINITY), "-inf");
    EXPECT_EQ(double_text(std::nan("")), "nan");
    std::mt19937_64 rng(7);
    for (int i = 0; i < 20000; ++i) {
        double v = std::bit_cast<double>(rng());
        if (!std::isfinite(v)) continue;
        std::string s = double_text(v);
        double back = 0;
        auto r = std::from_chars(s.data(), s.data() + s.size(), back);
        ASSERT_EQ(r.ptr, s.data() + s.size()) << s;
        ASSERT_EQ(std::bit_cast<std::uint64_t>(back), std::bit_cast<std::uint64_t>(v)) << s;
    }
}

TEST(LiteralText, FloatsReadBackThroughBinary64AndBinary32) {
    EXPECT_EQ(float_text(0.1f), "0.1");
    EXPECT_EQ(float_text(-0.0f), "-0.0");
    EXPECT_EQ(float_text(3.0f), "3.0");
    EXPECT_EQ(float_text(std::numeric_limits<float>::max()), "3.4028234663852886e38");  // not above FLT_MAX
    std::mt19937 rng(11);
    for (int i = 0; i < 20000; ++i) {
        float v = std::bit_cast<float>(static_cast<std::uint32_t>(rng()));
        if (!std::isfinite(v)) continue;
        std::string s = float_text(v);
        double as_double = 0;
        float as_float = 0;
        std::from_chars(s.data(), s.data() + s.size(), as_double);
        std::from_chars(s.data(), s.data() + s.size(), as_float);
        ASSERT_EQ(std::bit_cast<std::uint32_t>(static_cast<float>(as_double)), std::bit_cast<std::uint32_t>(v)) << s;
        ASSERT_EQ(std::bit_cast<std::uint32_t>(as_float), std::bit_cast<std::uint32_t>(v)) << s;
    }
}

TEST(LiteralText, StringsAreEscaped) {
    EXPECT_EQ(quoted("plain"), "\"plain\"");
    EXPECT_EQ(quoted("a\nb\tc\rd"), "\"a\\nb\\tc\\rd\"");
    EXPECT_EQ(quoted("q\"b\\"), "\"q\\\"b\\\\\"");
    EXPECT_EQ(quoted(std::string_view("z\0z", 3)), "\"z\\0z\"");
    EXPECT_EQ(quoted(std::string_view("\0" "7", 2)), "\"\\x007\"");  // "\07" could read as one escape
    EXPECT_EQ(quoted("\x01\x7f\xff"), "\"\\x01\\x7f\\xff\"");
}

// A module as the assembler would build it from the golden text below.
Module golden_module() {
    Module m;
    m.name = "golden";
    m.source_file = "golden.pasm";
    auto region = [&](std::string name, ElemType t, std::uint64_t len, RegionInit init) {
        RegionDecl r;
        r.name = std::move(name);
        r.type = t;
        r.length = len;
        r.init = init;
        m.regions.push_back(r);
        return &m.regions.back();
    };
    region("zs", ElemType::F32, 16, RegionInit::Zeros);
    region("ones", ElemType::F64, 4, RegionInit::Fill)->float_value0 = 1.0;
    auto* idx = region("idx", ElemType::I64, 5, RegionInit::Range);
    idx->int_value0 = -2;
    idx->int_value1 = 3;
    auto* xs = region("xs", ElemType::F32, 16, RegionInit::Range);
    xs->float_value0 = 0;
    xs->float_value1 = 0.5;
    region("primes", ElemType::I32, 3, RegionInit::List)->data = bytes_of(std::vector<std::int32_t>{2, -3, 5});
    region("big", ElemType::U32, 2, RegionInit::List)->data = bytes_of(std::vector<std::uint32_t>{4294967295u, 7});
    region("fl", ElemType::F32, 3, RegionInit::List)->data = bytes_of(std::vector<float>{0.1f, -0.0f, 1e30f});
    region("msg", ElemType::U8, 4, RegionInit::String)->data = {'h', 'i', '\n', 0};
    region("far", ElemType::F64, 1024, RegionInit::Zeros)->distributed = true;

    Kernel k;
    k.name = "saxpy";
    k.params = {{"x", ParamKind::Buffer, Access::In, ElemType::F32, Indexing::Element},
                {"y", ParamKind::Buffer, Access::InOut, ElemType::F32, Indexing::Broadcast},
                {"n", ParamKind::Uniform, Access::In, ElemType::I32, Indexing::Element},
                {"a", ParamKind::Uniform, Access::In, ElemType::F32, Indexing::Element}};
    k.requirements = {true, true, std::uint64_t{4} << 30};
    auto kw = [](KOp op, std::uint8_t a = 0, std::uint8_t b = 0, std::uint8_t c = 0, std::int32_t imm = 0) {
        return make_word(static_cast<std::uint8_t>(op), a, b, c, imm);
    };
    k.code = {kw(KOp::Gid, 0),       kw(KOp::Ldf, 1, 0, 0),  kw(KOp::Ldpf, 2, 3),
              kw(KOp::Loop),         kw(KOp::If, 4),         kw(KOp::Break),
              kw(KOp::Else),         kw(KOp::Lif, 3, 0, 0, std::bit_cast<std::int32_t>(0.25f)),
              kw(KOp::End),          kw(KOp::End),           kw(KOp::Stf, 2, 0, 1)};
    for (std::uint32_t i = 0; i < k.code.size(); ++i) k.lines.push_back({20 + i, 9});
    m.kernels.push_back(k);

    auto w = [](Op op, std::uint8_t a = 0, std::uint8_t b = 0, std::uint8_t c = 0, std::int32_t imm = 0) {
        return make_word(static_cast<std::uint8_t>(op), a, b, c, imm);
    };
    m.int_consts = {5000000000};
    m.float_consts = {0.5};
    m.strings = {"done\n"};
    m.launches = {{0, {{LaunchArg::Kind::Region, 3}, {LaunchArg::Kind::Region, 0}, {LaunchArg::Kind::IntReg, 2},
                       {LaunchArg::Kind::FloatReg, 1}}}};
    m.code = {w(Op::Liw, 1, 0, 0, 0), w(Op::Lif, 1, 0, 0, 0), w(Op::Launch, 1, 0, 0, 0), w(Op::Addi, 1, 1, 0, -1),
              w(Op::Bnz, 1, 0, 0, 3), w(Op::Call, 0, 0, 0, 1), w(Op::Prints, 0, 0, 0, 0), w(Op::Halt),
              w(Op::LdF32, 2, 3, 3), w(Op::Ret)};
    m.procs = {{"main", 0, 8}, {"helper", 8, 2}};
    m.labels = {{"loop", 3}, {"again", 3}};
    for (std::uint32_t i = 0; i < m.code.size(); ++i) m.lines.push_back({40 + i, 5});
    m.lines[5] = {};  // unknown: `.loc 0 0`
    return m;
}

constexpr std::string_view kGolden = R"(.module golden
.file "golden.pasm"

.region zs f32[16]
.region ones f64[4] fill 1.0
.region idx i64[5] range -2, 3
.region xs f32[16] range 0.0, 0.5
.region primes i32[3] = 2, -3, 5
.region big u32[2] = 4294967295, 7
.region fl f32[3] = 0.1, -0.0, 1e30
.region msg u8[] "hi\n\0"
.region far f64[1024] distributed

.kernel saxpy (in x: f32[i], inout y: f32[], n: i32, a: f32)
        .requires gpu
        .requires mem >= 4G
        .prefers gpu
        .loc 20 9
        gid     r0
        .loc 21 9
        ldf     f1, x[r0]
        .loc 22 9
        ldpf    f2, a
        .loc 23 9
        loop
            .loc 24 9
            if      r4
                .loc 25 9
                break
            .loc 26 9
            else
                .loc 27 9
                lif     f3, 0.25
            .loc 28 9
            end
        .loc 29 9
        end
        .loc 30 9
        stf     y[r0], f2
.end

.proc main
        .loc 40 5
        liw     r1, 5000000000
        .loc 41 5
        lif     f1, 0.5
        .loc 42 5
        launch  saxpy, r1, xs, zs, r2, f1
loop:
again:
        .loc 43 5
        addi    r1, r1, -1
        .loc 44 5
        bnz     r1, loop
        .loc 0 0
        call    helper
        .loc 46 5
        prints  "done\n"
        .loc 47 5
        halt
.end

.proc helper
        .loc 48 5
        ld.f32  f2, xs[r3]
        .loc 49 5
        ret
.end
)";

TEST(Disassembler, WholeModuleMatchesGoldenText) {
    EXPECT_EQ(disassemble(golden_module()), kGolden);
}

TEST(Disassembler, WithoutLocationsThereIsNoFileOrLoc) {
    std::string text = disassemble(golden_module(), {.source_locations = false});
    EXPECT_EQ(text.find(".loc"), std::string::npos);
    EXPECT_EQ(text.find(".file"), std::string::npos);
    EXPECT_NE(text.find("        liw     r1, 5000000000\n        lif     f1, 0.5\n"), std::string::npos) << text;
}

TEST(Disassembler, AModuleReadBackFromBytesPrintsTheSame) {
    Module m = golden_module();
    Result<Module> back = read_module(write_module(m));
    ASSERT_TRUE(back.ok()) << back.error();
    EXPECT_EQ(disassemble(back.value()), kGolden);
}

TEST(Listing, OneLinePerWordWithEncodingAndSource) {
    Module m = golden_module();
    std::string source;
    for (int i = 1; i <= 60; ++i) source += "  source line " + std::to_string(i) + "  \n";
    std::string text = listing(m, source);
    std::istringstream in(text);
    std::vector<std::string> words;
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line[0] != ';') words.push_back(line);
    ASSERT_EQ(words.size(), m.code.size() + m.kernels[0].code.size());
    EXPECT_EQ(squeeze(words[3]), "0003 ffffffff00010115 addi r1, r1, -1 ; 43: source line 43");
    EXPECT_EQ(squeeze(words[5]), "0005 0000000100000042 call helper");  // no line: no source comment
    EXPECT_EQ(squeeze(words[m.code.size() + 1]), "0001 0000000000000130 ldf f1, x[r0] ; 21: source line 21");
    EXPECT_NE(text.find("; loop:\n; again:\n0003"), std::string::npos) << text;
}

// --- round trips: assemble(disassemble(m)) == m, byte for byte ---------------

// Names the first part of two modules that differs, for a readable failure.
std::string first_difference(const Module& a, const Module& b) {
    if (a.name != b.name) return "name: " + a.name + " vs " + b.name;
    if (a.source_file != b.source_file) return "source_file: " + a.source_file + " vs " + b.source_file;
    for (std::size_t i = 0; i < std::min(a.code.size(), b.code.size()); ++i)
        if (a.code[i] != b.code[i])
            return "code[" + std::to_string(i) + "]: " + disassemble_word(a, i) + " vs " + disassemble_word(b, i);
    if (a.code.size() != b.code.size()) return "code size";
    if (a.lines != b.lines) return "lines";
    if (a.procs != b.procs) return "procs";
    if (a.int_consts != b.int_consts) return "int_consts";
    if (a.float_consts.size() != b.float_consts.size()) return "float_consts size";
    for (std::size_t i = 0; i < a.float_consts.size(); ++i)
        if (std::bit_cast<std::uint64_t>(a.float_consts[i]) != std::bit_cast<std::uint64_t>(b.float_consts[i]))
            return "float_consts[" + std::to_string(i) + "]: " + double_text(a.float_consts[i]) + " vs " +
                   double_text(b.float_consts[i]);
    if (a.strings != b.strings) return "strings";
    for (std::size_t i = 0; i < std::min(a.regions.size(), b.regions.size()); ++i)
        if (!(a.regions[i] == b.regions[i])) return "region " + a.regions[i].name;
    if (a.regions.size() != b.regions.size()) return "region count";
    if (a.channels != b.channels) return "channels";
    if (a.barriers != b.barriers) return "barriers";
    for (std::size_t i = 0; i < std::min(a.kernels.size(), b.kernels.size()); ++i) {
        const Kernel& x = a.kernels[i];
        const Kernel& y = b.kernels[i];
        if (x.name != y.name) return "kernel " + x.name + " name " + y.name;
        if (x.params != y.params) return "kernel " + x.name + " params";
        if (x.requirements != y.requirements) return "kernel " + x.name + " requirements";
        if (x.wide != y.wide) return "kernel " + x.name + " wide";
        for (std::size_t w = 0; w < std::min(x.code.size(), y.code.size()); ++w)
            if (x.code[w] != y.code[w])
                return "kernel " + x.name + " code[" + std::to_string(w) + "]: " +
                       disassemble_kernel_word(a, i, w) + " vs " + disassemble_kernel_word(b, i, w);
        if (x.code.size() != y.code.size()) return "kernel " + x.name + " code size";
        if (x.lines != y.lines) return "kernel " + x.name + " lines";
    }
    if (a.kernels.size() != b.kernels.size()) return "kernel count";
    if (a.launches != b.launches) return "launches";
    if (a.loop_kernels != b.loop_kernels) return "loop kernels";
    if (a.labels != b.labels) return "labels";
    return "";
}

std::string diagnostics_text(const AssembleResult& r) {
    std::string out;
    for (const Diagnostic& d : r.diagnostics) out += format_diagnostic(d);
    return out;
}

// Disassembles `m`, re-assembles the text and checks the bytes are the same.
// Returns an empty string on success, else what went wrong.
std::string round_trip_failure(const Module& m) {
    std::string text = disassemble(m);
    AssembleResult again = assemble(text, {.filename = "roundtrip.pasm"});
    if (!again.ok()) return "disassembly does not assemble:\n" + diagnostics_text(again) + "\n" + text;
    if (write_module(*again.module) != write_module(m))
        return "bytes differ (" + first_difference(m, *again.module) + ") for:\n" + text;
    // Without .file/.loc only the line table may change, and with it the
    // names of the kernels made from loops (PROC.loopLINE).
    AssembleResult plain = assemble(disassemble(m, {.source_locations = false}), {.filename = "plain.pasm"});
    if (!plain.ok()) return "disassembly without locations does not assemble:\n" + diagnostics_text(plain);
    Module relocated = *plain.module;
    relocated.source_file = m.source_file;
    relocated.include_files = m.include_files;
    relocated.lines = m.lines;
    for (std::size_t k = 0; k < relocated.kernels.size() && k < m.kernels.size(); ++k)
        relocated.kernels[k].lines = m.kernels[k].lines;
    for (const LoopKernel& l : m.loop_kernels)
        if (l.kernel < relocated.kernels.size()) relocated.kernels[l.kernel].name = m.kernels[l.kernel].name;
    if (write_module(relocated) != write_module(m))
        return "without locations: " + first_difference(m, relocated);
    return "";
}

std::vector<std::filesystem::path> sample_files() {
    std::vector<std::filesystem::path> out;
    std::filesystem::path dir = std::filesystem::path(POLYMER_SOURCE_DIR) / "samples";
    if (std::filesystem::is_directory(dir))
        for (const auto& e : std::filesystem::directory_iterator(dir))
            if (e.path().extension() == ".pasm") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
}

std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

TEST(RoundTrip, GoldenTextAssemblesToTheGoldenModule) {
    AssembleResult r = assemble(kGolden, {.filename = "other.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    EXPECT_EQ(first_difference(*r.module, golden_module()), "");
}

TEST(RoundTrip, EverySample) {
    std::vector<std::filesystem::path> samples = sample_files();
    for (const auto& path : samples) {
        AssembleResult r = assemble(read_text(path), {.filename = path.string()});
        ASSERT_TRUE(r.ok()) << path << ":\n" << diagnostics_text(r);
        EXPECT_EQ(round_trip_failure(*r.module), "") << path;
    }
    std::cout << "round-tripped " << samples.size() << " samples\n";
}

TEST(RoundTrip, FrameCommentsMarkTheFrameTableAndReassembleToTheSameBytes) {
    const std::string source =
        ".module f\n.proc main\n li r1, 1\n li r2, 2\n add r3, r1, r2\n print r3\n bnz r3, out\n"
        " prints \"no\"\nout:\n halt\n.end\n";
    AssembleResult r = assemble(source, {.filename = "f.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    const std::string text = disassemble(*r.module, {.source_locations = false});
    EXPECT_EQ(text,
              ".module f\n\n.proc main\n"
              "        ; -- frame 0 --\n        li      r1, 1\n        li      r2, 2\n"
              "        ; -- frame 1 --\n        add     r3, r1, r2\n"
              "        ; -- frame 2 --\n        print   r3\n"
              "        ; -- frame 3 --\n        bnz     r3, out\n"
              "        ; -- frame 0 --\n        prints  \"no\"\n"
              "out:\n        ; -- frame 0 --\n        halt\n"
              ".end\n");
    EXPECT_EQ(round_trip_failure(*r.module), "");
    // A module without a frame table prints no frame comments.
    Module bare = *r.module;
    bare.frames.clear();
    EXPECT_EQ(disassemble(bare).find("; -- frame"), std::string::npos);
    EXPECT_EQ(disassemble(*r.module, {.frames = false}).find("; -- frame"), std::string::npos);
}

// A loop the assembler turned into a kernel (built by hand here: the `nop`
// becomes `kloop 0`, kernel `gen` its generated kernel). Both print as
// comments: the assembler makes them again from the loop, so the text read
// back is the module before its loop pass (docs/loop-kernels.md).
TEST(RoundTrip, KloopAndGeneratedKernelsPrintAsComments) {
    const std::string source =
        ".module k\n.region xs i32[8]\n"
        ".kernel gen (inout x: i32[])\n        .wide\n        gid     r1\n        st      x[r1], r1\n.end\n"
        ".proc main\n        li      r1, 0\n        li      r2, 8\n        nop\nloop:\n"
        "        st.i32  xs[r1], r1\n        addi    r1, r1, 1\n        blt     r1, r2, loop\n        halt\n.end\n";
    AssembleResult r = assemble(source, {.filename = "k.pasm", .loop_kernels = false});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    Module m = *r.module;
    m.code[2] = make_word(static_cast<std::uint8_t>(Op::Kloop), 0, 0, 0, 0);
    m.lines[2] = m.lines[3];
    LoopKernel l;
    l.header = 3;
    l.end = 6;
    l.induction = 1;
    l.bound = 2;
    l.tested_first = false;
    l.args = {{LoopArg::Kind::Region, 0}};
    m.loop_kernels = {l};
    m.frames = compute_frames(m);
    ASSERT_TRUE(verify_module(m).ok()) << verify_module(m).error();

    const std::string text = disassemble(m, {.source_locations = false, .frames = false});
    EXPECT_NE(text.find("        ; kloop   0  ; kernel 'gen', the loop at lines 13-15\nloop:\n"), std::string::npos) << text;
    EXPECT_NE(text.find("; generated by the assembler from a loop (docs/loop-kernels.md); it makes it again:\n"
                        "; .kernel gen (inout x: i32[])\n;         .wide\n;         gid     r1\n"
                        ";         st      x[r1], r1\n; .end\n"),
              std::string::npos)
        << text;
    AssembleResult again = assemble(text, {.filename = "again.pasm", .loop_kernels = false});
    ASSERT_TRUE(again.ok()) << diagnostics_text(again) << text;
    EXPECT_TRUE(again.module->loop_kernels.empty());
    EXPECT_TRUE(again.module->kernels.empty());
    EXPECT_EQ(again.module->code.size(), m.code.size() - 1);
    // A listing shows the kloop word and the kernel, named as made from the loop.
    const std::string list = squeeze(listing(m, source));
    EXPECT_NE(list.find("kloop 0 ; kernel 'gen'"), std::string::npos) << list;
    EXPECT_NE(list.find("; .kernel gen (made by the assembler: kernel 'gen', the loop at lines 13-15)"),
              std::string::npos)
        << list;
}

// A wide kernel written by hand keeps its `.wide` through the round trip.
TEST(RoundTrip, WideKernelsKeepTheirDirective) {
    AssembleResult r = assemble(".kernel w (inout x: i32[])\n        .wide\n        gid r1\n.end\n"
                                ".proc main\n        halt\n.end\n",
                                {.filename = "w.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    ASSERT_TRUE(r.module->kernels[0].wide);
    EXPECT_EQ(round_trip_failure(*r.module), "");
}

// Window buffers print in the syntax they were written in (a constant as
// its value) and reassemble to the same bytes.
TEST(RoundTrip, WindowKernels) {
    AssembleResult r = assemble(R"(
.equ W, 64
.region xs f32[256]
.region ys f32[256]
.region ps i32[256]
.region qs u32[256]
.kernel blur (in x: f32[i-1..i+1], in p: i32[i..i+2], in q: u32[i-W..i-3], out y: f32[i])
        gid     r0
        addi    r1, r0, -1
        ldf     f1, x[r1]
        stf     y[r0], f1
.end
.kernel far (in t: f64[i-2147483647..i+2147483647], out u: f64[])
        .wide
        gid     r0
.end
.proc main
        li      r1, 256
        launch  blur, r1, xs, ps, qs, ys
        halt
.end
)",
                                {.filename = "window.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    const std::string text = disassemble(*r.module, {.source_locations = false});
    EXPECT_NE(text.find(".kernel blur (in x: f32[i-1..i+1], in p: i32[i..i+2], in q: u32[i-64..i-3], out y: f32[i])\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(".kernel far (in t: f64[i-2147483647..i+2147483647], out u: f64[])\n"), std::string::npos)
        << text;
    EXPECT_EQ(round_trip_failure(*r.module), "");
}

// `distributed`, with or without `zeros` written out, prints as written
// without it and reassembles to the same bytes.
TEST(RoundTrip, DistributedRegions) {
    AssembleResult r = assemble(R"(
.equ N, 4096
.region big f32[N] distributed
.region ids i64[8] zeros distributed
.region near f32[N]
.proc main
        len     r1, big
        len     r2, ids
        len     r3, near
        halt
.end
)",
                                {.filename = "distributed.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    const std::string text = disassemble(*r.module, {.source_locations = false});
    EXPECT_NE(text.find(".region big f32[4096] distributed\n.region ids i64[8] distributed\n.region near f32[4096]\n"),
              std::string::npos)
        << text;
    EXPECT_EQ(round_trip_failure(*r.module), "");
}

// `.channel` and `.barrier` print after the regions, in declaration order
// (an operand is an index), with their counts as numbers.
TEST(RoundTrip, ChannelsAndBarriers) {
    AssembleResult r = assemble(R"(
.equ WORKERS, 3
.region xs i32[4]
.channel pongs 1
.barrier step WORKERS
.channel pings 0x10
.proc worker
        recv    r1, pings
        send    pongs, r1
        barrier step
        ret
.end
.proc main
        li      r2, -1
        spawn   r9, worker, r2
        sendf   pings, f1
        recvf   f2, pongs
        barrier step
        join    r1, f1, r9
        len     r3, xs
        halt
.end
)",
                                {.filename = "procs.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    const std::string text = disassemble(*r.module, {.source_locations = false});
    EXPECT_NE(text.find(".region xs i32[4]\n\n.channel pongs 1\n.channel pings 16\n.barrier step 3\n"), std::string::npos)
        << text;
    for (const char* line : {"recv    r1, pings", "send    pongs, r1", "barrier step", "spawn   r9, worker, r2",
                             "sendf   pings, f1", "recvf   f2, pongs", "join    r1, f1, r9"})
        EXPECT_NE(text.find(line), std::string::npos) << line << " in\n" << text;
    EXPECT_EQ(round_trip_failure(*r.module), "");
    // A module with barriers only, and one with neither (no blank line for them).
    Module m = *r.module;
    m.channels.clear();
    for (Word& w : m.code)
        if (word_op(w) == static_cast<std::uint8_t>(Op::Send) || word_op(w) == static_cast<std::uint8_t>(Op::Sendf) ||
            word_op(w) == static_cast<std::uint8_t>(Op::Recv) || word_op(w) == static_cast<std::uint8_t>(Op::Recvf))
            w = make_word(static_cast<std::uint8_t>(Op::Nop));
    m.frames = compute_frames(m);
    ASSERT_TRUE(verify_module(m).ok()) << verify_module(m).error();
    EXPECT_EQ(disassemble(m, {.source_locations = false}).find(".channel"), std::string::npos);
    EXPECT_EQ(round_trip_failure(m), "");
}

// A procedure's `.requires` print right after `.proc`, gpu, mem, node in
// that order whatever the source's, the size with the largest exact suffix
// and the name always quoted.
TEST(RoundTrip, ProcRequirements) {
    AssembleResult r = assemble(R"(
.proc render
        .requires node box3
        .requires mem >= 1536M
        .requires gpu
        li      r1, 1
        ret
.end
.proc odd
        .requires node "10.0.0.2 \"left\""
        .requires mem >= 1000
        ret
.end
.proc main
        li      r2, -1
        spawn   r9, render, r2
        call    odd
        halt
.end
)",
                                {.filename = "preq.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    EXPECT_EQ(r.module->procs[0].requirements, (ProcRequirements{true, 1536ull << 20, "box3"}));
    EXPECT_EQ(r.module->procs[1].requirements, (ProcRequirements{false, 1000, "10.0.0.2 \"left\""}));
    EXPECT_FALSE(r.module->procs[2].requirements.any());
    const std::string text = disassemble(*r.module, {.source_locations = false, .frames = false});
    EXPECT_NE(text.find(".proc render\n        .requires gpu\n        .requires mem >= 1536M\n        .requires node \"box3\"\n        li"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(".proc odd\n        .requires mem >= 1000\n        .requires node \"10.0.0.2 \\\"left\\\"\"\n        ret"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(".proc main\n        li"), std::string::npos) << text;
    EXPECT_EQ(round_trip_failure(*r.module), "");
}

// `.launches cluster` prints after the requirements and survives the round trip.
TEST(RoundTrip, LaunchesCluster) {
    AssembleResult r = assemble(R"(
.proc worker
        .launches cluster
        .requires gpu
        ret
.end
.proc solo
        .launches cluster
        ret
.end
.proc main
        call    solo
        halt
.end
)",
                                {.filename = "lc.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    EXPECT_TRUE(r.module->procs[0].launches_cluster);
    EXPECT_TRUE(r.module->procs[1].launches_cluster);
    EXPECT_FALSE(r.module->procs[1].requirements.any());
    EXPECT_FALSE(r.module->procs[2].launches_cluster);
    const std::string text = disassemble(*r.module, {.source_locations = false, .frames = false});
    EXPECT_NE(text.find(".proc worker\n        .requires gpu\n        .launches cluster\n        ret"), std::string::npos) << text;
    EXPECT_NE(text.find(".proc solo\n        .launches cluster\n        ret"), std::string::npos) << text;
    EXPECT_EQ(round_trip_failure(*r.module), "");
}

TEST(Disassembler, BadChannelAndBarrierIndicesPrintPlaceholders) {
    Module m = context_module();
    m.code[0] = make_word(static_cast<std::uint8_t>(Op::Send), 99, 1);
    EXPECT_EQ(squeeze(disassemble_word(m, 0)), "send <bad channel 99>, r1");
    m.code[0] = make_word(static_cast<std::uint8_t>(Op::Barrier), 5);
    EXPECT_EQ(squeeze(disassemble_word(m, 0)), "barrier <bad barrier 5>");
}

TEST(RoundTrip, GeneratedCorpusCoversEveryOpcode) {
    constexpr int kPrograms = 400;
    std::vector<bool> seen(256), kseen(256);  // by opcode number
    for (int seed = 1; seed <= kPrograms; ++seed) {
        std::string source = testing::ProgramGenerator(static_cast<std::uint64_t>(seed)).generate();
        AssembleResult r = assemble(source, {.filename = "gen.pasm"});
        ASSERT_TRUE(r.ok()) << "generated program " << seed << " does not assemble:\n"
                            << diagnostics_text(r) << "\n" << source;
        std::string failure = round_trip_failure(*r.module);
        ASSERT_EQ(failure, "") << "generated program " << seed << ":\n" << source;
        Result<Verified> verified = verify_module(*r.module);  // the frame table included
        ASSERT_TRUE(verified.ok()) << "generated program " << seed << ": " << verified.error() << "\n" << source;
        for (Word w : r.module->code) seen[word_op(w)] = true;
        for (const Kernel& k : r.module->kernels)
            for (Word w : k.code) kseen[word_op(w)] = true;
    }
    for (Op op : kAllOps)  // kloop comes from loops the assembler turns into kernels (tests/vm/loop_kernel_test.cpp)
        EXPECT_TRUE(seen[static_cast<std::size_t>(op)] || has_operand_kind(op, OperandKind::LoopSite))
            << "never generated: " << op_info(op).mnemonic;
    for (KOp op : kAllKOps)
        EXPECT_TRUE(kseen[static_cast<std::size_t>(op)]) << "never generated: kernel " << kop_info(op).mnemonic;
}

// `.wide` may come anywhere in the body; the disassembler writes it first.
TEST(RoundTrip, WideKernel) {
    AssembleResult r = assemble(R"(
.region xs i64[4]
.region ys f64[4]
.kernel w (in x: i64[i], out y: f64[], n: i64, a: f64, b: i32)
        gid     r0
        ld      r1, x[r0]
        shli    r1, r1, 63
        li      r2, -2147483648
        itof    f1, r1
        ldpf    f2, a
        fmin    f1, f1, f2
        stf     y[r0], f1
        .wide
.end
.proc main
        li      r1, 4
        launch  w, r1, xs, ys, r2, f3, r4
        halt
.end
)",
                                {.filename = "wide.pasm"});
    ASSERT_TRUE(r.ok()) << diagnostics_text(r);
    ASSERT_TRUE(r.module->kernels[0].wide);
    const std::string text = disassemble(*r.module, {.source_locations = false});
    EXPECT_NE(text.find(".kernel w (in x: i64[i], out y: f64[], n: i64, a: f64, b: i32)\n        .wide\n"), std::string::npos)
        << text;
    EXPECT_EQ(round_trip_failure(*r.module), "");
    Module narrow = *r.module;  // the same words without `.wide` do not verify
    narrow.kernels[0].wide = false;
    EXPECT_FALSE(verify_module(narrow).ok());
}

TEST(RoundTrip, EveryExampleOfTheIsaTableAssemblesAndPrintsBack) {
    // A context in which every example of the opcode table is valid.
    const std::string context = R"(
.region xs f32[8]
.region ys f32[8]
.region zs f32[8]
.region mask f32[8]
.region sums f32[8]
.region a f32[4]
.region b f32[4]
.region c f32[4]
.region buf i32[4]
.region text u8[] "hello"
.channel pings 4
.channel pongs 4
.channel results 8
.barrier step 3
.kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)
        nop
.end
.proc fib
        ret
.end
)";
    const std::string worker = ".proc worker\n        ret\n.end\n";  // after main: main stays procs[1]
    for (Op number : kAllOps) {
        const OpInfo& op = op_info(number);
        if (op.elem || op.vector.kind == VectorKind::Int)
            continue;  // not f32 regions, as in the context: checked by the generated corpus
        if (has_operand_kind(number, OperandKind::LoopSite))
            continue;  // never written by hand: its disassembly is a comment (KloopAndGeneratedKernelsPrintAsComments)
        std::string source =
            context + ".proc main\nloop:\n        nop\n        " + std::string(op.example) + "\ndone:\n        halt\n.end\n" + worker;
        AssembleResult r = assemble(source, {.filename = "example.pasm"});
        ASSERT_TRUE(r.ok()) << op.mnemonic << ":\n" << diagnostics_text(r);
        const Module& m = *r.module;
        ASSERT_GE(m.procs.size(), 2u);
        std::uint32_t pc = m.procs[1].start + 1;
        EXPECT_EQ(word_op(m.code[pc]), static_cast<std::uint8_t>(number));
        std::string printed = squeeze(disassemble_word(m, pc));
        std::string example(op.example);
        if (op.mnemonic != "andi") {  // andi's example is written in hex
            EXPECT_EQ(printed, example);
        }
        EXPECT_EQ(round_trip_failure(m), "") << op.mnemonic;
    }
}

}  // namespace
}  // namespace polymer
