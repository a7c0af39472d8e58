// Every procedure opcode's semantics, with the edge values the opcode table
// pins down (wrapping, INT64_MIN / -1, shifts out of range, NaN and
// infinities, narrowing stores).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>

#include "vm/scalar_semantics.h"
#include "vm_test_util.h"

namespace polymer::test {
namespace {

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

// Runs `op r3, r1, r2` with r1 = b, r2 = c and returns r3.
std::int64_t int_op(std::string_view op, std::int64_t b, std::int64_t c) {
    ProgramRun run = run_source(in_main("        li r1, " + std::to_string(b) + "\n        li r2, " + std::to_string(c) +
                                 "\n        " + std::string(op) + " r3, r1, r2"));
    EXPECT_TRUE(run.halted()) << op;
    return run.machine ? run.r(3) : 0;
}

std::int64_t int_imm_op(std::string_view op, std::int64_t b, std::int32_t imm) {
    ProgramRun run = run_source(in_main("        li r1, " + std::to_string(b) + "\n        " + std::string(op) +
                                 " r3, r1, " + std::to_string(imm)));
    EXPECT_TRUE(run.halted()) << op;
    return run.machine ? run.r(3) : 0;
}

std::string float_text(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    std::string s = buf;
    // The assembler's float literals need a dot or an exponent only for clarity; integers are accepted too.
    return s;
}

// Runs `op f3, f1, f2` (or `op f3, f1` when unary).
double float_op(std::string_view op, double b, double c = 0, bool unary = false) {
    std::string body = "        lif f1, " + float_text(b) + "\n        lif f2, " + float_text(c) + "\n        " +
                       std::string(op) + (unary ? " f3, f1" : " f3, f1, f2");
    ProgramRun run = run_source(in_main(body));
    EXPECT_TRUE(run.halted()) << op;
    return run.machine ? run.f(3) : 0;
}

std::int64_t float_cmp(std::string_view op, double b, double c) {
    ProgramRun run = run_source(in_main("        lif f1, " + float_text(b) + "\n        lif f2, " + float_text(c) +
                                 "\n        " + std::string(op) + " r3, f1, f2"));
    EXPECT_TRUE(run.halted()) << op;
    return run.machine ? run.r(3) : -1;
}

std::int64_t ftoi(double v) {
    ProgramRun run = run_source(in_main("        lif f1, " + float_text(v) + "\n        ftoi r3, f1"));
    EXPECT_TRUE(run.halted());
    return run.machine ? run.r(3) : -1;
}

const double kInf = std::numeric_limits<double>::infinity();
const double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(Interpreter, LoadImmediates) {
    ProgramRun run = run_source(in_main(R"(
        li r1, -42
        li r2, 5000000000
        li r3, -9223372036854775808
        mov r4, r1
        nop
        lif f1, 0.5
        fmov f2, f1)"));
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(1), -42);
    EXPECT_EQ(run.r(2), 5000000000);
    EXPECT_EQ(run.r(3), kMin);
    EXPECT_EQ(run.r(4), -42);
    EXPECT_EQ(run.f(2), 0.5);
    EXPECT_EQ(run.r(0), 0) << "registers start at zero";
}

TEST(Interpreter, IntegerArithmeticWraps) {
    EXPECT_EQ(int_op("add", kMax, 1), kMin);
    EXPECT_EQ(int_op("sub", kMin, 1), kMax);
    EXPECT_EQ(int_op("mul", kMax, 2), -2);
    EXPECT_EQ(int_op("mul", kMin, -1), kMin);
    EXPECT_EQ(int_op("add", -5, 3), -2);
    EXPECT_EQ(int_imm_op("addi", kMax, 1), kMin);
    EXPECT_EQ(int_imm_op("muli", 1LL << 62, 4), 0);
    EXPECT_EQ(int_imm_op("muli", -7, -3), 21);
}

TEST(Interpreter, DivisionAndRemainder) {
    EXPECT_EQ(int_op("div", 7, 3), 2);
    EXPECT_EQ(int_op("div", -7, 3), -2);
    EXPECT_EQ(int_op("div", 7, -3), -2);
    EXPECT_EQ(int_op("rem", -7, 3), -1);
    EXPECT_EQ(int_op("rem", 7, -3), 1);
    EXPECT_EQ(int_op("div", kMin, -1), kMin);
    EXPECT_EQ(int_op("rem", kMin, -1), 0);
    EXPECT_EQ(int_op("div", kMin, 1), kMin);
    EXPECT_EQ(int_op("divu", -1, 2), kMax);
    EXPECT_EQ(int_op("remu", -1, 10), 5);  // 18446744073709551615 mod 10
    EXPECT_EQ(int_op("divu", kMin, -1), 0);
}

TEST(Interpreter, BitwiseOps) {
    EXPECT_EQ(int_op("and", 0b1100, 0b1010), 0b1000);
    EXPECT_EQ(int_op("or", 0b1100, 0b1010), 0b1110);
    EXPECT_EQ(int_op("xor", 0b1100, 0b1010), 0b0110);
    EXPECT_EQ(int_imm_op("andi", -1, 0xff), 0xff);
    EXPECT_EQ(int_imm_op("ori", 0, -2), -2);  // the immediate is sign-extended
    EXPECT_EQ(int_imm_op("xori", 5, -1), ~5LL);
    ProgramRun run = run_source(in_main("        li r1, 5\n        not r2, r1\n        neg r3, r1\n"
                                 "        li r4, -9223372036854775808\n        neg r5, r4"));
    EXPECT_EQ(run.r(2), ~5LL);
    EXPECT_EQ(run.r(3), -5);
    EXPECT_EQ(run.r(5), kMin);
}

TEST(Interpreter, ShiftsOutOfRange) {
    EXPECT_EQ(int_op("shl", 1, 63), kMin);
    EXPECT_EQ(int_op("shl", 1, 64), 0);
    EXPECT_EQ(int_op("shl", 1, -1), 0);
    EXPECT_EQ(int_op("shl", 1, 1000), 0);
    EXPECT_EQ(int_op("shr", -1, 63), 1);
    EXPECT_EQ(int_op("shr", -1, 64), 0);
    EXPECT_EQ(int_op("shr", -1, -3), 0);
    EXPECT_EQ(int_op("sar", -16, 2), -4);
    EXPECT_EQ(int_op("sar", -16, 64), -1);
    EXPECT_EQ(int_op("sar", 16, 64), 0);
    EXPECT_EQ(int_op("sar", kMin, -1), -1);
    EXPECT_EQ(int_op("sar", kMin, 63), -1);
    EXPECT_EQ(int_imm_op("shli", 3, 4), 48);
    EXPECT_EQ(int_imm_op("shri", -16, 60), 15);
    EXPECT_EQ(int_imm_op("sari", -16, 2), -4);
    EXPECT_EQ(int_imm_op("sari", kMin, 63), -1);
}

TEST(Interpreter, MinMaxAndCompares) {
    EXPECT_EQ(int_op("min", -3, 2), -3);
    EXPECT_EQ(int_op("max", -3, 2), 2);
    EXPECT_EQ(int_op("min", kMin, kMax), kMin);
    EXPECT_EQ(int_op("eq", 4, 4), 1);
    EXPECT_EQ(int_op("eq", 4, 5), 0);
    EXPECT_EQ(int_op("ne", 4, 5), 1);
    EXPECT_EQ(int_op("lt", -1, 0), 1);
    EXPECT_EQ(int_op("le", 0, 0), 1);
    EXPECT_EQ(int_op("le", 1, 0), 0);
    EXPECT_EQ(int_op("ltu", -1, 0), 0);  // -1 is the largest unsigned value
    EXPECT_EQ(int_op("ltu", 0, -1), 1);
    EXPECT_EQ(int_op("leu", -1, -1), 1);
    EXPECT_EQ(int_op("leu", -1, 1), 0);
}

TEST(Interpreter, FloatArithmetic) {
    EXPECT_EQ(float_op("fadd", 0.1, 0.2), 0.1 + 0.2);
    EXPECT_EQ(float_op("fsub", 1, 0.25), 0.75);
    EXPECT_EQ(float_op("fmul", 1.5, -4), -6);
    EXPECT_EQ(float_op("fdiv", 1, 0), kInf);
    EXPECT_EQ(float_op("fdiv", -1, 0), -kInf);
    EXPECT_TRUE(std::isnan(float_op("fdiv", 0, 0)));
    EXPECT_TRUE(std::isnan(float_op("fadd", kInf, -kInf)));
    EXPECT_EQ(float_op("fmin", kNaN, 3), 3);
    EXPECT_EQ(float_op("fmin", 3, kNaN), 3);
    EXPECT_EQ(float_op("fmax", kNaN, -3), -3);
    EXPECT_EQ(float_op("fmin", -kInf, 3), -kInf);
    EXPECT_EQ(float_op("fmax", 2, 3), 3);
    EXPECT_EQ(float_op("fpow", 2, 10), 1024);
    EXPECT_EQ(float_op("fpow", kNaN, 0), 1);
    EXPECT_EQ(float_op("fneg", 2, 0, true), -2);
    EXPECT_TRUE(std::signbit(float_op("fneg", 0, 0, true)));
    EXPECT_EQ(float_op("fabs", -kInf, 0, true), kInf);
    EXPECT_EQ(float_op("fsqrt", 2, 0, true), std::sqrt(2.0));
    EXPECT_TRUE(std::isnan(float_op("fsqrt", -1, 0, true)));
    EXPECT_EQ(float_op("ffloor", -2.5, 0, true), -3);
    EXPECT_EQ(float_op("fsin", 0, 0, true), 0);
    EXPECT_EQ(float_op("fcos", 0, 0, true), 1);
    EXPECT_EQ(float_op("fexp", 0, 0, true), 1);
    EXPECT_EQ(float_op("flog", 1, 0, true), 0);
    EXPECT_EQ(float_op("flog", 0, 0, true), -kInf);
    EXPECT_TRUE(std::isnan(float_op("flog", -1, 0, true)));
}

TEST(Interpreter, FloatComparesWithNaN) {
    EXPECT_EQ(float_cmp("feq", 1, 1), 1);
    EXPECT_EQ(float_cmp("feq", 0, -0.0), 1);
    EXPECT_EQ(float_cmp("feq", kNaN, kNaN), 0);
    EXPECT_EQ(float_cmp("flt", 1, 2), 1);
    EXPECT_EQ(float_cmp("flt", kNaN, 2), 0);
    EXPECT_EQ(float_cmp("flt", -kInf, kInf), 1);
    EXPECT_EQ(float_cmp("fle", 2, 2), 1);
    EXPECT_EQ(float_cmp("fle", 2, kNaN), 0);
}

TEST(Interpreter, Conversions) {
    EXPECT_EQ(ftoi(-2.75), -2);
    EXPECT_EQ(ftoi(2.75), 2);
    EXPECT_EQ(ftoi(kNaN), 0);
    EXPECT_EQ(ftoi(kInf), kMax);
    EXPECT_EQ(ftoi(-kInf), kMin);
    EXPECT_EQ(ftoi(1e300), kMax);
    EXPECT_EQ(ftoi(-1e300), kMin);
    EXPECT_EQ(ftoi(9223372036854775808.0), kMax);
    EXPECT_EQ(ftoi(-9223372036854775808.0), kMin);
    EXPECT_EQ(ftoi(9223372036854774784.0), 9223372036854774784LL);  // the largest double below 2^63
    ProgramRun run = run_source(in_main("        li r1, 9007199254740993\n        itof f1, r1\n"
                                 "        li r2, -3\n        itof f2, r2"));
    EXPECT_EQ(run.f(1), 9007199254740992.0) << "rounded to nearest (even)";
    EXPECT_EQ(run.f(2), -3.0);
}

TEST(Interpreter, SemanticsFunctionsHaveNoUndefinedCase) {
    static_assert(sem::div(kMin, -1) == kMin);
    static_assert(sem::rem(kMin, -1) == 0);
    static_assert(sem::shl(1, 64) == 0 && sem::shr(-1, -1) == 0 && sem::sar(-1, 200) == -1);
    static_assert(sem::neg(kMin) == kMin);
    EXPECT_EQ(sem::ftoi(std::nan("")), 0);
}

TEST(Interpreter, BranchesTakenAndNotTaken) {
    // Each branch sets one bit of r10 when it behaves as specified.
    ProgramRun run = run_source(in_main(R"(
        li r1, -1
        li r2, 1
        li r0, 0
        li r10, 0
        jmp a
        li r10, 999
a:      bz r0, b
        jmp fail
b:      bz r2, fail
        bnz r2, c
        jmp fail
c:      bnz r0, fail
        beq r1, r1, d
        jmp fail
d:      beq r1, r2, fail
        bne r1, r2, e
        jmp fail
e:      bne r1, r1, fail
        blt r1, r2, g
        jmp fail
g:      blt r2, r1, fail
        bge r2, r1, h
        jmp fail
h:      bge r1, r2, fail
        bge r1, r1, i
        jmp fail
i:      bltu r2, r1, j
        jmp fail
j:      bltu r1, r2, fail
        bgeu r1, r2, k
        jmp fail
k:      bgeu r2, r1, fail
        li r10, 1
        halt
fail:   li r10, -1)"));
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(10), 1);
}

TEST(Interpreter, CallsAndTheValueStack) {
    ProgramRun run = run_source(R"(
.proc twice
        push r16
        li r16, 2
        mul r1, r1, r16
        pop r16
        ret
.end
.proc main
        li r16, 77
        li r1, 21
        call twice
        lif f16, 1.25
        pushf f16
        lif f16, 0
        popf f16
        li r5, -9
        push r5
        pop r6
        halt
.end
)");
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(1), 42);
    EXPECT_EQ(run.r(16), 77);
    EXPECT_EQ(run.f(16), 1.25);
    EXPECT_EQ(run.r(6), -9);
    EXPECT_EQ(run.machine->value_depth(), 0u);
}

TEST(Interpreter, ReturnFromEntryEndsTheProgram) {
    ProgramRun run = run_source(".proc main\n        li r1, 3\n        ret\n.end\n");
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(1), 3);
}

