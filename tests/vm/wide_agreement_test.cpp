// Wide kernels (`.wide`: 64-bit integer and binary64 lanes) on Vulkan
// (lavapipe here) against the procedure semantics they promise
// (vm/scalar_semantics.h, docs/kernels.md "Wide kernels on Vulkan"), bit for
// bit: every pure op of the kernel table that has a wide form, on every pair
// of edge values (INT64_MIN, -1, shift counts 63/64/-1, NaN, -0.0,
// denormals, values past int64 for ftoi) and random bits; the immediates of
// RRI/RI ops sign-extended (every shift amount 0..63); loads, stores and
// uniforms of every buffer and uniform type (sign and zero extension, f32
// widened, stores to f32 rounded to nearest even); a 64-bit index past 2^32
// that must fault, not wrap; and fdiv/fsqrt corrected from a guess no better
// than Vulkan's binary32 promise.
//
// The reference is the procedure semantics itself, sem::, so the test holds
// whichever backend runs the CPU side.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "assembler/kernel_glsl.h"
#include "assembler/kernel_glsl_f64.h"
#include "assembler/spirv_compiler.h"
#include "isa/opcodes.h"
#include "kernel_test_util.h"
#include "shared_vulkan.h"
#include "splitmix.h"
#include "vm/scalar_semantics.h"
#include "vm/vulkan/vulkan_backend.h"

