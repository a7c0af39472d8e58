// The verifier: one test per class of malformed module, each checking the
// message names what and where.
#include <gtest/gtest.h>

#include <limits>
#include <string>

#include "isa/module_io.h"
#include "isa/verifier.h"
#include "sample_modules.h"

namespace polymer {
namespace {

using namespace polymer::testing;

std::string problem(const Module& m) {
    Result<Verified> v = verify_module(m);
    return v ? std::string("<valid>") : v.error();
}

// Indexes into full_module(): procedure main spans words [2, 25).
constexpr std::size_t kMainLoad = 5;    // ld.f32 f4, xs[r3]
constexpr std::size_t kMainBranch = 10; // bne r3, r2, loop
constexpr std::size_t kSaxpyLdf = 1;    // ldf f0, x[r0]

TEST(Verifier, ValidModulesPass) {
    EXPECT_EQ(problem(tiny_module()), "<valid>");
    EXPECT_EQ(problem(full_module()), "<valid>");
    EXPECT_EQ(problem(Module{}), "<valid>");
}

TEST(Verifier, UnknownOpcode) {
    Module m = tiny_module();
    m.code[1] = make_word(250, 1);
    EXPECT_EQ(problem(m), "proc 'main' word 1 (?): unknown opcode 250");
    m = full_module();
    m.kernels[0].code[3] = make_word(250);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 3 (?): unknown kernel opcode 250");
}

TEST(Verifier, OperandsOutOfRange) {
    Module m = tiny_module();
    m.code[0] = op(Op::Li, 32, 0, 0, 1);
    EXPECT_EQ(problem(m), "proc 'main' word 0 (li): integer register r32 does not exist (registers are 0..31)");
    m = full_module();
    m.code[3] = op(Op::Lif, 1, 0, 0, 3);
    EXPECT_EQ(problem(m), "proc 'main' word 3 (lif): float constant index 3 is out of range (3 in the pool)");
    m = full_module();
    m.code[2] = op(Op::Liw, 2, 0, 0, -1);
    EXPECT_EQ(problem(m), "proc 'main' word 2 (liw): integer constant index 4294967295 is out of range (2 in the pool)");
    m = full_module();
    m.code[12] = op(Op::Prints, 0, 0, 0, 3);
    EXPECT_EQ(problem(m), "proc 'main' word 12 (prints): string index 3 is out of range (3 strings)");
    m = full_module();
    m.code[11] = op(Op::Call, 0, 0, 0, 2);
    EXPECT_EQ(problem(m), "proc 'main' word 11 (call): procedure index 2 is out of range (2 procedures)");
    m = full_module();
    m.code[kMainLoad] = op(Op::LdF32, 4, 3, 7);
    EXPECT_EQ(problem(m), "proc 'main' word 5 (ld.f32): region index 7 is out of range (7 regions)");
    m = full_module();
    m.code[kMainLoad] = op(Op::LdF32, 4, 40, 0);
    EXPECT_EQ(problem(m), "proc 'main' word 5 (ld.f32): integer register r40 does not exist (registers are 0..31)");
    m = full_module();
    m.code[14] = op(Op::Vfma, 2, 0, 1, 300);
    EXPECT_EQ(problem(m), "proc 'main' word 14 (vfma): region index 300 is out of range (7 regions)");
    m = full_module();
    m.code[21] = op(Op::Launch, 7, 0, 0, 1);
    EXPECT_EQ(problem(m), "proc 'main' word 21 (launch): launch site index 1 is out of range (1 launch sites)");
    m.code[21] = op(Op::Launch, 99, 0, 0, 0);
    EXPECT_EQ(problem(m), "proc 'main' word 21 (launch): integer register r99 does not exist (registers are 0..31)");
}

TEST(Verifier, UnusedFieldsMustBeZero) {
    Module m = tiny_module();
    m.code[2] = op(Op::Halt, 0, 0, 0, 5);
    EXPECT_EQ(problem(m), "proc 'main' word 2 (halt): unused field imm is 5, must be 0");
    m = tiny_module();
    m.code[1] = op(Op::Print, 1, 3);
    EXPECT_EQ(problem(m), "proc 'main' word 1 (print): unused field B is 3, must be 0");
}

TEST(Verifier, ShiftAmounts) {
    Module m = full_module();
    m.code[9] = op(Op::Shli, 6, 3, 0, 64);
    EXPECT_EQ(problem(m), "proc 'main' word 9 (shli): shift amount 64 is not in 0..63");
    m.code[9] = op(Op::Sari, 6, 3, 0, -1);
    EXPECT_EQ(problem(m), "proc 'main' word 9 (sari): shift amount -1 is not in 0..63");
}

// printfd/printw: 0..64 digits; args/readln: a u8 region (the Regions column's `text`).
TEST(Verifier, DigitCountsAndTextRegions) {
    Module m = full_module();
    m.code[9] = op(Op::Printfd, 1, 0, 0, 65);
    EXPECT_EQ(problem(m), "proc 'main' word 9 (printfd): digit count 65 is not in 0..64");
    m.code[9] = op(Op::Printw, 1, 0, 0, -1);
    EXPECT_EQ(problem(m), "proc 'main' word 9 (printw): digit count -1 is not in 0..64");
    m.code[9] = op(Op::Args, 0, 3);
    EXPECT_EQ(problem(m), "proc 'main' word 9 (args): region 'xs' (f32) must be a u8 region");
    m.code[9] = op(Op::Readln, 1, 5);
    EXPECT_EQ(problem(m), "proc 'main' word 9 (readln): region 'big' (i64) must be a u8 region");
}

TEST(Verifier, JumpOutsideItsProcedure) {
    Module m = full_module();
    m.code[kMainBranch] = op(Op::Bne, 3, 2, 0, 1);  // into `square`
    EXPECT_EQ(problem(m), "proc 'main' word 10 (bne): jump target 1 is outside the procedure [2, 25)");
    m.code[kMainBranch] = op(Op::Bne, 3, 2, 0, 25);
    EXPECT_EQ(problem(m), "proc 'main' word 10 (bne): jump target 25 is outside the procedure [2, 25)");
    m.code[kMainBranch] = op(Op::Bne, 3, 2, 0, 24);
    EXPECT_EQ(problem(m), "<valid>");
}

TEST(Verifier, ProcedureLayout) {
    Module m = tiny_module();
    m.code.back() = op(Op::Print, 1);
    EXPECT_EQ(problem(m), "proc 'main' word 2 (print): the last word of a procedure must be jmp, ret or halt "
                          "(execution would run off its end)");
    m = full_module();
    m.procs[1].start = 3;
    m.procs[1].length = 22;
    EXPECT_EQ(problem(m), "proc 'main': starts at word 3, expected 2 (procedures cover the code in order, without gaps)");
    m = full_module();
    m.procs[1].length = 22;
    EXPECT_EQ(problem(m), "code words [24, 25) belong to no procedure");
    m.procs[1].length = 24;
    EXPECT_EQ(problem(m), "proc 'main': words [2, 26) run past the end of the code (25 words)");
    m.procs[1].length = 0;
    EXPECT_EQ(problem(m), "proc 'main': has no words");
    m = full_module();
    m.procs[0].name = "main";
    EXPECT_EQ(problem(m), "proc 'main': the name is used twice");
    m.procs[0].name = "";
    EXPECT_EQ(problem(m), "proc 0 has an empty name");
    m = full_module();
    m.lines.pop_back();
    EXPECT_EQ(problem(m), "the line table has 24 entries for 25 code words");
    m = full_module();
    m.labels[1].pc = 25;
    EXPECT_EQ(problem(m), "label 'done': word 25 is past the end of the code (25 words)");
}

TEST(Verifier, RegionTypeMismatch) {
    Module m = full_module();
    m.code[kMainLoad] = op(Op::LdF64, 4, 3, 0);
    EXPECT_EQ(problem(m), "proc 'main' word 5 (ld.f64): region 'xs' (f32) does not hold f64 elements");
    m.code[kMainLoad] = op(Op::StI32, 4, 3, 0);
    EXPECT_EQ(problem(m), "proc 'main' word 5 (st.i32): region 'xs' (f32) does not hold i32 elements");
    m = full_module();
    m.code[13] = op(Op::Vadd, 2, 0, 6);
    EXPECT_EQ(problem(m), "proc 'main' word 13 (vadd): region 'ds' (f64) and region 'zs' (f32) must have the same "
                          "element type");
    m = full_module();
    m.code[15] = op(Op::Vsum, 1, 5);
    EXPECT_EQ(problem(m), "proc 'main' word 15 (vsum): region 'big' (i64) must be a float (f32, f64) region");
    m = full_module();
    m.code[16] = op(Op::Vsumi, 1, 0);
    EXPECT_EQ(problem(m), "proc 'main' word 16 (vsumi): region 'xs' (f32) must be an integer (u8, i32, u32, i64) region");
    m = full_module();
    m.code[19] = op(Op::Vfill, 0, 1);
    EXPECT_NE(problem(m).find("(vfill): region 'xs' (f32) must be an integer"), std::string::npos);
    m = full_module();
    m.code[18] = op(Op::Vselect, 2, 3, 0, 5);  // b is i64
    EXPECT_NE(problem(m).find("(vselect): region 'big' (i64) and region 'zs' (f32)"), std::string::npos);
    m.code[18] = op(Op::Vselect, 2, 5, 0, 1);  // the mask may have any type
    EXPECT_EQ(problem(m), "<valid>");
    m.code[17] = op(Op::Vcmplt, 6, 0, 3);
    EXPECT_NE(problem(m).find("(vcmplt): region 'primes' (i32) and region 'xs' (f32)"), std::string::npos);
}

TEST(Verifier, RegionDeclarations) {
    Module m = full_module();
    m.regions[1].name = "xs";
    EXPECT_EQ(problem(m), "region 'xs': the name is used twice");
    m = full_module();
    m.regions[3].data.pop_back();
    EXPECT_EQ(problem(m), "region 'primes': initializer data is 11 bytes, expected 12");
    m = full_module();
    m.regions[3].init = RegionInit::String;
    EXPECT_EQ(problem(m), "region 'primes': a string initializer needs a u8 region");
    m = full_module();
    m.regions[2].length = (std::uint64_t{1} << 40) + 1;
    EXPECT_EQ(problem(m), "region 'zs': length 1099511627777 is more than 2^40 elements");
    m = full_module();
    m.regions[0].data = {1, 2, 3, 4};  // a Range region carries no data
    EXPECT_EQ(problem(m), "region 'xs': initializer data is 4 bytes, expected 0");
    m = full_module();  // a distributed region starts as zeros: no initial values
    m.regions[1].distributed = true;
    EXPECT_EQ(problem(m), "region 'ys': distributed, with a fill initializer (a distributed region starts as zeros)");
    m.regions[1].distributed = false;
    m.regions[3].distributed = true;
    EXPECT_EQ(problem(m), "region 'primes': distributed, with a list initializer (a distributed region starts as zeros)");
    m.regions[3].distributed = false;
    m.regions[2].distributed = true;  // zeros
    EXPECT_EQ(problem(m), "<valid>");
    m = tiny_module();
    m.regions.resize(225, RegionDecl{"r", ElemType::U8, 1});
    EXPECT_EQ(problem(m), "225 regions: a module has at most 224");
}

// Format 3.6: each declaration's count in range, names non-empty and unique
// across channels and barriers, at most 256 of each; operands index them.
TEST(Verifier, ChannelAndBarrierDeclarations) {
    EXPECT_EQ(problem(procs_module()), "<valid>");
    Module m = procs_module();
    m.channels[0].capacity = 0;
    EXPECT_EQ(problem(m), "channel 'pings': capacity 0 is out of range (1..1048576)");
    m.channels[0].capacity = kMaxChannelCapacity + 1;
    EXPECT_EQ(problem(m), "channel 'pings': capacity 1048577 is out of range (1..1048576)");
    m = procs_module();
    m.barriers[0].parties = 0;
    EXPECT_EQ(problem(m), "barrier 'step': parties 0 is out of range (1..1024)");
    m.barriers[0].parties = 1025;
    EXPECT_EQ(problem(m), "barrier 'step': parties 1025 is out of range (1..1024)");
    m.barriers[0].parties = 1024;
    EXPECT_EQ(problem(m), "<valid>");
    m = procs_module();
    m.channels[1].name = "";
    EXPECT_EQ(problem(m), "channel 1 has an empty name");
    m = procs_module();
    m.channels[1].name = "pings";
    EXPECT_EQ(problem(m), "channel 'pings': the name is used twice");
    m = procs_module();  // one set of names for both: the disassembly must read back
    m.barriers[0].name = "results";
    EXPECT_EQ(problem(m), "barrier 'results': the name is used twice");
    m = procs_module();
    for (unsigned i = 2; i < kMaxChannels; ++i) m.channels.push_back({"c" + std::to_string(i), 1});
    EXPECT_EQ(problem(m), "<valid>");
    m.channels.push_back({"one_more", 1});
    EXPECT_EQ(problem(m), "257 channels: a module has at most 256");
    m = procs_module();
    for (unsigned i = 1; i <= kMaxBarriers; ++i) m.barriers.push_back({"b" + std::to_string(i), 1});
    EXPECT_EQ(problem(m), "257 barriers: a module has at most 256");
}

// Format 3.7: a `.requires node` name is at most 255 bytes; the other
// requirements take any value.
TEST(Verifier, ProcRequirements) {
    EXPECT_EQ(problem(placed_procs_module()), "<valid>");
    Module m = placed_procs_module();
    m.procs[1].requirements.min_memory = ~std::uint64_t{0};
    m.procs[1].requirements.node = std::string(kMaxNodeNameBytes, 'n');
    EXPECT_EQ(problem(m), "<valid>");
    m.procs[1].requirements.node += "n";
    EXPECT_EQ(problem(m), "proc 'main': .requires node: the name has 256 bytes, more than 255");
}

TEST(Verifier, ChannelAndBarrierOperands) {
    Module m = procs_module();
    m.code[8] = op(Op::Send, 2, 1);
    EXPECT_EQ(problem(m), "proc 'main' word 8 (send): channel index 2 is out of range (2 channels)");
    m = procs_module();
    m.code[0] = op(Op::Recv, 1, 9);
    EXPECT_EQ(problem(m), "proc 'worker' word 0 (recv): channel index 9 is out of range (2 channels)");
    m = procs_module();
    m.code[10] = op(Op::Barrier, 1);
    EXPECT_EQ(problem(m), "proc 'main' word 10 (barrier): barrier index 1 is out of range (1 barriers)");
    m = procs_module();
    m.barriers.clear();
    EXPECT_EQ(problem(m), "proc 'worker' word 3 (barrier): barrier index 0 is out of range (0 barriers)");
    m = procs_module();
    m.code[6] = op(Op::Spawn, 9, 2, 0, 2);
    EXPECT_EQ(problem(m), "proc 'main' word 6 (spawn): procedure index 2 is out of range (2 procedures)");
}

TEST(Verifier, BadKernelSchema) {
    Module m = full_module();
    m.kernels[0].params[1].name = "x";
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'x': the name is used twice");
    m = full_module();
    m.kernels[0].params[0].type = ElemType::F64;
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'x': a buffer's type must be i32, u32 or f32 (i64, f64 only in a "
                          "wide kernel)");
    m = full_module();
    m.kernels[0].params[4].type = ElemType::U32;
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'n': a uniform's type must be i32 or f32 (i64, f64 only in a wide "
                          "kernel)");
    m = full_module();
    m.kernels.push_back(m.kernels[0]);
    EXPECT_EQ(problem(m), "kernel 'saxpy': the name is used twice");
}

