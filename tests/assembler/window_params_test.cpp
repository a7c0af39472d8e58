// Window buffer parameters (`in x: f32[i-1..i+1]`): the forms the assembler
// reads, and each error with its line, column and exact message.
#include <gtest/gtest.h>

#include "assembler_test_util.h"

namespace polymer {
namespace {

using testing::all_diagnostics;
using testing::assemble_ok;

// The one parameter of `.kernel k (PARAM)`, assembled.
KernelParam param_of(std::string_view param, std::string_view before = "") {
    Module m = assemble_ok(std::string(before) + ".kernel k (" + std::string(param) + ")\n        exit\n.end\n");
    if (m.kernels.size() != 1 || m.kernels[0].params.size() != 1) return {};
    return m.kernels[0].params[0];
}

KernelParam window(std::string name, ElemType type, std::int64_t lo, std::int64_t hi) {
    KernelParam p{std::move(name), ParamKind::Buffer, Access::In, type, Indexing::Window};
    p.window_lo = lo;
    p.window_hi = hi;
    return p;
}

TEST(WindowParams, Forms) {
    EXPECT_EQ(param_of("in x: f32[i-1..i+1]"), window("x", ElemType::F32, -1, 1));
    EXPECT_EQ(param_of("in x: f32[i..i+1]"), window("x", ElemType::F32, 0, 1));
    EXPECT_EQ(param_of("in x: i32[i-2..i]"), window("x", ElemType::I32, -2, 0));
    EXPECT_EQ(param_of("in x: u32[i+1..i+3]"), window("x", ElemType::U32, 1, 3));  // need not hold i
    EXPECT_EQ(param_of("in x: f32[i-3..i-3]"), window("x", ElemType::F32, -3, -3));
    EXPECT_EQ(param_of("in x: f32[i..i]"), window("x", ElemType::F32, 0, 0));
    EXPECT_EQ(param_of("in x: f32[i-4096..i+4096]"), window("x", ElemType::F32, -4096, 4096));
    EXPECT_EQ(param_of("in x: f32[ i - 2 .. i + 0x10 ]"), window("x", ElemType::F32, -2, 16));
    EXPECT_EQ(param_of("in x: f32[i-2147483647..i+2147483647]"),
              window("x", ElemType::F32, -2147483647, 2147483647));
    // `.equ` constants, on either side, with or without a space.
    EXPECT_EQ(param_of("in x: f32[i-W..i+W]", ".equ W, 4096\n"), window("x", ElemType::F32, -4096, 4096));
    EXPECT_EQ(param_of("in x: f32[i - W..i + W]", ".equ W, 64\n"), window("x", ElemType::F32, -64, 64));
    EXPECT_EQ(param_of("in x: f32[i+L..i+H]", ".equ L, -3\n.equ H, 5\n"), window("x", ElemType::F32, -3, 5));
    EXPECT_EQ(param_of("in x: f32[i-L..i+4]", ".equ L, -3\n"), window("x", ElemType::F32, 3, 4));
    // The element-wise and whole forms are as before.
    EXPECT_EQ(param_of("in x: f32[i]").indexing, Indexing::Element);
    EXPECT_EQ(param_of("in x: f32[]").indexing, Indexing::Broadcast);
}

TEST(WindowParams, WideKernelsAndSeveralWindows) {
    Module m = assemble_ok(
        ".equ W, 64\n"
        ".kernel heat (in t: f64[i-W..i+W], in k: i64[i-1..i+1], out u: f64[i], n: i64)\n"
        "        .wide\n"
        "        gid r0\n"
        "        addi r1, r0, -64\n"
        "        ldf f1, t[r1]\n"
        "        stf u[r0], f1\n"
        ".end\n");
    ASSERT_EQ(m.kernels.size(), 1u);
    EXPECT_EQ(m.kernels[0].params[0], window("t", ElemType::F64, -64, 64));
    EXPECT_EQ(m.kernels[0].params[1], window("k", ElemType::I64, -1, 1));
}

struct WindowError {
    std::string name;
    std::string param;   // the kernel's parameter list
    std::uint32_t col;   // on line 2 (line 1 is `.equ W, 8`)
    std::string message;
};

void PrintTo(const WindowError& c, std::ostream* os) { *os << c.name; }

// `.kernel k (` is 11 characters: the first parameter starts at column 12.
std::vector<WindowError> window_errors() {
    return {
        {"Out", "out x: f32[i-1..i+1]", 12,
         "a window buffer is read-only: lanes would write each other's elements (declare 'x' as 'in', or as a whole "
         "buffer TYPE[])"},
        {"InOut", "inout x: f32[i..i+1]", 12,
         "a window buffer is read-only: lanes would write each other's elements (declare 'x' as 'in', or as a whole "
         "buffer TYPE[])"},
        {"Empty", "in x: f32[i+1..i-1]", 21, "window [i+1..i-1] is empty: its start is after its end"},
        {"EmptyWithConstants", "in x: f32[i+W..i]", 21, "window [i+8..i] is empty: its start is after its end"},
        {"TooFarRight", "in x: f32[i..i+2147483648]", 26,
         "window offset +2147483648 is too far: a window reaches at most 2147483647 elements either way"},
        {"TooFarLeft", "in x: f32[i - 3000000000..i]", 26,
         "window offset -3000000000 is too far: a window reaches at most 2147483647 elements either way"},
        {"OneEnd", "in x: f32[i+1]", 25, "expected '..' and the window's end (a window is TYPE[i-A..i+B]), got ']'"},
        {"SecondEndWithoutI", "in x: f32[i-1..1]", 27,
         "expected 'i' after '..', got '1' (a window is TYPE[i-A..i+B])"},
        {"OtherName", "in x: f32[j-1..j+1]", 22, "expected ']' (a buffer is TYPE[i], TYPE[] or TYPE[i-A..i+B]), got 'j'"},
        {"SignWithoutNumber", "in x: f32[i+..i]", 24, "expected a number after '+', got '..' (a window is TYPE[i-A..i+B])"},
        {"UnknownName", "in x: f32[i-V..i]", 24, "expected a number after '-', got 'V' (a window is TYPE[i-A..i+B])"},
        {"FloatOffset", "in x: f32[i-1.5..i]", 23, "a window offset is a whole number of elements, not '-1.5'"},
        {"SizeSuffix", "in x: f32[i-1K..i]", 23, "a size suffix is only allowed in '.requires mem'"},
        {"Uniform", "x: f32[i-1..i+1]", 12,
         "buffer parameter 'x' needs 'in', 'out' or 'inout'"},
        {"NotClosed", "in x: f32[i-1..i+1", 30, "expected ']' after the window, got ')'"},
    };
}

class WindowParamError : public ::testing::TestWithParam<WindowError> {};

TEST_P(WindowParamError, ReportsLineColumnAndMessage) {
    const WindowError& c = GetParam();
    AssembleResult r = assemble(".equ W, 8\n.kernel k (" + c.param + ")\n        exit\n.end\n", {.filename = "w.pasm"});
    EXPECT_FALSE(r.ok());
    std::vector<const Diagnostic*> errors;
    for (const Diagnostic& d : r.diagnostics)
        if (d.severity == Diagnostic::Severity::Error) errors.push_back(&d);
    ASSERT_EQ(errors.size(), 1u) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->line, 2u) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->col, c.col) << all_diagnostics(r);
    EXPECT_EQ(errors[0]->message, c.message);
}

INSTANTIATE_TEST_SUITE_P(Cases, WindowParamError, ::testing::ValuesIn(window_errors()),
                         [](const auto& info) { return info.param.name; });

// The caret display points at the bracket of an empty window.
TEST(WindowParams, EmptyWindowCaret) {
    AssembleResult r = assemble(".kernel k (in x: f32[i+1..i])\n        exit\n.end\n", {.filename = "w.pasm"});
    ASSERT_FALSE(r.diagnostics.empty());
    EXPECT_EQ(format_diagnostic(r.diagnostics[0]),
              "w.pasm:1:21: error: window [i+1..i] is empty: its start is after its end\n"
              ".kernel k (in x: f32[i+1..i])\n"
              "                    ^\n");
}

}  // namespace
}  // namespace polymer