TEST(Interpreter, EntryOtherThanMain) {
    ProgramRun run = run_source(".proc main\n        li r1, 1\n        halt\n.end\n.proc other\n        li r1, 2\n        halt\n.end\n",
                         {}, "other");
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(1), 2);
}

TEST(Interpreter, LoadsAndStoresEveryType) {
    ProgramRun run = run_source(in_main(R"(
        li r2, 1
        li r1, 300
        st.u8 bytes[r2], r1
        ld.u8 r3, bytes[r2]
        li r1, -1
        st.u8 bytes[r2], r1
        ld.u8 r4, bytes[r2]
        li r1, 4294967297
        st.i32 ints[r2], r1
        ld.i32 r5, ints[r2]
        li r1, -1
        st.i32 ints[r2], r1
        ld.i32 r6, ints[r2]
        st.u32 uints[r2], r1
        ld.u32 r7, uints[r2]
        li r1, -9223372036854775808
        st.i64 longs[r2], r1
        ld.i64 r8, longs[r2]
        lif f1, 0.1
        st.f32 floats[r2], f1
        ld.f32 f2, floats[r2]
        lif f1, 1e40
        st.f32 floats[r2], f1
        ld.f32 f3, floats[r2]
        lif f1, 0.1
        st.f64 doubles[r2], f1
        ld.f64 f4, doubles[r2]
        li r2, 0
        ld.i32 r9, ints[r2]
        len r10, ints
        len r11, bytes)",
                                 R"(
.region bytes u8[2]
.region ints i32[2] = 5, 6
.region uints u32[2]
.region longs i64[2]
.region floats f32[2]
.region doubles f64[2])"));
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(3), 44) << "300 keeps its low 8 bits";
    EXPECT_EQ(run.r(4), 255) << "u8 loads zero-extend";
    EXPECT_EQ(run.r(5), 1) << "i32 stores keep the low 32 bits";
    EXPECT_EQ(run.r(6), -1) << "i32 loads sign-extend";
    EXPECT_EQ(run.r(7), 4294967295) << "u32 loads zero-extend";
    EXPECT_EQ(run.r(8), kMin);
    EXPECT_EQ(run.f(2), static_cast<double>(0.1f)) << "f32 stores round to nearest";
    EXPECT_EQ(run.f(3), kInf) << "1e40 rounds to inf in binary32";
    EXPECT_EQ(run.f(4), 0.1);
    EXPECT_EQ(run.r(9), 5);
    EXPECT_EQ(run.r(10), 2);
    EXPECT_EQ(run.r(11), 2);
}