namespace polymer {
namespace {

using test::buffer_arg;
using test::whole_launch;
using i64 = std::int64_t;
using u64 = std::uint64_t;

std::unique_ptr<VulkanBackend>& vulkan() { return test::shared_vulkan(); }

constexpr std::size_t kLanes = 1 << 14;

constexpr i64 kIntEdges[] = {0,
                             1,
                             -1,
                             2,
                             -2,
                             31,
                             32,
                             63,
                             64,
                             65,
                             -63,
                             -64,
                             INT64_MIN,
                             INT64_MAX,
                             INT64_MIN + 1,
                             INT32_MIN,
                             INT32_MAX,
                             i64{UINT32_MAX},
                             i64{1} << 32,
                             static_cast<i64>(0x9E3779B97F4A7C15ull),
                             1000000007};

const double kFloatEdges[] = {0.0,
                              -0.0,
                              1.0,
                              -1.0,
                              0.5,
                              1.5,
                              -2.5,
                              3.0,
                              0.1,
                              1.0 / 3.0,
                              0x1p-1074,
                              -0x1p-1074,
                              0x1.ffffffffffffep-1023,   // the largest denormal
                              0x1p-1022,                 // the smallest normal
                              std::numeric_limits<double>::max(),
                              -std::numeric_limits<double>::max(),
                              INFINITY,
                              -INFINITY,
                              NAN,
                              -NAN,
                              0x1p63,                    // ftoi saturates from here
                              -0x1p63,
                              0x1.fffffffffffffp62,      // the largest double below 2^63
                              -0x1.fffffffffffffp62,
                              1e300,
                              1e-300,
                              4503599627370497.5,        // floor and ftoi near 2^52
                              -4503599627370496.5};

// n values: every pair of edges first (a = i / E, b = i % E), then random
// bits, every third b small (shift counts, small divisors).
std::vector<i64> int_operand(bool second) {
    std::vector<i64> v(kLanes);
    test::Random r{second ? 11u : 7u};
    constexpr std::size_t e = std::size(kIntEdges);
    for (std::size_t i = 0; i < kLanes; ++i) {
        if (i < e * e) {
            v[i] = kIntEdges[second ? i % e : i / e];
            continue;
        }
        const auto bits = static_cast<i64>(r.next());
        v[i] = second && i % 3 == 0 ? bits % 70 : bits;
    }
    return v;
}

// Edge pairs, then random bit patterns (NaNs, denormals, every exponent)
// mixed with values of ordinary size.
std::vector<double> float_operand(bool second) {
    std::vector<double> v(kLanes);
    test::Random r{second ? 13u : 17u};
    constexpr std::size_t e = std::size(kFloatEdges);
    for (std::size_t i = 0; i < kLanes; ++i) {
        if (i < e * e) {
            v[i] = kFloatEdges[second ? i % e : i / e];
            continue;
        }
        const u64 bits = r.next();
        v[i] = (bits & 1) ? std::bit_cast<double>(r.next())
                          : static_cast<double>(bits >> 11) / 9007199254740992.0 * 2048 - 1024;
    }
    return v;
}

std::vector<std::string> immediates(KOp op) {
    std::vector<std::string> out;
    if (is_kernel_shift_immediate(op)) {
        for (int n = 0; n <= 63; ++n) out.push_back(std::to_string(n));
        return out;
    }
    // A wide kernel's immediates are signed 32-bit literals (sign-extended).
    out = {"0", "1", "-1", "0x7FFFFFFF", "-2147483648", "255", "-65536", "-1640531535"};
    test::Random r{static_cast<u64>(op)};
    for (int i = 0; i < 4; ++i) out.push_back(std::to_string(static_cast<std::int32_t>(r.next())));
    return out;
}

// The binary32 literals lif is tried with: widened exactly to binary64.
const std::vector<std::string> kLifLiterals = {"0.0", "-0.0", "0.1", "1.0", "-2.5", "3.4028235e38", "1e-45",
                                               "1.1754942e-38", "16777217.0", "0.33333334"};

// What an immediate literal means as a kernel word's 32 bits.
std::int32_t imm_bits(const std::string& text) {
    const long long v = std::stoll(text, nullptr, 0);
    return static_cast<std::int32_t>(static_cast<std::uint32_t>(static_cast<u64>(v)));
}

// The procedure semantics of op (vm/scalar_semantics.h) on one lane: integer
// operands a, b (or float fa, fb), the immediate imm; the result's bits.
// nullopt: no reference here (the test then fails for that op).
std::optional<u64> reference(KOp op, i64 a, i64 b, double fa, double fb, std::int32_t imm, u64 lane, u64 count) {
    auto bits = [](double d) { return std::bit_cast<u64>(d); };
    auto u = [](i64 v) { return static_cast<u64>(v); };
    const i64 im = imm;  // sign-extended
    switch (op) {
    case KOp::Gid: return lane;
    case KOp::Count: return count;
    case KOp::Li: return u(im);
    case KOp::Mov: return u(a);
    case KOp::Add: return u(sem::add(a, b));
    case KOp::Sub: return u(sem::sub(a, b));
    case KOp::Mul: return u(sem::mul(a, b));
    case KOp::Div: return b == 0 ? 0 : u(sem::div(a, b));
    case KOp::Rem: return b == 0 ? 0 : u(sem::rem(a, b));
    case KOp::Divu: return b == 0 ? 0 : u(sem::divu(a, b));
    case KOp::Remu: return b == 0 ? 0 : u(sem::remu(a, b));
    case KOp::And: return u(a & b);
    case KOp::Or: return u(a | b);
    case KOp::Xor: return u(a ^ b);
    case KOp::Shl: return u(sem::shl(a, b));
    case KOp::Shr: return u(sem::shr(a, b));
    case KOp::Sar: return u(sem::sar(a, b));
    case KOp::Min: return u(sem::min(a, b));
    case KOp::Max: return u(sem::max(a, b));
    case KOp::Neg: return u(sem::neg(a));
    case KOp::Not: return ~u(a);
    case KOp::Addi: return u(sem::add(a, im));
    case KOp::Muli: return u(sem::mul(a, im));
    case KOp::Andi: return u(a & im);
    case KOp::Ori: return u(a | im);
    case KOp::Xori: return u(a ^ im);
    case KOp::Shli: return u(sem::shl(a, im));
    case KOp::Shri: return u(sem::shr(a, im));
    case KOp::Sari: return u(sem::sar(a, im));
    case KOp::Eq: return a == b;
    case KOp::Ne: return a != b;
    case KOp::Lt: return a < b;
    case KOp::Le: return a <= b;
    case KOp::Ltu: return u(a) < u(b);
    case KOp::Leu: return u(a) <= u(b);
    case KOp::Lif: return bits(static_cast<double>(std::bit_cast<float>(imm)));
    case KOp::Fmov: return bits(fa);
    case KOp::Fadd: return bits(fa + fb);
    case KOp::Fsub: return bits(fa - fb);
    case KOp::Fmul: return bits(fa * fb);
    case KOp::Fdiv: return bits(fa / fb);
    case KOp::Fmin: return bits(sem::fmin(fa, fb));
    case KOp::Fmax: return bits(sem::fmax(fa, fb));
    case KOp::Fneg: return bits(-fa);
    case KOp::Fabs: return bits(std::fabs(fa));
    case KOp::Fsqrt: return bits(std::sqrt(fa));
    case KOp::Ffloor: return bits(std::floor(fa));
    case KOp::Feq: return fa == fb;
    case KOp::Flt: return fa < fb;
    case KOp::Fle: return fa <= fb;
    case KOp::Itof: return bits(static_cast<double>(a));
    case KOp::Ftoi: return u(sem::ftoi(fa));
    default: return std::nullopt;
    }
}

bool float_result(Format f) { return f == Format::FFF || f == Format::FF || f == Format::FR || f == Format::FI32; }
bool float_operands(Format f) { return f == Format::FFF || f == Format::FF || f == Format::RFF || f == Format::RF; }

// The pure ops of the table a wide kernel may use, with the formats this test drives.
bool compared(KOp op) {
    const Format f = kop_info(op).format;
    const bool driven = f == Format::R || f == Format::RR || f == Format::RRR || f == Format::RRI || f == Format::RI ||
                        f == Format::FI32 || f == Format::FFF || f == Format::FF || f == Format::RFF || f == Format::FR ||
                        f == Format::RF;
    return kop_effect(op) == KEffect::Pure && driven && has_wide_lowering(op) && op != KOp::Nop;
}

// Lane g applies op to x[g], y[g] (with each immediate, or its one form) and
// writes z[g * results + k].
struct OpKernel {
    std::string source;
    std::vector<std::int32_t> imms;  // one per result (0 where none)
};

OpKernel op_kernel(KOp op) {
    const KOpInfo& info = kop_info(op);
    const std::string mn(info.mnemonic);
    const Format f = info.format;
    const bool fin = float_operands(f), fout = float_result(f);
    OpKernel k;
    std::vector<std::string> lines;
    const std::string dst = fout ? "f3" : "r3";
    const std::string b = fin ? "f1" : "r1", c = fin ? "f2" : "r2";
    switch (f) {
    case Format::R: lines = {mn + " " + dst}; break;
    case Format::RR: case Format::FF: case Format::RF: case Format::FR: lines = {mn + " " + dst + ", " + b}; break;
    case Format::RRR: case Format::FFF: case Format::RFF: lines = {mn + " " + dst + ", " + b + ", " + c}; break;
    case Format::RRI:
        for (const std::string& imm : immediates(op)) {
            lines.push_back(mn + " r3, r1, " + imm);
            k.imms.push_back(imm_bits(imm));
        }
        break;
    case Format::RI:
        for (const std::string& imm : immediates(op)) {
            lines.push_back(mn + " r3, " + imm);
            k.imms.push_back(imm_bits(imm));
        }
        break;
    case Format::FI32:
        for (const std::string& lit : kLifLiterals) {
            lines.push_back(mn + " f3, " + lit);
            k.imms.push_back(std::bit_cast<std::int32_t>(std::strtof(lit.c_str(), nullptr)));
        }
        break;
    default: return {};
    }
    if (k.imms.empty()) k.imms.assign(lines.size(), 0);
    const std::string in_type = fin ? "f64" : "i64";
    k.source = ".kernel t (in x: " + in_type + "[i], in y: " + in_type + "[i], out z: " + (fout ? "f64" : "i64") +
               "[])\n.wide\n        gid r0\n" + (fin ? "        ldf f1, x[r0]\n        ldf f2, y[r0]\n"
                                                   : "        ld r1, x[r0]\n        ld r2, y[r0]\n") +
               "        muli r4, r0, " + std::to_string(lines.size()) + "\n";
    for (const std::string& l : lines)
        k.source += "        " + l + "\n        " + (fout ? "stf z[r4], f3" : "st z[r4], r3") + "\n        addi r4, r4, 1\n";
    k.source += ".end\n";
    return k;
}

bool same_bits(bool is_float, u64 want, u64 got) {
    if (want == got) return true;
    // Any NaN matches any NaN: payloads are not promised.
    return is_float && std::isnan(std::bit_cast<double>(want)) && std::isnan(std::bit_cast<double>(got));
}

class WideAgreement : public ::testing::Test {
protected:
    void SetUp() override {
        if (!vulkan()) GTEST_SKIP() << "no Vulkan device";
        const vk::VulkanContext& ctx = vulkan()->context();
        if (!ctx.shader_int64() || !ctx.shader_float64()) GTEST_SKIP() << "the device has no int64/float64";
    }
};

TEST(WideAgreementTable, EveryWideOpHasAReference) {
    for (KOp op : kAllKOps) {
        if (!compared(op)) continue;
        EXPECT_TRUE(reference(op, 1, 2, 1.0, 2.0, 1, 0, 1).has_value()) << kop_info(op).mnemonic;
        EXPECT_FALSE(op_kernel(op).source.empty()) << kop_info(op).mnemonic;
    }
    // The ops the generated loop kernels use (docs/loop-kernels.md) are all here.
    for (const char* mn : {"gid", "li", "lif", "mov", "fmov", "add", "sub", "mul", "div", "rem", "divu", "remu", "and", "or",
                           "xor", "shl", "shr", "sar", "min", "max", "neg", "not", "addi", "muli", "andi", "ori", "xori",
                           "shli", "shri", "sari", "eq", "ne", "lt", "le", "ltu", "leu", "fadd", "fsub", "fmul", "fdiv",
                           "fmin", "fmax", "fneg", "fabs", "fsqrt", "ffloor", "feq", "flt", "fle", "itof", "ftoi"}) {
        bool found = false;
        for (KOp op : kAllKOps) found = found || (kop_info(op).mnemonic == std::string_view(mn) && compared(op));
        EXPECT_TRUE(found) << mn;
    }
    // No wide form where GLSL/Vulkan has no binary64 one.
    for (KOp op : {KOp::Ffma, KOp::Fpow, KOp::Fsin, KOp::Fcos, KOp::Fexp, KOp::Flog})
        EXPECT_FALSE(has_wide_lowering(op)) << kop_info(op).mnemonic;
}

TEST_F(WideAgreement, EachOpOnEdgePairsAndRandomBits) {
    const std::vector<i64> xi = int_operand(false), yi = int_operand(true);
    const std::vector<double> xf = float_operand(false), yf = float_operand(true);
    for (KOp op : kAllKOps) {
        if (!compared(op)) continue;
        const KOpInfo& info = kop_info(op);
        const OpKernel ok = op_kernel(op);
        std::string errors;
        auto m = test::assemble_kernels(ok.source, &errors);
        ASSERT_TRUE(m) << info.mnemonic << ": " << errors << "\n" << ok.source;
        const Kernel& k = m->kernels[0];
        ASSERT_TRUE(k.wide);
        const bool fin = float_operands(info.format), fout = float_result(info.format);
        const std::size_t results = ok.imms.size();
        std::vector<i64> x = xi, y = yi, zi(kLanes * results, -7);
        std::vector<double> xd = xf, yd = yf, zd(kLanes * results, -7.0);
        std::vector<KernelArg> args = {fin ? buffer_arg(xd, ElemType::F64) : buffer_arg(x, ElemType::I64),
                                       fin ? buffer_arg(yd, ElemType::F64) : buffer_arg(y, ElemType::I64),
                                       fout ? buffer_arg(zd, ElemType::F64) : buffer_arg(zi, ElemType::I64)};
        ASSERT_FALSE(vulkan()->wait(vulkan()->submit(whole_launch(k, args, kLanes))).fault) << info.mnemonic;
        const std::string error = vulkan()->take_error();
        ASSERT_TRUE(error.empty()) << info.mnemonic << ": " << error;
        std::size_t failures = 0;
        for (std::size_t i = 0; i < kLanes * results && failures < 5; ++i) {
            const std::size_t lane = i / results;
            const u64 want = *reference(op, xi[lane], yi[lane], xf[lane], yf[lane], ok.imms[i % results], lane, kLanes);
            const u64 got = fout ? std::bit_cast<u64>(zd[i]) : static_cast<u64>(zi[i]);
            if (same_bits(fout, want, got)) continue;
            ++failures;
            std::string operands = fin ? std::to_string(xf[lane]) + ", " + std::to_string(yf[lane])
                                       : std::to_string(xi[lane]) + ", " + std::to_string(yi[lane]);
            ADD_FAILURE() << info.mnemonic << " lane " << lane << " result " << i % results << " (" << operands
                          << ", imm " << ok.imms[i % results] << "): want " << std::hex << want << ", vulkan " << got
                          << std::dec;
        }
    }
}

// Every buffer and uniform type in one wide kernel: i32 loads sign-extend,
// u32 zero-extend, f32 widen exactly; stores keep the low 32 bits or round
// to f32 (nearest even); i64/f64 uniforms take two push-constant slots.
TEST_F(WideAgreement, LoadsStoresAndUniformsOfEveryType) {
    const char* source = R"(
.kernel mix (in a: i32[i], in b: u32[i], in c: i64[i], in d: f32[i], in e: f64[i], out oi: i64[], out of: f64[], out o32: i32[i], out ou: u32[i], out of32: f32[i], n: i64, m: i32, x: f64, y: f32)
.wide
        gid     r0
        ld      r1, a[r0]
        ld      r2, b[r0]
        ld      r3, c[r0]
        ldf     f1, d[r0]
        ldf     f2, e[r0]
        ldp     r4, n
        ldp     r5, m
        ldpf    f3, x
        ldpf    f4, y
        count   r6
        blen    r7, c
        muli    r8, r0, 7
        st      oi[r8], r1
        addi    r8, r8, 1
        st      oi[r8], r2
        addi    r8, r8, 1
        st      oi[r8], r3
        addi    r8, r8, 1
        st      oi[r8], r4
        addi    r8, r8, 1
        st      oi[r8], r5
        addi    r8, r8, 1
        st      oi[r8], r6
        addi    r8, r8, 1
        st      oi[r8], r7
        muli    r8, r0, 4
        stf     of[r8], f1
        addi    r8, r8, 1
        stf     of[r8], f2
        addi    r8, r8, 1
        stf     of[r8], f3
        addi    r8, r8, 1
        stf     of[r8], f4
        st      o32[r0], r3
        st      ou[r0], r3
        stf     of32[r0], f2
.end
)";
    std::string errors;
    auto mod = test::assemble_kernels(source, &errors);
    ASSERT_TRUE(mod) << errors;
    const Kernel& k = mod->kernels[0];
    // 10 buffers, two 32-bit uniforms, two 64-bit ones: 16 slots.
    EXPECT_EQ(push_slot_count(k), 16u);
    const std::size_t n = 4096;
    std::vector<std::int32_t> a(n), o32(n);
    std::vector<std::uint32_t> b(n), ou(n);
    std::vector<i64> c(n), oi(7 * n);
    std::vector<float> d(n), of32(n);
    std::vector<double> e(n), of(4 * n);
    test::Random r{99};
    // f64 values that round to f32 at a tie (to even), past f32's range, to
    // an f32 denormal, and below it.
    const double ties[] = {1.0 + 0x1p-24, 1.0 + 3 * 0x1p-24, -(1.0 + 0x1p-24), 0x1.fffffffp127, 1e39, -1e39,
                           0x1p-149,      0x1p-150,          0x1.8p-150,       1e-320,           NAN,  -0.0};
    for (std::size_t i = 0; i < n; ++i) {
        a[i] = static_cast<std::int32_t>(r.next());
        b[i] = static_cast<std::uint32_t>(r.next()) | (i % 2 ? 0x80000000u : 0u);
        c[i] = static_cast<i64>(r.next());
        d[i] = i % 3 == 0 ? std::bit_cast<float>(static_cast<std::uint32_t>(r.next())) : static_cast<float>(i) * 0.37f;
        e[i] = i < std::size(ties) ? ties[i] : std::bit_cast<double>(r.next());
    }
    a[0] = INT32_MIN;
    b[0] = UINT32_MAX;
    c[0] = INT64_MIN;
    d[0] = 0x1p-149f;  // an f32 denormal
    const i64 un = INT64_MIN + 12345;
    const std::int32_t um = -77;
    const double ux = 0x1.23456789abcdefp-1000;
    const float uy = 0.1f;
    auto uniform = [](u64 bits, ElemType t) { return KernelArg{nullptr, 0, t, bits}; };
    std::vector<KernelArg> args = {buffer_arg(a, ElemType::I32),  buffer_arg(b, ElemType::U32),
                                   buffer_arg(c, ElemType::I64),  buffer_arg(d, ElemType::F32),
                                   buffer_arg(e, ElemType::F64),  buffer_arg(oi, ElemType::I64),
                                   buffer_arg(of, ElemType::F64), buffer_arg(o32, ElemType::I32),
                                   buffer_arg(ou, ElemType::U32), buffer_arg(of32, ElemType::F32),
                                   uniform(static_cast<u64>(un), ElemType::I64),
                                   uniform(static_cast<std::uint32_t>(um), ElemType::I32),
                                   uniform(std::bit_cast<u64>(ux), ElemType::F64),
                                   uniform(std::bit_cast<std::uint32_t>(uy), ElemType::F32)};
    ASSERT_FALSE(vulkan()->wait(vulkan()->submit(whole_launch(k, args, n))).fault);
    ASSERT_EQ(vulkan()->take_error(), "");
    const bool denormals = vulkan()->context().float_controls().denorm_preserve;
    std::size_t failures = 0;
    auto check = [&](bool ok, std::size_t i, const std::string& what) {
        if (ok || ++failures > 8) return;
        ADD_FAILURE() << "lane " << i << ": " << what;
    };
    auto same_double = [](double want, double got) {
        return std::bit_cast<u64>(want) == std::bit_cast<u64>(got) || (std::isnan(want) && std::isnan(got));
    };
    for (std::size_t i = 0; i < n; ++i) {
        check(oi[7 * i] == a[i], i, "i32 sign-extended");
        check(oi[7 * i + 1] == static_cast<i64>(b[i]), i, "u32 zero-extended");
        check(oi[7 * i + 2] == c[i], i, "i64 as is");
        check(oi[7 * i + 3] == un, i, "i64 uniform");
        check(oi[7 * i + 4] == um, i, "i32 uniform sign-extended");
        check(oi[7 * i + 5] == static_cast<i64>(n), i, "count");
        check(oi[7 * i + 6] == static_cast<i64>(n), i, "blen");
        // An f32 denormal widens to a normal double, unless the device flushes f32 denormals.
        const bool flushable = !denormals && std::fpclassify(d[i]) == FP_SUBNORMAL;
        check(same_double(static_cast<double>(d[i]), of[4 * i]) || (flushable && of[4 * i] == 0.0), i,
              "f32 widened exactly");
        check(same_double(e[i], of[4 * i + 1]), i, "f64 as is");
        check(same_double(ux, of[4 * i + 2]), i, "f64 uniform");
        check(same_double(static_cast<double>(uy), of[4 * i + 3]), i, "f32 uniform widened");
        check(o32[i] == static_cast<std::int32_t>(static_cast<std::uint32_t>(c[i])), i, "i32 store: the low 32 bits");
        check(ou[i] == static_cast<std::uint32_t>(c[i]), i, "u32 store: the low 32 bits");
        const float rounded = static_cast<float>(e[i]);
        const bool flushed_ok = !denormals && std::fpclassify(rounded) == FP_SUBNORMAL && of32[i] == 0.0f;
        check(std::bit_cast<std::uint32_t>(rounded) == std::bit_cast<std::uint32_t>(of32[i]) ||
                  (std::isnan(rounded) && std::isnan(of32[i])) || flushed_ok,
              i, "f64 stored to f32 rounds to nearest even: want " + std::to_string(rounded) + " got " + std::to_string(of32[i]));
    }
}

// A 64-bit index is compared whole: 2^32 + 1 is outside a buffer of 8, not
// element 1.
TEST_F(WideAgreement, AnIndexPastTwoToThe32FaultsRatherThanWraps) {
    const char* source = R"(
.kernel far (in x: i64[], out z: i64[i])
.wide
        gid     r0
        li      r1, 1
        shli    r1, r1, 32
        addi    r1, r1, 1
        ld      r2, x[r1]
        st      z[r0], r2
.end
)";
    std::string errors;
    auto mod = test::assemble_kernels(source, &errors);
    ASSERT_TRUE(mod) << errors;
    std::vector<i64> x(8, 5), z(4, 0);
    const VectorOpResult r = vulkan()->wait(vulkan()->submit(
        whole_launch(mod->kernels[0], {buffer_arg(x, ElemType::I64), buffer_arg(z, ElemType::I64)}, 4)));
    ASSERT_EQ(vulkan()->take_error(), "");
    EXPECT_EQ(r.fault.kind, KernelFault::Kind::BadIndex);
    EXPECT_EQ(r.fault.lane, 0u);
    EXPECT_EQ(r.fault.length, 8u);
    EXPECT_EQ(z, std::vector<i64>(4, 0));
}