// A window buffer is `in`, its window not empty and at most 2^31 - 1
// elements either way; no other parameter carries window offsets.
TEST(Verifier, WindowParameters) {
    EXPECT_EQ(problem(window_module()), "<valid>");
    Module m = window_module();
    m.kernels[0].params[1].access = Access::InOut;
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'y': a window buffer must be `in` (read-only: lanes would write "
                          "each other's elements)");
    m = window_module();
    m.kernels[0].params[1].window_lo = 2;
    m.kernels[0].params[1].window_hi = 1;
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'y': window [i+2..i+1] is empty (its start is after its end)");
    m = window_module();
    m.kernels[0].params[1].window_lo = -kMaxWindowOffset;
    m.kernels[0].params[1].window_hi = kMaxWindowOffset;
    EXPECT_EQ(problem(m), "<valid>");
    m.kernels[0].params[1].window_hi = kMaxWindowOffset + 1;
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'y': window offset 2147483648 is outside "
                          "-2147483647..2147483647");
    m.kernels[0].params[1].window_hi = 0;
    m.kernels[0].params[1].window_lo = std::numeric_limits<std::int64_t>::min();
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'y': window offset -9223372036854775808 is outside "
                          "-2147483647..2147483647");
    m = full_module();
    m.kernels[0].params[0].window_hi = 1;  // an element-wise buffer
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'x': window offsets 0..1 on a buffer that has no window");
    m = full_module();
    m.kernels[0].params[3].window_lo = -1;  // a uniform
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'a': a uniform has no access mode or indexing (they must be `in` "
                          "and element, with no window)");
}