TEST(Interpreter, RegionInitialisers) {
    ProgramRun run = run_source(in_main(R"(
        li r2, 0
        len r3, fills
        printr fills, r2, r3
        println
        len r3, ranges
        printr ranges, r2, r3
        println
        len r3, franges
        printr franges, r2, r3
        println
        len r3, halves
        printr halves, r2, r3
        println
        len r3, text
        printr text, r2, r3
        println
        len r3, unsigned
        printr unsigned, r2, r3)",
                                 R"(
.region fills i32[3] fill 7
.region ranges i64[4] range 10, -3
.region franges f64[3] range 1.0, 0.25
.region halves f32[2] = 0.1, 2
.region text u8[] "hi there"
.region unsigned u32[2] = 4294967295, 0)"));
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(*run.output, "[7, 7, 7]\n[10, 7, 4, 1]\n[1, 1.25, 1.5]\n[0.1, 2]\nhi there\n[4294967295, 0]");
}

TEST(Interpreter, AllocAndFree) {
    ProgramRun run = run_source(in_main(R"(
        li r1, 5
        alloc buf, r1
        len r2, buf
        li r3, 4
        li r4, 99
        st.i64 buf[r3], r4
        ld.i64 r5, buf[r3]
        li r3, 0
        ld.i64 r6, buf[r3]
        free buf
        len r7, buf)",
                                 ".region buf i64[2] fill 3"));
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.r(2), 5);
    EXPECT_EQ(run.r(5), 99);
    EXPECT_EQ(run.r(6), 0) << "alloc gives zero-filled storage";
    EXPECT_EQ(run.r(7), 0);
}

