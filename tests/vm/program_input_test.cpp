// Program arguments and stdin (argc, argi, argf, args, readln, readi, readf)
// and formatted output (printfd, printw): what each reads and writes, the
// traps and their messages, the same results in every execution mode, and
// the input stream and number parsers on their own.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <random>

#include "assembler/assembler.h"
#include "assembler/disassembler.h"
#include "isa/verifier.h"
#include "mode_runner.h"
#include "vm/program_input.h"

namespace polymer {
namespace {

// --- the input stream ------------------------------------------------------

TEST(InputStream, LinesKeepEverythingButTheNewline) {
    InputStream in(std::string("one\n\ntwo \r\nlast"));
    EXPECT_EQ(in.read_line(), "one");
    EXPECT_EQ(in.read_line(), "");
    EXPECT_EQ(in.read_line(), "two \r");
    EXPECT_EQ(in.read_line(), "last");  // no newline at the end: still a line
    EXPECT_EQ(in.read_line(), std::nullopt);
    EXPECT_EQ(in.read_line(), std::nullopt);
}

TEST(InputStream, WordsSkipWhitespaceAndLeaveTheRestOfTheLine) {
    InputStream in(std::string("  12\t-3\n\n 4.5 rest of line\nnext\n  \n"));
    EXPECT_EQ(in.read_word(), "12");
    EXPECT_EQ(in.line(), 1u);
    EXPECT_EQ(in.read_word(), "-3");
    EXPECT_EQ(in.read_word(), "4.5");
    EXPECT_EQ(in.line(), 3u);
    EXPECT_EQ(in.read_line(), " rest of line");  // the byte after a word is not consumed
    EXPECT_EQ(in.read_word(), "next");
    EXPECT_EQ(in.read_word(), std::nullopt);  // only whitespace was left
    EXPECT_EQ(in.read_line(), std::nullopt);
}

// A file read in 64 KiB chunks: a word and a line that cross a chunk boundary.
TEST(InputStream, ReadsAFileDescriptorAcrossItsChunks) {
    const std::filesystem::path path =
        std::filesystem::temp_directory_path() / ("program_input_" + std::to_string(::getpid()));
    const std::string spaces(65530, ' ');
    std::ofstream(path) << spaces << "123456789\nalpha beta\n" << std::string(70000, 'x') << "\n7";
    const int fd = ::open(path.c_str(), O_RDONLY);
    ASSERT_GE(fd, 0);
    InputStream in(fd);
    EXPECT_EQ(in.read_word(), "123456789");
    EXPECT_EQ(in.read_line(), "");
    EXPECT_EQ(in.read_line(), "alpha beta");
    EXPECT_EQ(in.read_line(), std::string(70000, 'x'));
    EXPECT_EQ(in.read_word(), "7");
    EXPECT_EQ(in.line(), 4u);
    EXPECT_EQ(in.read_word(), std::nullopt);
    ::close(fd);
    std::filesystem::remove(path);
}

// --- the number parser -----------------------------------------------------

TEST(NumberText, IntegersAreDecimalWithAnOptionalSign) {
    std::int64_t v = 0;
    EXPECT_EQ(parse_int("42", v), NumberText::Ok);
    EXPECT_EQ(v, 42);
    EXPECT_EQ(parse_int("+7", v), NumberText::Ok);
    EXPECT_EQ(v, 7);
    EXPECT_EQ(parse_int("-9223372036854775808", v), NumberText::Ok);
    EXPECT_EQ(v, std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(parse_int("9223372036854775807", v), NumberText::Ok);
    EXPECT_EQ(parse_int("9223372036854775808", v), NumberText::OutOfRange);
    EXPECT_EQ(parse_int("-99999999999999999999", v), NumberText::OutOfRange);
    for (const char* bad : {"", "+", "-", "+-1", "++1", "1.0", "0x10", " 5", "5 ", "5a", "1e3"})
        EXPECT_EQ(parse_int(bad, v), NumberText::NotANumber) << "'" << bad << "'";
}

TEST(NumberText, FloatsRoundToNearest) {
    double v = 0;
    EXPECT_EQ(parse_float("2.5", v), NumberText::Ok);
    EXPECT_EQ(v, 2.5);
    EXPECT_EQ(parse_float("+1e3", v), NumberText::Ok);
    EXPECT_EQ(v, 1000.0);
    EXPECT_EQ(parse_float("-.5", v), NumberText::Ok);
    EXPECT_EQ(v, -0.5);
    EXPECT_EQ(parse_float("0.1", v), NumberText::Ok);
    EXPECT_EQ(v, 0.1);
    EXPECT_EQ(parse_float("-inf", v), NumberText::Ok);
    EXPECT_TRUE(std::isinf(v) && v < 0);
    EXPECT_EQ(parse_float("nan", v), NumberText::Ok);
    EXPECT_TRUE(std::isnan(v));
    EXPECT_EQ(parse_float("1e999", v), NumberText::OutOfRange);
    for (const char* bad : {"", "+", "e5", "1e", "1.5x", "0x1p3", " 1", "1,5"})
        EXPECT_EQ(parse_float(bad, v), NumberText::NotANumber) << "'" << bad << "'";
}

TEST(NumberText, LongTextIsCutInMessages) {
    EXPECT_EQ(quote_input("abc"), "'abc'");
    EXPECT_EQ(quote_input(std::string(50, 'z')), "'" + std::string(40, 'z') + "...' (50 bytes)");
}

// --- formatted output ------------------------------------------------------

std::string fixed(double v, int decimals) {
    std::string s;
    {
        OutputBuffer out(&s);
        out.write_fixed(v, decimals);
    }
    return s;
}

std::string width(std::int64_t v, int w) {
    std::string s;
    {
        OutputBuffer out(&s);
        out.write_int_width(v, w);
    }
    return s;
}

TEST(FormattedOutput, DecimalsRoundTheExactBinaryValueTiesToEven) {
    EXPECT_EQ(fixed(0.125, 2), "0.12");   // exactly halfway: to even
    EXPECT_EQ(fixed(0.375, 2), "0.38");
    EXPECT_EQ(fixed(2.5, 0), "2");
    EXPECT_EQ(fixed(3.5, 0), "4");
    EXPECT_EQ(fixed(2.675, 2), "2.67");   // 2.67499999999999982236431605997495353221893310546875
    EXPECT_EQ(fixed(0.1, 20), "0.10000000000000000555");
    EXPECT_EQ(fixed(-0.0001, 3), "-0.000");
    EXPECT_EQ(fixed(-0.0, 1), "-0.0");
    EXPECT_EQ(fixed(1e21, 0), "1000000000000000000000");
    EXPECT_EQ(fixed(-0.169075164, 9), "-0.169075164");
    EXPECT_EQ(fixed(5e-324, 64), "0." + std::string(63, '0') + "0");
    EXPECT_EQ(fixed(std::numeric_limits<double>::max(), 64).size(), 309u + 1 + 64);
    EXPECT_EQ(fixed(INFINITY, 3), "inf");
    EXPECT_EQ(fixed(-INFINITY, 3), "-inf");
    EXPECT_EQ(fixed(-NAN, 3), "nan");
}

// glibc's printf is an independent exact implementation (multi-precision,
// round to nearest even in the default rounding mode): every decimal count
// on random values of every magnitude agrees with it.
TEST(FormattedOutput, DecimalsAgreeWithAnExactReference) {
    std::mt19937_64 rng(20);
    for (int i = 0; i < 20000; ++i) {
        double v = std::bit_cast<double>(rng());
        if (!std::isfinite(v) || std::fabs(v) > 1e30) v = std::ldexp(static_cast<double>(rng() >> 11), -static_cast<int>(rng() % 80));
        const int decimals = static_cast<int>(rng() % (kMaxDigits + 1));
        char reference[512];
        std::snprintf(reference, sizeof reference, "%.*f", decimals, v);
        ASSERT_EQ(fixed(v, decimals), reference) << "value " << v << " with " << decimals << " decimals";
    }
}

TEST(FormattedOutput, WidthRightAlignsWithSpaces) {
    EXPECT_EQ(width(42, 6), "    42");
    EXPECT_EQ(width(-42, 6), "   -42");
    EXPECT_EQ(width(123456, 3), "123456");  // never cut
    EXPECT_EQ(width(0, 0), "0");
    EXPECT_EQ(width(std::numeric_limits<std::int64_t>::min(), 21), " -9223372036854775808");
}

// --- the instructions ------------------------------------------------------

Module assemble_or_fail(const std::string& source) {
    AssembleResult r = assemble(source, {.filename = "io.pasm"});
    std::string diagnostics;
    for (const Diagnostic& d : r.diagnostics) diagnostics += format_diagnostic(d);
    EXPECT_TRUE(r.ok()) << diagnostics;
    if (!r.ok()) return {};
    EXPECT_TRUE(verify_module(*r.module).ok());
    return std::move(*r.module);
}

test::Outcome run_in_order(const Module& m, const test::ProgramInputs& io) {
    return test::run_mode(m, "main", ExecMode::InOrder, 0, nullptr, false, 1'000'000, &io);
}

std::string trap_text(const Module& m, const test::Outcome& o) {
    return o.trap ? format_trap(m, *o.trap, disassemble_word(m, o.trap->pc)) : "(no trap)";
}

const char* const kEcho = R"(
.region text u8[2] = 7, 7
.proc main
        argc    r1
        print   r1
        println
        li      r2, 0
        argi    r3, r2
        li      r2, 1
        argf    f1, r2
        li      r2, 2
        args    text, r2
        printw  r3, 5
        prints  "|"
        printfd f1, 3
        prints  "|"
        len     r4, text
        li      r5, 0
        printr  text, r5, r4
        println
        readln  r6, text
        print   r6
        prints  " ["
        len     r4, text
        printr  text, r5, r4
        prints  "]\n"
loop:
        readi   r7, r8
        bz      r8, eof
        printw  r7, 4
        jmp     loop
eof:
        print   r7
        readln  r6, text
        len     r4, text
        prints  " "
        print   r6
        prints  " "
        print   r4
        println
        halt
.end
)";

TEST(InputInstructions, ReadArgumentsLinesAndNumbers) {
    const Module m = assemble_or_fail(kEcho);
    const test::Outcome o = run_in_order(m, {{"-12", "2.0625", "two words"}, "first line\n1 2\n  -3\n"});
    EXPECT_FALSE(o.trap) << trap_text(m, o);
    EXPECT_EQ(o.output, "3\n  -12|2.062|two words\n10 [first line]\n   1   2  -30 -1 0\n");
    // Without input: readln gives -1 and an empty region, readi the end at once.
    const test::Outcome empty = run_in_order(m, {{"0", "0", ""}, ""});
    EXPECT_EQ(empty.output, "3\n    0|0.000|\n-1 []\n0 -1 0\n");
}

TEST(InputInstructions, ReadiIntoOneRegisterLeavesTheFlag) {
    const Module m = assemble_or_fail(".proc main\n        readi r1, r1\n        print r1\n        readi r2, r2\n        print r2\n        halt\n.end\n");
    EXPECT_EQ(run_in_order(m, {{}, "5"}).output, "10");
}

TEST(InputInstructions, ReadfReadsNumbersAndTheEnd) {
    const Module m = assemble_or_fail(R"(.proc main
loop:
        readf   f1, r1
        bz      r1, done
        printf  f1
        prints  " "
        jmp     loop
done:
        printf  f1
        halt
.end
)");
    EXPECT_EQ(run_in_order(m, {{}, "1.5 -2e3\n inf 7\n"}).output, "1.5 -2000 inf 7 0");
}

TEST(InputInstructions, TrapsNameTheArgumentOrLineAndWhatWasExpected) {
    struct Case {
        const char* code;
        test::ProgramInputs io;
        const char* message;
    };
    const Case cases[] = {
        {"li r2, 3\n        argi r1, r2", {{"1", "2"}, ""},
         "trap: bad-argument in proc 'main' at pc 1 (io.pasm:4:9): argi r1, r2: argument 3 is missing: the program "
         "got 2 arguments (polymer-run PROGRAM -- ARGS...; arguments count from 0)"},
        {"li r2, -1\n        argi r1, r2", {{"1"}, ""},
         "trap: bad-argument in proc 'main' at pc 1 (io.pasm:4:9): argi r1, r2: argument -1 is missing: the program "
         "got 1 argument (polymer-run PROGRAM -- ARGS...; arguments count from 0)"},
        {"li r2, 1\n        argi r1, r2", {{"1", "2.5"}, ""},
         "trap: bad-argument in proc 'main' at pc 1 (io.pasm:4:9): argi r1, r2: argument 1 is '2.5', not an integer"},
        {"li r2, 0\n        argf f1, r2", {{"ten"}, ""},
         "trap: bad-argument in proc 'main' at pc 1 (io.pasm:4:9): argf f1, r2: argument 0 is 'ten', not a number"},
        {"li r2, 0\n        argf f1, r2", {{"1e400"}, ""},
         "trap: bad-argument in proc 'main' at pc 1 (io.pasm:4:9): argf f1, r2: argument 0 is '1e400', outside the "
         "binary64 range"},
        {"li r2, 0\n        argi r1, r2", {{"18446744073709551616"}, ""},
         "trap: bad-argument in proc 'main' at pc 1 (io.pasm:4:9): argi r1, r2: argument 0 is '18446744073709551616', "
         "outside the 64-bit integer range"},
        {"li r2, 0\n        args text, r2", {{}, ""},
         "trap: bad-argument in proc 'main' at pc 1 (io.pasm:4:9): args text, r2: argument 0 is missing: the program "
         "got 0 arguments (polymer-run PROGRAM -- ARGS...; arguments count from 0)"},
        {"readi r1, r2\n        readi r1, r2", {{}, "4\n\n  x4\n"},
         "trap: bad-input in proc 'main' at pc 1 (io.pasm:4:9): readi r1, r2: stdin line 3: the word is 'x4', not an "
         "integer"},
        {"readf f1, r2", {{}, "1.2.3"},
         "trap: bad-input in proc 'main' at pc 0 (io.pasm:3:9): readf f1, r2: stdin line 1: the word is '1.2.3', not "
         "a number"},
    };
    for (const Case& c : cases) {
        const Module m = assemble_or_fail(".region text u8[0]\n.proc main\n        " + std::string(c.code) + "\n        halt\n.end\n");
        const test::Outcome o = run_in_order(m, c.io);
        EXPECT_EQ(trap_text(m, o), c.message) << c.code;
    }
}

// Reads between prints, branches on what was read, and vector ops in flight
// around them: every mode, every ROB size, with and without the hand-off,
// prints and reads exactly what in-order does.
TEST(InputInstructions, EveryModeReadsAndPrintsInProgramOrder) {
    const Module m = assemble_or_fail(R"(
.region xs f64[4096] fill 0.5
.region ys f64[4096]
.region line u8[0]
.proc main
        li      r10, 0
        argi    r11, r10          ; how many numbers to add
        li      r10, 1
        argf    f10, r10          ; a scale
        prints  "? "
        readln  r1, line
        printw  r1, 3
        println
        li      r12, 0
loop:
        vscale  ys, xs, f10       ; a long op in flight while the next read waits
        readi   r2, r3
        bz      r3, done
        vsum    f1, ys
        itof    f2, r2
        fadd    f1, f1, f2
        printfd f1, 4
        println
        addi    r12, r12, 1
        blt     r12, r11, loop
done:
        readln  r1, line
        len     r4, line
        li      r5, 0
        printr  line, r5, r4
        println
        halt
.end
)");
    const test::ProgramInputs io{{"3", "0.25"}, "header\n10 20\n30 40 rest\nlast\n"};
    const test::Outcome ref = run_in_order(m, io);
    ASSERT_FALSE(ref.trap) << trap_text(m, ref);
    EXPECT_EQ(ref.output, "?   6\n522.0000\n532.0000\n542.0000\n 40 rest\n");
    for (ExecMode mode : {ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec})
        for (bool hand_off : {true, false})
            for (std::uint32_t rob : {64u, 2u}) {
                const test::Outcome got = test::run_mode(m, "main", mode, rob, nullptr, hand_off, 1'000'000, &io);
                EXPECT_EQ(test::difference(ref, got), "")
                    << exec_mode_name(mode) << ", ROB " << rob << (hand_off ? ", hand-off" : "");
            }
}

}  // namespace
}  // namespace polymer