TEST(Verifier, KernelOperandsAndParameterUse) {
    Module m = full_module();
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Ldf, 0, 0, 2);  // read the `out` buffer z
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (ldf): parameter 'z' is an `out` buffer and cannot be read");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Stf, 0, 0, 0);  // write the `in` buffer x
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (stf): parameter 'x' is an `in` buffer and cannot be written");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Ld, 0, 0, 0);  // integer load from an f32 buffer
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (ld): parameter 'x' is f32 but ld needs an i32 or u32 buffer");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Ldf, 0, 0, 3);  // a uniform as a buffer
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (ldf): parameter 'a' is a uniform, not a buffer");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Ldf, 0, 0, 6);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (ldf): parameter index 6 is out of range (6 parameters)");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Ldpf, 0, 4);  // i32 uniform read as f32
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (ldpf): parameter 'n' is not an f32 uniform");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Blen, 0, 3);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (blen): parameter 'a' is a uniform, not a buffer");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Add, 0, 1, 33);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (add): integer register r33 does not exist (registers are 0..31)");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Ffma, 0, 1, 2, 32);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (ffma): float register f32 does not exist (registers are 0..31)");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::AtAdd, 0, 0, 2);  // an atomic add reads: not on `out`
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (atadd): parameter 'z' is f32 but atadd needs an i32 or u32 buffer");
    m.kernels[0].lines.pop_back();
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Ldf, 0, 0, 0);
    EXPECT_EQ(problem(m), "kernel 'saxpy' the line table has 16 entries for 17 words");
}

