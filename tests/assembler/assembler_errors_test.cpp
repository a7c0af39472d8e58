// The assembler on wrong input: each error with its exact line, column and
// message; many errors reported in one run; warnings; the caret display.
#include <gtest/gtest.h>

#include "assembler_test_util.h"

namespace polymer {
namespace {

using testing::all_diagnostics;
using testing::in_proc;

// A kernel `k` with one parameter of each kind; body line i is source line
// i + 1, indented by 8 spaces.
std::string in_kernel(std::initializer_list<std::string_view> lines) {
    std::string out = ".kernel k (in x: f32[i], out y: f32[i], inout c: i32[i], s: f32)\n";
    for (std::string_view l : lines) out += "        " + std::string(l) + "\n";
    return out + ".end\n";
}

// A wide kernel `w`; body line i is source line i + 2 (`.wide` is line 2).
std::string in_wide_kernel(std::initializer_list<std::string_view> lines) {
    std::string out = ".kernel w (in x: f64[i], out y: i64[i], inout h: i64[], n: i64, s: f32)\n        .wide\n";
    for (std::string_view l : lines) out += "        " + std::string(l) + "\n";
    return out + ".end\n";
}

struct ErrorCase {
    std::string name;
    std::string source;
    std::uint32_t line;
    std::uint32_t col;
    std::string message;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << c.name; }

const std::string kDistributedZeros =
    "region 'xs' is distributed: a distributed region starts as zeros on the nodes, so it takes no initial values "
    "(set them with a kernel)";
const std::string kDistributedLength =
    "region 'xs' needs a length: a distributed region starts as that many zeros on the nodes";

std::vector<ErrorCase> error_cases() {
    const std::string saxpy1 = ".kernel k (in x: f32[i])\n        exit\n.end\n";
    return {
        {"UnknownMnemonicSuggests", in_proc({"ad r1, r2, r3"}), 2, 9, "unknown instruction 'ad'; did you mean 'add'?"},
        {"UpperCaseMnemonic", in_proc({"HALT"}), 2, 9,
         "unknown instruction 'HALT'; did you mean 'halt'? (mnemonics are lower case)"},
        {"UnknownKernelMnemonicSuggests", in_kernel({"gdi r0"}), 2, 9, "unknown instruction 'gdi'; did you mean 'gid'?"},
        {"UnknownMnemonic", in_proc({"frobnicate r1"}), 2, 9, "unknown instruction 'frobnicate'"},
        // Habits of other assemblers get a hint in this language's terms.
        {"MovWithAConstant", in_proc({"mov r1, 5"}), 2, 17,
         "expected an integer register, got '5' (a constant goes into a register with 'li', e.g. 'li r1, 5')"},
        {"FmovWithAConstant", in_proc({"fmov f1, 0.5"}), 2, 18,
         "expected a float register, got '0.5' (a constant goes into a float register with 'lif', e.g. 'lif f1, 0.5')"},
        {"AddWithAConstant", in_proc({"add r1, r1, 1"}), 2, 21,
         "expected an integer register, got '1' (the form with a constant operand is 'addi')"},
        {"DivWithAConstant", in_proc({"div r1, r1, 3"}), 2, 21,
         "expected an integer register, got '3' (load the constant into a register first with 'li')"},
        {"Syscall", in_proc({"syscall"}), 2, 9,
         "unknown instruction 'syscall'; Polymer has no system calls: output is print, printf, printc, prints, printr "
         "and println"},
        {"DataSection", ".data\n" + in_proc({}), 1, 1,
         "unknown directive '.data'; Polymer has no sections: data is declared with '.region NAME TYPE[LEN]', code "
         "with '.proc NAME' ... '.end'"},
        {"Globl", ".globl main\n" + in_proc({}), 1, 1,
         "unknown directive '.globl'; every procedure and region of a program is visible in all its files "
         "('.include' them)"},
        {"Define", ".define N 5\n" + in_proc({}), 1, 1, "unknown directive '.define'; did you mean '.equ NAME, VALUE'?"},
        {"IntRegisterExpected", in_proc({"add r1, f1, r2"}), 2, 17, "expected an integer register, got 'f1'"},
        {"FloatRegisterExpected", in_proc({"fadd f1, r1, f2"}), 2, 18, "expected a float register, got 'r1'"},
        {"TooFewOperands", in_proc({"add r1, r2"}), 2, 9, "'add' takes 3 operands (add rA, rB, rC), got 2"},
        {"LaunchNeedsKernelAndCount", in_proc({"launch k"}) + saxpy1, 2, 9,
         "'launch' takes at least 2 operands (launch kernel, rA, args...), got 1"},
        {"OneOperandExpected", in_proc({"print r1, r2"}), 2, 9, "'print' takes 1 operand (print rA), got 2"},
        {"NoOperandsExpected", in_proc({"println r1"}), 2, 9, "'println' takes no operands, got 1"},
        {"IntRegisterOutOfRange", in_proc({"add r32, r1, r2"}), 2, 13,
         "unknown register 'r32' (integer registers are r0..r31)"},
        {"FloatRegisterOutOfRange", in_proc({"fmov f1, f40"}), 2, 18,
         "unknown register 'f40' (float registers are f0..f31)"},
        {"ImmediateOutOfRange", in_proc({"addi r1, r1, 3000000000"}), 2, 22,
         "immediate 3000000000 is out of range (-2147483648..2147483647)"},
        {"ShiftTooLarge", in_proc({"shli r1, r2, 64"}), 2, 22, "shift amount 64 is out of range (0..63)"},
        {"ShiftNegative", in_proc({"sari r1, r2, -1"}), 2, 22, "shift amount -1 is out of range (0..63)"},
        {"FloatWhereIntegerLiteral", in_proc({"addi r1, r1, 1.5"}), 2, 22, "expected an integer literal, got '1.5'"},
        {"UndefinedLabel", in_proc({"jmp nowhere"}), 2, 13, "undefined label 'nowhere'"},
        {"DuplicateLabel", ".proc main\nx:\nx:\n        jmp x\n.end\n", 3, 1,
         "duplicate label 'x' (first defined on line 2)"},
        {"LabelAtTheEnd", ".proc main\n        halt\nend_label:\n.end\n", 3, 1,
         "label 'end_label' must be followed by an instruction of procedure 'main'"},
        {"LabelOutsideProcedure", "start:\n" + in_proc({}), 1, 1, "label 'start' outside a procedure"},
        {"UndefinedRegion", in_proc({"len r1, nothere"}), 2, 17, "undefined region 'nothere'"},
        {"UndefinedProcedure", in_proc({"call nothere"}), 2, 14, "undefined procedure 'nothere'"},
        {"UndefinedKernel", in_proc({"launch nothere, r1"}), 2, 16, "undefined kernel 'nothere'"},
        {"DuplicateProcedure", in_proc({}) + in_proc({}), 4, 7, "duplicate procedure 'main'"},
        {"DuplicateRegion", ".region xs f32[4]\n.region xs f32[4]\n" + in_proc({"len r1, xs"}), 2, 9,
         "duplicate region 'xs' (first declared on line 1)"},
        {"DuplicateKernel", ".kernel k ()\n exit\n.end\n.kernel k ()\n exit\n.end\n", 4, 9, "duplicate kernel 'k'"},
        {"InstructionOutsideProcedure", "        add r1, r2, r3\n", 1, 9, "instruction 'add' outside a procedure"},
        {"MissingEnd", ".proc main\n        halt\n", 1, 7, "missing '.end' for procedure 'main'"},
        {"EndWithoutOpening", in_proc({}) + ".end\n", 4, 1, "'.end' without '.proc' or '.kernel'"},
        {"NestedProc", ".proc a\n        halt\n.proc b\n        halt\n.end\n", 3, 1,
         "'.proc' inside procedure 'a' (missing '.end'?)"},
        {"EmptyProcedure", ".proc main\n.end\n", 1, 7, "procedure 'main' has no instructions"},
        {"FallsOffTheEnd", ".proc main\n        li r1, 1\n.end\n", 2, 9,
         "procedure 'main' can fall off its end: its last instruction must be jmp, ret or halt"},
        {"LoadTypeMismatch", ".region xs f32[4]\n" + in_proc({"ld.i32 r1, xs[r2]"}), 3, 20,
         "ld.i32 needs an i32 region, but 'xs' is f32"},
        {"StoreTypeMismatch", ".region bs i32[4]\n" + in_proc({"st.u8 bs[r2], r1"}), 3, 15,
         "st.u8 needs a u8 region, but 'bs' is i32"},
        {"ArgumentTextNeedsU8", ".region xs i32[4]\n" + in_proc({"args xs, r1"}), 3, 14,
         "args needs a u8 region, but 'xs' is i32"},
        {"InputLineNeedsU8", ".region ds f64[4]\n" + in_proc({"readln r1, ds"}), 3, 20,
         "readln needs a u8 region, but 'ds' is f64"},
        {"DecimalsTooMany", in_proc({"printfd f1, 65"}), 2, 21, "digit count 65 is out of range (0..64)"},
        {"WidthNegative", in_proc({"printw r1, -1"}), 2, 20, "digit count -1 is out of range (0..64)"},
        {"DigitsFromARegister", in_proc({"printfd f1, r2"}), 2, 21, "expected an integer literal, got 'r2'"},
        {"VectorTypesDiffer", ".region a f32[4]\n.region b i32[4]\n" + in_proc({"vadd a, a, b"}), 4, 20,
         "vadd needs regions of one type, but 'a' is f32 and 'b' is i32"},
        {"VectorNeedsFloat", ".region a i32[4]\n" + in_proc({"vsum f1, a"}), 3, 18,
         "vsum needs a float region, but 'a' is i32"},
        {"VectorNeedsInteger", ".region a f64[4]\n" + in_proc({"vfill a, r1"}), 3, 15,
         "vfill needs an integer region, but 'a' is f64"},
        {"ElseWithoutIf", in_kernel({"else"}), 2, 9, "'else' without 'if'"},
        {"SecondElse", in_kernel({"if r1", "else", "else", "end"}), 4, 9, "second 'else' for one 'if'"},
        {"EndWithoutBlock", in_kernel({"end"}), 2, 9, "'end' without 'if' or 'loop'"},
        {"BreakOutsideLoop", in_kernel({"if r1", "break", "end"}), 3, 9, "'break' outside a loop"},
        {"UnclosedIf", in_kernel({"if r1"}), 2, 9, "'if' in kernel 'k' is never closed with 'end'"},
        {"StoreToInBuffer", in_kernel({"stf x[r0], f1"}), 2, 13,
         "stf writes 'in' buffer 'x' (f32); declare it 'out' or 'inout'"},
        {"LoadFromOutBuffer", in_kernel({"ldf f1, y[r0]"}), 2, 17,
         "ldf reads 'out' buffer 'y' (f32); declare it 'inout' to read it"},
        {"IntLoadFromFloatBuffer", in_kernel({"ld r1, x[r0]"}), 2, 16,
         "ld needs an i32 or u32 buffer, but 'in' buffer 'x' (f32) is not one"},
        {"IntUniformFromFloat", in_kernel({"ldp r1, s"}), 2, 17,
         "ldp needs an i32 uniform, but uniform 's' (f32) is not one"},
        {"UnknownParameter", in_kernel({"ldf f1, w[r0]"}), 2, 17, "kernel 'k' has no parameter 'w'"},
        {"KernelLifOutOfRange", in_kernel({"lif f1, 1e39"}), 2, 17, "value 1e39 is out of range for f32"},
        {"KernelImmediatePast32BitsUnsigned", in_kernel({"li r1, 0x100000000"}), 2, 16,
         "32-bit immediate 0x100000000 is out of range (-2147483648..4294967295)"},
        {"KernelImmediatePast32BitsSigned", in_kernel({"addi r1, r1, -2147483649"}), 2, 22,
         "32-bit immediate -2147483649 is out of range (-2147483648..4294967295)"},
        {"KernelBitwiseImmediatePast32Bits", in_kernel({"xori r1, r1, 4294967296"}), 2, 22,
         "32-bit immediate 4294967296 is out of range (-2147483648..4294967295)"},
        {"KernelShiftTooLarge", in_kernel({"shli r1, r2, 32"}), 2, 22, "shift amount 32 is out of range (0..31)"},
        {"KernelShiftNegative", in_kernel({"sari r1, r2, -1"}), 2, 22, "shift amount -1 is out of range (0..31)"},
        // Wide kernels (docs/kernels.md, "Wide kernels").
        {"WideKernelShiftTooLarge", in_wide_kernel({"shli r1, r2, 64"}), 3, 22, "shift amount 64 is out of range (0..63)"},
        {"WideKernelImmediateIsSigned", in_wide_kernel({"li r1, 4294967295"}), 3, 16,
         "32-bit immediate (sign-extended in a wide kernel) 4294967295 is out of range (-2147483648..2147483647)"},
        {"WideKernelHasNoFfma", in_wide_kernel({"ffma f1, f2, f3, f4"}), 3, 9,
         "'ffma' is not available in a wide kernel (Vulkan does not promise a fused binary64 fma)"},
        {"WideKernelHasNoFsin", in_wide_kernel({"fsin f1, f2"}), 3, 9,
         "'fsin' is not available in a wide kernel (GLSL has no binary64 sin)"},
        {"WideKernelAtaddOnI64", in_wide_kernel({"atadd h[r0], r1"}), 3, 15,
         "atadd needs an i32 or u32 buffer (in a wide kernel), but 'inout' buffer 'h' (i64) is not one (i32/u32 "
         "buffers only, adding the low 32 bits: no i64 atomics)"},
        {"WideKernelFloatUniformAsInt", in_wide_kernel({"ldp r1, s"}), 3, 17,
         "ldp needs an i32 or i64 uniform (in a wide kernel), but uniform 's' (f32) is not one"},
        {"I64BufferInANarrowKernel", ".kernel k (in x: i64[i], n: i32)\n        exit\n.end\n", 1, 18,
         "parameter 'x' is i64, which only a wide kernel takes (64-bit lanes: put `.wide` in the body of 'k')"},
        {"F64UniformInANarrowKernel", ".kernel k (in x: f32[i], a: f64)\n        exit\n.end\n", 1, 29,
         "parameter 'a' is f64, which only a wide kernel takes (64-bit lanes: put `.wide` in the body of 'k')"},
        {"WideOutsideKernel", in_proc({".wide"}), 2, 9, "'.wide' is only allowed inside a .kernel"},
        {"LaunchI64UniformFromFloat", in_proc({"launch w, r1, f2"}) + ".kernel w (n: i64)\n .wide\n exit\n.end\n", 2, 23,
         "uniform 'n' of kernel 'w' needs an integer register, got 'f2'"},
        {"KernelShiftRegisterForImmediate", in_kernel({"shri r1, r2, r3"}), 2, 22,
         "expected an integer literal, got 'r3'"},
        // A bad header is the one error: its launches, and the body's uses of
        // a parameter the header lost, are not reported on top.
        {"BadKernelHeaderDoesNotCascade",
         in_proc({"launch k, r1, xs", "launch k, r2", "launch k, r1, xs, xs, xs"}) +
             ".region xs f32[4]\n.kernel k (in x: f32[i], out y: f33[i])\n        gid r0\n"
             "        ldf f0, x[r0]\n        stf y[r0], f0\n.end\n",
         8, 33, "unknown element type 'f33'"},
        {"KernelHeaderWithoutParenthesesDoesNotCascade", in_proc({"launch k, r1"}) + ".kernel k\n        exit\n.end\n",
         5, 10, "expected '(' and the kernel's parameters, got end of line"},
        {"RegionF32RoundsToInfinity", ".region a f32[] = 1, 3.41e38\n" + in_proc({"len r1, a"}), 1, 22,
         "value 3.41e38 is out of range for f32"},
        {"ProcOpInKernel", in_kernel({"ld.i32 r1, xs[r0]"}), 2, 9,
         "'ld.i32' cannot be used in a kernel (kernels use the kernel instruction subset)"},
        {"KernelOpInProc", in_proc({"gid r0"}), 2, 9,
         "'gid' is a kernel instruction; it can only be used inside a .kernel"},
        {"UniformWithAccess", ".kernel k (in n: i32)\n exit\n.end\n", 1, 12,
         "uniform parameter 'n' cannot be 'in' (a buffer is written TYPE[i] or TYPE[])"},
        {"LaunchRegionType", ".region xs i32[4]\n" + in_proc({"launch k, r1, xs"}) + saxpy1, 3, 23,
         "buffer 'x' of kernel 'k' needs an f32 region, but 'xs' is i32"},
        {"LaunchArgumentCount", in_proc({"launch k, r1"}) + saxpy1, 2, 16,
         "kernel 'k' takes 1 argument (one per parameter), got 0"},
        {"LaunchUniformRegister", in_proc({"launch k, r1, f2"}) + ".kernel k (n: i32)\n exit\n.end\n", 2, 23,
         "uniform 'n' of kernel 'k' needs an integer register, got 'f2'"},
        {"ListLengthMismatch", ".region small i64[3] = 1, -2\n" + in_proc({}), 1, 22,
         "region 'small' declares 3 elements but the list has 2"},
        {"StringOnNonU8", ".region msg i32[] \"hi\"\n" + in_proc({}), 1, 19,
         "a string initialiser needs a u8 region, not i32"},
        {"BadElementType", ".region xs f16[4]\n" + in_proc({}), 1, 12,
         "unknown element type 'f16' (expected u8, i32, u32, i64, f32 or f64)"},
        {"RegionNeedsLength", ".region xs f32[]\n" + in_proc({}), 1, 16,
         "region 'xs' needs a length (only list and string regions may leave it out)"},
        // A distributed region starts as zeros on the nodes: the caret is
        // under the initialiser it may not have, or the length it must.
        {"DistributedFill", ".region xs f32[8] fill 1.0 distributed\n" + in_proc({}), 1, 19, kDistributedZeros},
        {"DistributedRange", ".region xs f32[8] range 0, 0.5 distributed\n" + in_proc({}), 1, 19, kDistributedZeros},
        {"DistributedList", ".region xs f32[] = 1, 2 distributed\n" + in_proc({}), 1, 18, kDistributedZeros},
        {"DistributedString", ".region xs u8[] \"hi\" distributed\n" + in_proc({}), 1, 17, kDistributedZeros},
        {"DistributedNeedsLength", ".region xs f32[] distributed\n" + in_proc({}), 1, 16, kDistributedLength},
        {"DistributedZerosNeedsLength", ".region xs f32[] zeros distributed\n" + in_proc({}), 1, 16,
         kDistributedLength},
        {"DistributedBeforeInitialiser", ".region xs f32[8] distributed zeros\n" + in_proc({}), 1, 31,
         "unexpected 'zeros' at the end of the line"},
        {"DistributedIsAKeyword", ".equ distributed, 3\n" + in_proc({}), 1, 6,
         "'distributed' cannot name a constant: it is a register, a mnemonic or a keyword"},
        {"ListValueOutOfRange", ".region b u8[] = 1, 256\n" + in_proc({}), 1, 21, "u8 value 256 is out of range (0..255)"},
        {"UnknownDirective", ".regoin xs f32[4]\n" + in_proc({}), 1, 1,
         "unknown directive '.regoin'; did you mean '.region'?"},
        {"RequiresOutsideABody", ".requires gpu\n" + in_proc({}), 1, 1,
         "'.requires' is only allowed inside a .kernel or a .proc"},
        {"PrefersOutsideABody", ".prefers gpu\n" + in_proc({}), 1, 1, "'.prefers' is only allowed inside a .kernel"},
        // `.requires` in a procedure: where spawn may place it.
        {"UnknownProcRequirement", in_proc({".requires cpu"}), 2, 19,
         "unknown requirement 'cpu': a procedure may require 'gpu', 'mem >= SIZE' or 'node NAME'"},
        {"ProcRequiresNothing", in_proc({".requires"}), 2, 18,
         "expected a requirement ('gpu', 'mem >= SIZE' or 'node NAME'), got end of line"},
        {"ProcRequiresAfterAnInstruction", in_proc({"li r1, 1", ".requires gpu"}), 3, 9,
         "'.requires' must come before the first instruction of procedure 'main'"},
        {"ProcRequiresNodeTwice", in_proc({".requires node box1", ".requires node \"box-2\""}), 3, 19,
         "'.requires node' is given twice for procedure 'main' (first on line 2)"},
        {"ProcRequiresMemTwice", in_proc({".requires mem >= 1G", ".requires gpu", ".requires mem >= 2G"}), 4, 19,
         "'.requires mem' is given twice for procedure 'main' (first on line 2)"},
        {"ProcRequiresBadSize", in_proc({".requires mem >= lots"}), 2, 26,
         "expected a size such as 512M or 4G, got 'lots'"},
        {"ProcRequiresNegativeSize", in_proc({".requires mem >= -1G"}), 2, 26,
         "expected a size such as 512M or 4G, got '-1G'"},
        {"ProcRequiresHugeSize", in_proc({".requires mem >= 20000000T"}), 2, 26,
         "memory size 20000000T does not fit 64 bits"},
        {"ProcRequiresMemWithoutComparison", in_proc({".requires mem 4G"}), 2, 23, "expected '>=', got '4G'"},
        {"ProcRequiresNodeWithoutName", in_proc({".requires node"}), 2, 23,
         "expected a node name (as polymer-node --name gives it; in quotes unless it is an identifier), got end of "
         "line"},
        {"ProcRequiresEmptyNodeName", in_proc({".requires node \"\""}), 2, 24, "the node name is empty"},
        {"ProcRequiresLongNodeName", in_proc({".requires node \"" + std::string(256, 'n') + "\""}), 2, 24,
         "the node name has 256 bytes, more than 255"},
        {"ProcRequiresGpuAndMore", in_proc({".requires gpu please"}), 2, 23, "unexpected 'please' at the end of the line"},
        {"ProcPrefers", in_proc({".prefers gpu"}), 2, 9,
         "'.prefers' is not supported in a .proc: spawn places a procedure on one participant, so there is nothing to "
         "prefer ('.requires gpu' sends it only to a GPU node)"},
        // `.launches cluster`: where a procedure's launches go.
        {"LaunchesOutsideAProc", ".launches cluster\n" + in_proc({}), 1, 1, "'.launches' is only allowed inside a .proc"},
        {"LaunchesInAKernel", in_kernel({".launches cluster"}), 2, 9, "'.launches' is only allowed inside a .proc"},
        {"LaunchesNowhere", in_proc({".launches"}), 2, 18, "expected where its launches go ('cluster'), got end of line"},
        {"LaunchesElsewhere", in_proc({".launches home"}), 2, 19,
         "expected 'cluster' after '.launches', got 'home' (without '.launches', a procedure on a node launches on that node)"},
        {"LaunchesAfterAnInstruction", in_proc({"li r1, 1", ".launches cluster"}), 3, 9,
         "'.launches' must come before the first instruction of procedure 'main'"},
        {"LaunchesTwice", in_proc({".launches cluster", ".requires gpu", ".launches cluster"}), 4, 9,
         "'.launches cluster' is given twice for procedure 'main' (first on line 2)"},
        {"LaunchesClusterAndMore", in_proc({".launches cluster now"}), 2, 27, "unexpected 'now' at the end of the line"},
        {"ClusterIsAKeyword", ".equ cluster, 3\n" + in_proc({}), 1, 6,
         "'cluster' cannot name a constant: it is a register, a mnemonic or a keyword"},
        {"NodeIsAKeyword", ".equ node, 3\n" + in_proc({}), 1, 6,
         "'node' cannot name a constant: it is a register, a mnemonic or a keyword"},
        {"BadEscape", in_proc({"prints \"a\\qb\""}), 2, 18, "unknown escape sequence '\\q'"},
        {"UnterminatedString", in_proc({"prints \"abc"}), 2, 16, "unterminated string literal"},
        {"InvalidNumber", in_proc({"li r1, 12ab"}), 2, 16, "invalid numeric literal '12ab'"},
        {"IntegerTooWide", in_proc({"li r1, 18446744073709551616"}), 2, 16,
         "integer literal '18446744073709551616' does not fit 64 bits"},
    };
}

class AssemblerError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(AssemblerError, ReportsLineColumnAndMessage) {
    const ErrorCase& c = GetParam();
    AssembleOptions options;
    options.filename = "bad.pasm";
    AssembleResult r = assemble(c.source, options);
    EXPECT_FALSE(r.ok());
    std::vector<const Diagnostic*> errors;
    for (const Diagnostic& d : r.diagnostics)
        if (d.severity == Diagnostic::Severity::Error) errors.push_back(&d);
    ASSERT_EQ(errors.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->file, "bad.pasm");
    EXPECT_EQ(errors[0]->line, c.line) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->col, c.col) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->message, c.message);
}