// fdiv and fsqrt are correct from any first guess within Vulkan's binary32
// promise: here the device's division and sqrt are replaced by binary32 ones
// (2^-24 relative, what a device need not beat) and the results must still
// be the correctly rounded binary64 ones.
TEST_F(WideAgreement, DivisionAndSqrtAreCorrectFromABinary32Guess) {
    const char* source = R"(
.kernel ds (in x: f64[i], in y: f64[i], out q: f64[i], out s: f64[i])
.wide
        gid     r0
        ldf     f1, x[r0]
        ldf     f2, y[r0]
        fdiv    f3, f1, f2
        stf     q[r0], f3
        fsqrt   f4, f1
        stf     s[r0], f4
.end
)";
    std::string errors;
    auto mod = test::assemble_kernels(source, &errors);
    ASSERT_TRUE(mod) << errors;
    // The helpers' first guesses, made binary32-poor.
    auto sloppy = [](const Kernel& k) -> Result<SharedSpirv> {
        std::string glsl = kernel_to_glsl(k);
        // Every occurrence; how many there must be.
        auto replace = [&](const std::string& from, const std::string& to, int expected) {
            int found = 0;
            for (std::size_t at = glsl.find(from); at != std::string::npos; at = glsl.find(from, at + to.size())) {
                glsl.replace(at, from.size(), to);
                ++found;
            }
            return found == expected;
        };
        const bool all =
            replace("precise double q = ma / mb;", "precise double q = double(float(ma) / float(mb));", 1) &&
            replace("residual(ma, q, mb) / mb", "double(float(residual(ma, q, mb)) / float(mb))", 2) &&
            replace("precise double y = sqrt(m);", "precise double y = double(sqrt(float(m)));", 1) &&
            replace("residual(m, y, y) / (2.0lf * y)", "double(float(residual(m, y, y)) / float(2.0lf * y))", 2);
        if (!all) return Error{"the helpers' first guesses were not found in the GLSL"};
        auto words = compile_glsl_to_spirv(glsl);
        if (!words) return Error{words.error()};
        return SharedSpirv(std::make_shared<const SpirvWords>(std::move(words).value()));
    };
    VulkanBackendOptions o;
    o.pipeline_cache_enabled = false;
    o.kernel_spirv = sloppy;
    auto poor = VulkanBackend::create(o);
    ASSERT_TRUE(poor) << poor.error();
    const std::size_t n = 1 << 16;
    std::vector<double> x(n), y(n), q(n), s(n);
    test::Random r{5};
    for (std::size_t i = 0; i < n; ++i) {
        // Ordinary magnitudes, huge and tiny ones (scaled apart by frexp),
        // and quotients near 1 (where the neighbours' ulps differ).
        const double scale = std::ldexp(1.0, static_cast<int>(r.next() % 1600) - 800);
        x[i] = (static_cast<double>(r.next() >> 11) * 0x1p-53 + 0.5) * (i % 4 == 0 ? scale : 1.0);
        y[i] = i % 8 == 1 ? x[i] * (1 + static_cast<double>(static_cast<std::int64_t>(r.next() % 9) - 4) * 0x1p-52)
                          : static_cast<double>(r.next() >> 11) * 0x1p-53 + 0.25;
    }
    for (double* v : {&x[0], &x[1], &x[2], &x[3]}) *v = 2.0;  // sqrt(2), 2 / y
    const KernelLaunch l = whole_launch(mod->kernels[0],
                                        {buffer_arg(x, ElemType::F64), buffer_arg(y, ElemType::F64),
                                         buffer_arg(q, ElemType::F64), buffer_arg(s, ElemType::F64)},
                                        n);
    ASSERT_FALSE(poor.value()->wait(poor.value()->submit(l)).fault);
    ASSERT_EQ(poor.value()->take_error(), "");
    std::size_t failures = 0;
    for (std::size_t i = 0; i < n && failures < 5; ++i) {
        if (q[i] == x[i] / y[i] && s[i] == std::sqrt(x[i])) continue;
        ++failures;
        ADD_FAILURE() << std::hexfloat << "x " << x[i] << " y " << y[i] << ": q " << q[i] << " want " << x[i] / y[i]
                      << ", sqrt " << s[i] << " want " << std::sqrt(x[i]);
    }
    // Without the correction the guesses would be wrong almost everywhere:
    // the test can tell.
    std::size_t poor_guesses = 0;
    for (std::size_t i = 0; i < n; ++i)
        poor_guesses += static_cast<double>(static_cast<float>(x[i]) / static_cast<float>(y[i])) != x[i] / y[i];
    EXPECT_GT(poor_guesses, n / 2);
}

}  // namespace
}  // namespace polymer