// A kernel shift immediate is 0..31 (a lane is 32 bits); other immediates
// are any 32 bits.
TEST(Verifier, KernelShiftAmountsAreLaneWide) {
    Module m = full_module();
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Shli, 1, 2, 0, 31);
    EXPECT_EQ(problem(m), "<valid>");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Shli, 1, 2, 0, 32);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (shli): shift amount 32 is not in 0..31");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Sari, 1, 2, 0, -1);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (sari): shift amount -1 is not in 0..31");
    m.kernels[0].code[kSaxpyLdf] = kop(KOp::Xori, 1, 2, 0, static_cast<std::int32_t>(0x9E3779B1u));
    EXPECT_EQ(problem(m), "<valid>");
}

// A wide kernel (docs/kernels.md, "Wide kernels"): i64/f64 parameters, the
// ops of its Wide column, shifts 0..63; a module file gets the same rules as
// the assembler applies.
TEST(Verifier, WideKernels) {
    Module m = full_module();
    Kernel& k = m.kernels[0];
    k.wide = true;
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 4 (ffma): not available in a wide kernel (Vulkan does not promise a "
                          "fused binary64 fma)");
    k.code[4] = kop(KOp::Fmul, 3, 2, 0);
    EXPECT_EQ(problem(m), "<valid>");
    k.params[0].type = ElemType::F64;  // ldf from an f64 buffer, ldpf of an f64 uniform, ldp of an i64 one
    m.launches[0].args[0].index = handle_operand(0);  // @r0: its region's type is checked when it runs
    k.params[3].type = ElemType::F64;
    k.params[4].type = ElemType::I64;
    EXPECT_EQ(problem(m), "<valid>");
    k.params[5].type = ElemType::I64;  // atadd h[r0]: no i64 atomics
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 14 (atadd): parameter 'h' is i64 but atadd needs an i32 or u32 buffer "
                          "in a wide kernel");
    k.params[5].type = ElemType::I32;
    k.code[kSaxpyLdf] = kop(KOp::Shli, 1, 2, 0, 63);
    EXPECT_EQ(problem(m), "<valid>");
    k.code[kSaxpyLdf] = kop(KOp::Shli, 1, 2, 0, 64);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (shli): shift amount 64 is not in 0..63");
    k.code[kSaxpyLdf] = kop(KOp::Ldf, 0, 0, 5);  // a float load from the i32 buffer
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (ldf): parameter 'h' is i32 but ldf needs an f32 or f64 buffer in a "
                          "wide kernel");
    k.code[kSaxpyLdf] = kop(KOp::Fsin, 0, 1);
    EXPECT_EQ(problem(m), "kernel 'saxpy' word 1 (fsin): not available in a wide kernel (GLSL has no binary64 sin)");
    k.code[kSaxpyLdf] = kop(KOp::Ldf, 0, 0, 0);
    k.params[5].type = ElemType::U8;
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'h': a buffer's type must be i32, u32, i64, f32 or f64");
    k.params[5].type = ElemType::I32;
    k.wide = false;  // the same i64/f64 parameters in a narrow kernel
    EXPECT_EQ(problem(m), "kernel 'saxpy' parameter 'x': a buffer's type must be i32, u32 or f32 (i64, f64 only in a "
                          "wide kernel)");
}