INSTANTIATE_TEST_SUITE_P(Cases, AssemblerError, ::testing::ValuesIn(error_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(AssemblerErrors, AtLeastThirtyDistinctCases) { EXPECT_GE(error_cases().size(), 30u); }

TEST(AssemblerErrors, EveryErrorOfAFileIsReportedInOrder) {
    std::string source =
        ".region xs f32[4]\n"            // 1
        ".proc main\n"                   // 2
        "        add r1, r2\n"           // 3: operand count
        "        ld.i64 r1, xs[r2]\n"    // 4: region type
        "        li r99, 1\n"            // 5: register
        "        jmp missing\n"          // 6: label
        ".end\n"                         // 7
        ".proc main\n"                   // 8: duplicate
        "        halt\n"                 // 9
        ".end\n";                        // 10
    AssembleResult r = assemble(source);
    EXPECT_FALSE(r.ok());
    std::vector<std::pair<std::uint32_t, std::uint32_t>> positions;
    for (const Diagnostic& d : r.diagnostics) {
        EXPECT_EQ(d.severity, Diagnostic::Severity::Error) << format_diagnostic(d);
        positions.emplace_back(d.line, d.col);
    }
    EXPECT_EQ(positions, (std::vector<std::pair<std::uint32_t, std::uint32_t>>{
                             {3, 9}, {4, 20}, {5, 12}, {6, 13}, {8, 7}}));
}

TEST(AssemblerErrors, TooManyRegions) {
    std::string source;
    for (unsigned i = 0; i <= kMaxRegions; ++i) source += ".region g" + std::to_string(i) + " i32[1]\n";
    AssembleResult r = assemble(source + in_proc({}));
    std::vector<const Diagnostic*> errors;
    for (const Diagnostic& d : r.diagnostics)
        if (d.severity == Diagnostic::Severity::Error) errors.push_back(&d);
    ASSERT_EQ(errors.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->line, 225u);
    EXPECT_EQ(errors[0]->col, 1u);
    EXPECT_EQ(errors[0]->message, "too many regions (at most 224)");
}

TEST(AssemblerErrors, ABadRegionDeclarationIsReportedOnce) {
    // The uses of `xs` are not reported as undefined, nor is it "never used".
    AssembleResult r = assemble(".region xs f32[2] = 1, 2, 3\n" + in_proc({"len r1, xs", "vfillf xs, f1"}));
    ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(r.diagnostics[0].message, "region 'xs' declares 2 elements but the list has 3");
}

TEST(AssemblerErrors, ABadKernelHeaderIsReportedOnce) {
    // Not "undefined kernel 'k'" at each launch, nor a wrong argument count
    // against the parameters read so far, nor "no parameter 'y'" in the body,
    // nor "region 'xs' is never used".
    AssembleResult r = assemble(in_proc({"launch k, r1, xs, xs", "launch k, r2"}) +
                                ".region xs f32[4]\n.kernel k (in x: f32[i], out y: f33[i])\n        gid r0\n"
                                "        ldf f0, x[r0]\n        stf y[r0], f0\n.end\n");
    ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(r.diagnostics[0].message, "unknown element type 'f33'");
    // The same launches of a kernel that does not exist are each reported.
    AssembleResult undefined = assemble(in_proc({"launch nothere, r1, xs", "launch nothere, r2"}) + ".region xs f32[4]\n");
    EXPECT_EQ(undefined.errors, 2u) << all_diagnostics(undefined);
}

TEST(AssemblerErrors, LexicalErrorsDoNotStopLaterLines) {
    AssembleResult r = assemble(in_proc({"prints \"open", "li r1, 0x", "li r1, $", "add r1, r2, r3"}));
    ASSERT_EQ(r.diagnostics.size(), 3u) << all_diagnostics(r);
    EXPECT_EQ(r.diagnostics[0].message, "unterminated string literal");
    EXPECT_EQ(r.diagnostics[1].message, "invalid numeric literal '0x'");
    EXPECT_EQ(r.diagnostics[2].message, "unexpected character '$'");
    EXPECT_EQ(r.diagnostics[2].col, 16u);
}

TEST(AssemblerWarnings, UnusedLabelsAndRegionsWarnButSucceed) {
    AssembleResult r = assemble(".region spare i32[4]\n.region used i32[4]\n" +
                                in_proc({"len r1, used", "jmp target", "idle:", "nop", "target:"}));
    ASSERT_TRUE(r.ok()) << all_diagnostics(r);
    ASSERT_EQ(r.diagnostics.size(), 2u) << all_diagnostics(r);
    EXPECT_EQ(r.diagnostics[0].severity, Diagnostic::Severity::Warning);
    EXPECT_EQ(r.diagnostics[0].line, 1u);
    EXPECT_EQ(r.diagnostics[0].col, 9u);
    EXPECT_EQ(r.diagnostics[0].message, "region 'spare' is never used");
    EXPECT_EQ(r.diagnostics[1].line, 6u);
    EXPECT_EQ(r.diagnostics[1].col, 9u);
    EXPECT_EQ(r.diagnostics[1].message, "label 'idle' is never used");
}

TEST(AssemblerDiagnostics, CaretUnderTheColumn) {
    Diagnostic d;
    d.file = "prog.pasm";
    d.line = 12;
    d.col = 13;
    d.message = "unknown register 'r32' (integer registers are r0..r31)";
    d.source_line = "        add r32, r1, r2";
    EXPECT_EQ(format_diagnostic(d),
              "prog.pasm:12:13: error: unknown register 'r32' (integer registers are r0..r31)\n"
              "        add r32, r1, r2\n"
              "            ^\n");
    d.severity = Diagnostic::Severity::Warning;
    d.source_line = "\tadd\tr32, r1, r2";
    d.col = 6;
    d.message = "m";
    EXPECT_EQ(format_diagnostic(d), "prog.pasm:12:6: warning: m\n\tadd\tr32, r1, r2\n\t   \t^\n");
}

TEST(AssemblerDiagnostics, KernelImmediateErrorPointsAtTheLiteral) {
    AssembleOptions options;
    options.filename = "hash.pasm";
    AssembleResult r = assemble(".kernel h (out o: u32[i])\n        li r1, 0x1_0000_0000\n.end\n", options);
    ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(format_diagnostic(r.diagnostics[0]),
              "hash.pasm:2:16: error: 32-bit immediate 0x1_0000_0000 is out of range (-2147483648..4294967295)\n"
              "        li r1, 0x1_0000_0000\n"
              "               ^\n");
}

TEST(AssemblerDiagnostics, DistributedWithValuesPointsAtTheInitialiser) {
    AssembleResult r = assemble(".region xs f64[64] range 0, 1 distributed\n" + in_proc({}), {.filename = "d.pasm"});
    ASSERT_EQ(r.diagnostics.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(format_diagnostic(r.diagnostics[0]),
              "d.pasm:1:20: error: " + kDistributedZeros + "\n"
              ".region xs f64[64] range 0, 1 distributed\n"
              "                   ^\n");
}

TEST(AssemblerDiagnostics, EndToEndFormatting) {
    AssembleOptions options;
    options.filename = "p.pasm";
    AssembleResult r = assemble(".proc main\n\tad r1, r2, r3\n        halt\n.end\n", options);
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(format_diagnostic(r.diagnostics[0]),
              "p.pasm:2:2: error: unknown instruction 'ad'; did you mean 'add'?\n\tad r1, r2, r3\n\t^\n");
}

TEST(AssemblerErrors, HostileInputDoesNotCrash) {
    std::string long_name(100000, 'x');
    for (std::string source : {std::string("\0\xff\x80", 3), long_name, ".proc " + long_name + "\n" + long_name,
                               std::string(".region a u8[1099511627776]\n"), std::string(".kernel k (\n"),
                               std::string(".loc\n.loc 1\n.loc -1 2\n"), std::string("'\n'\\\n\"\\x\n")}) {
        AssembleResult r = assemble(source);
        EXPECT_FALSE(r.diagnostics.empty());
        for (const Diagnostic& d : r.diagnostics) EXPECT_FALSE(format_diagnostic(d).empty());
    }
}

}  // namespace
}  // namespace polymer