TEST(Interpreter, PrintFormats) {
    ProgramRun run = run_source(in_main(R"(
        li r1, -42
        print r1
        printc r10
        printu r1
        li r2, 0x141
        printc r2
        prints "|tab\t|"
        lif f1, 0.1
        printf f1
        printc r10
        lif f1, 1e21
        printf f1
        printc r10
        lif f1, 1e-7
        printf f1
        printc r10
        lif f1, inf
        printf f1
        printc r10
        lif f1, -inf
        printf f1
        printc r10
        lif f1, nan
        printf f1
        fneg f1, f1
        printc r10
        printf f1
        printc r10
        lif f1, 0
        fneg f1, f1
        printf f1
        printc r10
        lif f1, 6
        printf f1
        println)",
                                 ""), {});
    // r10 is 0 at the start, so printc r10 writes a NUL; replace with a separator before comparing.
    std::string text = *run.output;
    for (char& c : text)
        if (c == '\0') c = ' ';
    EXPECT_EQ(text, "-42 18446744073709551574A|tab\t|0.1 1e+21 1e-07 inf -inf nan nan -0 6\n");
}

TEST(Interpreter, VectorOpsGoThroughTheBackend) {
    ProgramRun run = run_source(in_main(R"(
        vadd zs, xs, ys
        vsum f1, zs
        vsumi r1, is
        vdot f2, xs, ys
        wait
        fence
        li r2, 0
        len r3, zs
        printr zs, r2, r3)",
                                 R"(
.region xs f64[3] = 1, 2, 3
.region ys f64[3] fill 0.5
.region zs f64[3]
.region is i64[4] range 1, 1)"));
    ASSERT_TRUE(run.halted());
    EXPECT_EQ(run.f(1), 7.5);
    EXPECT_EQ(run.r(1), 10);
    EXPECT_EQ(run.f(2), 3.0);
    EXPECT_EQ(*run.output, "[1.5, 2.5, 3.5]");
}

TEST(Interpreter, CountsSteps) {
    ProgramRun run = run_source(in_main("        li r1, 0\n        li r2, 10\nloop:   addi r1, r1, 1\n        blt r1, r2, loop"));
    ASSERT_TRUE(run.halted());
    // two li, the kloop word the assembler puts in front of the loop (too few
    // iterations for a kernel: the scalar loop runs them), ten iterations of two, and halt
    EXPECT_EQ(run.result.steps, 2u + 1u + 10u * 2u + 1u);
}

}  // namespace
}  // namespace polymer::test