TEST(Verifier, KernelControlFlowMustBeBalanced) {
    auto with_body = [](std::vector<Word> body) {
        Module m = full_module();
        m.kernels[0].code = std::move(body);
        m.kernels[0].lines.clear();
        return problem(m);
    };
    EXPECT_EQ(with_body({kop(KOp::If, 1), kop(KOp::Else), kop(KOp::End)}), "<valid>");
    EXPECT_EQ(with_body({kop(KOp::If, 1), kop(KOp::Loop), kop(KOp::End)}),
              "kernel 'saxpy' 1 block(s) not closed by `end` (the innermost opened at word 0)");
    EXPECT_EQ(with_body({kop(KOp::End)}), "kernel 'saxpy' word 0 (end): `end` without an open `if` or `loop`");
    EXPECT_EQ(with_body({kop(KOp::Loop), kop(KOp::Else), kop(KOp::End)}),
              "kernel 'saxpy' word 1 (else): `else` without an open `if`");
    EXPECT_EQ(with_body({kop(KOp::If, 1), kop(KOp::Else), kop(KOp::Else), kop(KOp::End)}),
              "kernel 'saxpy' word 2 (else): `else` without an open `if`");
    EXPECT_EQ(with_body({kop(KOp::If, 1), kop(KOp::Break), kop(KOp::End)}),
              "kernel 'saxpy' word 1 (break): `break` outside a loop");
    EXPECT_EQ(with_body({kop(KOp::Loop), kop(KOp::End), kop(KOp::Continue)}),
              "kernel 'saxpy' word 2 (continue): `continue` outside a loop");
    EXPECT_EQ(with_body({kop(KOp::Loop), kop(KOp::If, 1), kop(KOp::Continue), kop(KOp::End), kop(KOp::End)}),
              "<valid>");
}

TEST(Verifier, BadLaunchSite) {
    Module m = full_module();
    m.launches[0].kernel = 1;
    EXPECT_EQ(problem(m), "launch site 0: kernel index 1 is out of range (1 kernels)");
    m = full_module();
    m.launches[0].args.pop_back();
    EXPECT_EQ(problem(m), "launch site 0 (kernel 'saxpy'): 5 arguments for 6 parameters");
    m = full_module();
    m.launches[0].args[0].index = 6;  // ds is f64
    EXPECT_EQ(problem(m), "launch site 0 (kernel 'saxpy'): argument 0: region 'ds' (f64) does not match buffer 'x' "
                          "(f32)");
    m.launches[0].args[0] = {LaunchArg::Kind::IntReg, 1};
    EXPECT_EQ(problem(m), "launch site 0 (kernel 'saxpy'): argument 0: buffer 'x' needs a region");
    m = full_module();
    m.launches[0].args[3] = {LaunchArg::Kind::IntReg, 1};
    EXPECT_EQ(problem(m), "launch site 0 (kernel 'saxpy'): argument 3: f32 uniform 'a' needs a float register");
    m.launches[0].args[3] = {LaunchArg::Kind::FloatReg, 32};
    EXPECT_EQ(problem(m), "launch site 0 (kernel 'saxpy'): argument 3: float register f32 does not exist (registers "
                          "are 0..31)");
    m = full_module();
    m.launches[0].args[5].index = 9;
    EXPECT_EQ(problem(m), "launch site 0 (kernel 'saxpy'): argument 5: region index 9 is out of range (7 regions)");
}

TEST(Verifier, LoadModuleVerifies) {
    Module m = full_module();
    m.code[kMainBranch] = op(Op::Bne, 3, 2, 0, 1);
    Result<Module> r = load_module(write_module(m));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "proc 'main' word 10 (bne): jump target 1 is outside the procedure [2, 25)");
    EXPECT_TRUE(read_module(write_module(m)).ok());
}

}  // namespace
}  // namespace polymer

namespace polymer {
namespace {

using namespace polymer::testing;

std::string loop_problem(void (*edit)(Module&)) {
    Module m = loop_kernel_module();
    edit(m);
    Result<Verified> v = verify_module(m);
    return v ? std::string("<valid>") : v.error();
}

// Every rule of a loop kernel entry (docs/module-format.md, "loop-kernels"):
// the message names the entry, its kernel and what is wrong.
TEST(Verifier, LoopKernelEntries) {
    EXPECT_EQ(loop_problem([](Module&) {}), "<valid>");
    const std::string where = "loop kernel 0 (kernel 'main.loop4'): ";
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].kernel = 3; }),
              "loop kernel 0: kernel index 3 is out of range (1 kernels)");
    EXPECT_EQ(loop_problem([](Module& m) { m.kernels[0].wide = false; }),
              where + "kernel 'main.loop4' is not wide (a loop's kernel needs .wide)");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].header = 4; }),
              where + "header 4 is not the word after its kloop (word 2)");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].end = 9; }),
              where + "the loop's words [3, 9) are not inside proc 'main' [0, 8)");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].induction = 32; }),
              where + "integer register r32 does not exist (registers are 0..31)");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].step = 0; }), where + "the step is 0");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].chunk = 0; }),
              where + "the chunk is 0 (a lane runs at least one iteration)");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].args.pop_back(); }),
              where + "1 arguments for the 2 parameters of kernel 'main.loop4'");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].args[1] = {LoopArg::Kind::IntReg, 3}; }),
              where + "argument 1: parameter 'y' must be an i64 uniform");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].args[1] = {LoopArg::Kind::Region, 7}; }),
              where + "argument 1: region index 7 is out of range (2 regions)");
    EXPECT_EQ(loop_problem([](Module& m) { m.kernels[0].params[1].type = ElemType::U32; }),
              where + "argument 1: region 'ys' (i32) does not match buffer 'y' (u32)");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].args[1] = {LoopArg::Kind::Partials, 0}; }),
              where + "argument 1: reduction index 0 is out of range (0 reductions)");
    EXPECT_EQ(loop_problem([](Module& m) {
                  m.loop_kernels[0].reductions = {{false, 5, ReduceOp::Add}};
                  m.loop_kernels[0].args[1] = {LoopArg::Kind::Partials, 0};
              }),
              where + "argument 1: parameter 'y' must be an `out` i64 buffer (reduction 0's partials)");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].reductions = {{true, 5, ReduceOp::Add}}; }),
              where + "reduction 0: a float register needs fadd, fmin or fmax");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].reductions = {{false, 5, ReduceOp::Max}}; }),
              where + "reduction 0 has 0 partials arguments, not 1");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].accesses[1].region = 9; }),
              where + "access 1: region index 9 is out of range (2 regions)");
    EXPECT_EQ(loop_problem([](Module& m) { m.loop_kernels[0].divisors = {40}; }),
              where + "divisor: integer register r40 does not exist (registers are 0..31)");
    EXPECT_EQ(loop_problem([](Module& m) { m.code[2] = op(Op::Nop); }), where + "no kloop word names it");
    EXPECT_EQ(loop_problem([](Module& m) { m.code[1] = op(Op::Kloop, 0, 0, 0, 0); }),
              "loop kernel 0: named by two kloop words (1 and 2)");
    EXPECT_EQ(loop_problem([](Module& m) { m.code[2] = op(Op::Kloop, 0, 0, 0, 1); }),
              "proc 'main' word 2 (kloop): loop kernel index 1 is out of range (1 loop kernels)");
}

// A forged entry read from bytes is refused the same way (the reader takes
// any values; the verifier judges them).
TEST(Verifier, LoopKernelEntriesReadFromBytes) {
    Module m = loop_kernel_module();
    m.loop_kernels[0].step = 0;
    Result<Module> read = read_module(write_module(m));
    ASSERT_TRUE(read.ok()) << read.error();
    EXPECT_EQ(read.value().loop_kernels, m.loop_kernels);
    Result<Module> loaded = load_module(write_module(m));
    ASSERT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.error(), "loop kernel 0 (kernel 'main.loop4'): the step is 0");
}

}  // namespace
}  // namespace polymer
