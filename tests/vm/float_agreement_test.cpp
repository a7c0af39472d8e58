// Every float op of the kernel table (isa/kernel_ops.def) on the CPU backend
// and on Vulkan (lavapipe here), over random bit patterns and the edge values
// (zeros of both signs, denormals, infinities, NaNs, the ends of int32):
//
// - ops IEEE-754 rounds exactly (add, sub, mul, ffma, min, max, neg, abs,
//   floor, compares, conversions) agree bit for bit. Any NaN matches any NaN
//   (payloads are not promised). On a device that cannot keep denormals
//   (float controls, vm/vulkan/float_controls.h) a result may instead be the
//   one with denormal inputs and outputs flushed to zero of the same sign.
// - ops Vulkan lets a device approximate stay within the bounds of
//   docs/kernels.md ("How close the backends agree"), which are Vulkan's own
//   (spec, "Precision and Operation of SPIR-V Instructions") plus 1 ulp for
//   the CPU's libm.
//
// And two long recurrences over 131,072 lanes, whose rounding errors would
// grow if any step differed: a Mandelbrot escape loop (counts and the final
// z, bit for bit) and the logistic map x := r*x*(1-x), chaotic for r near 4,
// written with fmul/fsub and with ffma.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "isa/opcodes.h"
#include "kernel_test_util.h"
#include "shared_vulkan.h"
#include "splitmix.h"
#include "vm/backend.h"
#include "vm/vulkan/vulkan_backend.h"

namespace polymer {
namespace {

using test::buffer_arg;
using test::uniform_f32;
using test::uniform_i32;
using test::whole_launch;

std::unique_ptr<VulkanBackend>& vulkan() { return test::shared_vulkan(); }

// --- values ------------------------------------------------------------------

using test::Random;

const float kEdges[] = {0.0f, -0.0f, 1.0f, -1.0f, 0.5f, 1.5f, -2.5f, 3.0f,
                        1e-45f, -1e-45f, 1.1754942e-38f, 1.1754944e-38f, -1.1754944e-38f,
                        3.4028235e38f, -3.4028235e38f, INFINITY, -INFINITY, NAN, -NAN,
                        2147483520.0f, 2147483648.0f, -2147483648.0f, -2147483904.0f, 0.49999997f, -0.5f};

// n values: the edges first, then random bit patterns (every exponent,
// denormals and NaNs included) mixed with values of ordinary size.
std::vector<float> floats(std::size_t n, std::uint64_t seed) {
    std::vector<float> v;
    Random r{seed};
    for (std::size_t i = 0; i < n; ++i) {
        if (i < std::size(kEdges) * std::size(kEdges)) {
            // Every pair of edges meets in two-operand ops: a gets i / E, b gets i % E.
            const std::size_t e = std::size(kEdges);
            v.push_back(kEdges[(seed & 1) ? i % e : i / e]);
            continue;
        }
        const std::uint64_t bits = r.next();
        if (bits & 1)
            v.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(bits >> 32)));
        else
            v.push_back(static_cast<float>(static_cast<double>(bits >> 11) / 9007199254740992.0 * 64 - 32));
    }
    return v;
}

std::vector<std::int32_t> ints(std::size_t n, std::uint64_t seed) {
    std::vector<std::int32_t> v;
    Random r{seed};
    const std::int32_t edges[] = {0, 1, -1, INT32_MIN, INT32_MAX, 16777217, -16777217, 33554435};
    for (std::size_t i = 0; i < n; ++i)
        v.push_back(i < std::size(edges) ? edges[i] : static_cast<std::int32_t>(r.next()));
    return v;
}

bool is_denormal(float x) { return std::fpclassify(x) == FP_SUBNORMAL; }
float flush(float x) { return is_denormal(x) ? std::copysign(0.0f, x) : x; }

// Distance in units in the last place, counting across zero.
std::int64_t ulp_distance(float a, float b) {
    auto ordered = [](float x) {
        const auto i = std::bit_cast<std::int32_t>(x);
        return i < 0 ? std::int64_t{INT32_MIN} - i : std::int64_t{i};
    };
    return std::llabs(ordered(a) - ordered(b));
}

// --- kernels -------------------------------------------------------------------

// The kernel applying `op` to lanes of x, y, w, writing z (f32 or i32 by the
// op's result register).
std::string op_kernel(const KOpInfo& info) {
    const Format f = info.format;
    const bool int_in = f == Format::FR;
    const bool int_out = f == Format::RFF || f == Format::RF;
    std::string k = ".kernel t (in x: " + std::string(int_in ? "i32" : "f32") + "[i], in y: f32[i], in w: f32[i], out z: " +
                    (int_out ? "i32" : "f32") + "[i])\n        gid r0\n";
    k += int_in ? "        ld r1, x[r0]\n" : "        ldf f0, x[r0]\n";
    k += "        ldf f1, y[r0]\n        ldf f2, w[r0]\n        " + std::string(info.mnemonic) + " ";
    switch (f) {
    case Format::FFF: k += "f3, f0, f1\n"; break;
    case Format::FFFF: k += "f3, f0, f1, f2\n"; break;
    case Format::FF: k += "f3, f0\n"; break;
    case Format::RFF: k += "r3, f0, f1\n"; break;
    case Format::FR: k += "f3, r1\n"; break;
    case Format::RF: k += "r3, f0\n"; break;
    default: return {};
    }
    k += int_out ? "        st z[r0], r3\n.end\n" : "        stf z[r0], f3\n.end\n";
    return k;
}

// How closely Vulkan must follow the CPU for one op, given its inputs and
// the CPU's result.
enum class Agreement { Exact, Bounded };
struct FloatOp {
    Agreement agreement;
    // Exact: the result with denormals flushed (what a device without
    // DenormPreserve may give). Bounded: whether vk is close enough to cpu.
    std::function<float(float, float, float)> flushed;
    std::function<bool(float x, float y, float cpu, float vk)> close;
};

float cpu_eval(KOp op, float a, float b, float c) {
    switch (op) {
    case KOp::Fadd: return a + b;
    case KOp::Fsub: return a - b;
    case KOp::Fmul: return a * b;
    case KOp::Ffma: return std::fma(a, b, c);
    case KOp::Fmin: return b < a ? b : a;
    case KOp::Fmax: return a < b ? b : a;
    case KOp::Fneg: return -a;
    case KOp::Fabs: return std::fabs(a);
    case KOp::Ffloor: return std::floor(a);
    default: return NAN;
    }
}

// Vulkan's bounds for the ops it lets a device approximate, plus 1 ulp for
// the CPU's own libm; NaN where either side gives NaN must be NaN on both.
bool within(std::int64_t ulps, float cpu, float vk) { return ulp_distance(cpu, vk) <= ulps + 1; }
bool absolute(double bound, float cpu, float vk) { return std::fabs(double(cpu) - double(vk)) <= bound; }

const std::map<KOp, FloatOp>& float_ops() {
    static const std::map<KOp, FloatOp> ops = [] {
        std::map<KOp, FloatOp> m;
        for (KOp op : {KOp::Fadd, KOp::Fsub, KOp::Fmul, KOp::Ffma, KOp::Fmin, KOp::Fmax, KOp::Fneg, KOp::Fabs, KOp::Ffloor})
            m[op] = {Agreement::Exact, [op](float a, float b, float c) { return flush(cpu_eval(op, flush(a), flush(b), flush(c))); }, {}};
        // Compares and conversions: exact, their flushed form computed below.
        for (KOp op : {KOp::Feq, KOp::Flt, KOp::Fle, KOp::Itof, KOp::Ftoi, KOp::Fmov}) m[op] = {Agreement::Exact, {}, {}};
        // 2.5 ulp for y in [2^-126, 2^126] (elsewhere Vulkan promises nothing).
        m[KOp::Fdiv] = {Agreement::Bounded, {}, [](float x, float y, float cpu, float vk) {
                            const float ay = std::fabs(y);
                            if (!(ay >= 0x1p-126f && ay <= 0x1p126f) || !std::isfinite(x) || is_denormal(x) || is_denormal(cpu)) return true;
                            return within(3, cpu, vk);
                        }};
        // Inherited from 1 / inversesqrt(x): 2.5 ulp of a 2-ulp value, 5 in all.
        m[KOp::Fsqrt] = {Agreement::Bounded, {}, [](float x, float, float cpu, float vk) {
                             if (!(x > 0x1p-126f) || !std::isfinite(x)) return std::isnan(cpu) == std::isnan(vk) || x == 0 || is_denormal(x);
                             return within(5, cpu, vk);
                         }};
        // 3 + 2|x| ulp; results past binary32's range are not compared.
        m[KOp::Fexp] = {Agreement::Bounded, {}, [](float x, float, float cpu, float vk) {
                            if (!std::isfinite(x) || std::fabs(x) > 80 || is_denormal(cpu) || cpu == 0 || std::isinf(cpu)) return true;
                            return within(3 + 2 * static_cast<std::int64_t>(std::ceil(std::fabs(x))), cpu, vk);
                        }};
        // 3 ulp outside [0.5, 2], an absolute 2^-21 inside.
        m[KOp::Flog] = {Agreement::Bounded, {}, [](float x, float, float cpu, float vk) {
                            if (!(x > 0x1p-126f) || !std::isfinite(x)) return true;
                            if (x >= 0.5f && x <= 2.0f) return absolute(0x1p-21, cpu, vk);
                            return within(3, cpu, vk);
                        }};
        // An absolute 2^-11 in [-pi, pi]; nothing promised outside.
        for (KOp op : {KOp::Fsin, KOp::Fcos})
            m[op] = {Agreement::Bounded, {}, [](float x, float, float cpu, float vk) {
                         if (!(std::fabs(x) <= 3.14159265f)) return true;
                         return absolute(0x1p-11, cpu, vk);
                     }};
        // Inherited from exp2(y * log2(x)), for x in [2^-8, 2^8] and |y * log2 x| < 64:
        // exp2's 3 + 2|t| ulp, plus the error of t (log2's 2^-21 or 3 ulp,
        // times |y|) carried through exp2 as a relative ln(2) * dt.
        m[KOp::Fpow] = {Agreement::Bounded, {}, [](float x, float y, float cpu, float vk) {
                            if (!(x >= 0x1p-8f && x <= 0x1p8f) || !std::isfinite(y)) return true;
                            const double t = double(y) * std::log2(double(x));
                            if (std::fabs(t) > 64 || is_denormal(cpu) || cpu == 0) return true;
                            const double log_error = std::max(0x1p-21, 3 * 0x1p-23 * std::fabs(std::log2(double(x))));
                            const double dt = std::fabs(double(y)) * log_error + std::fabs(t) * 0x1p-24;
                            const double relative = (3 + 2 * std::fabs(t)) * 0x1p-23 + std::log(2.0) * dt + 0x1p-23;
                            return std::fabs(double(cpu) - double(vk)) <= relative * std::fabs(double(cpu));
                        }};
        return m;
    }();
    return ops;
}

bool uses_floats(Format f) {
    return f == Format::FFF || f == Format::FFFF || f == Format::FF || f == Format::RFF || f == Format::FR ||
           f == Format::RF;
}

class FloatAgreement : public ::testing::Test {
protected:
    void SetUp() override {
        if (!vulkan()) GTEST_SKIP() << "no Vulkan device";
    }
};

TEST_F(FloatAgreement, EveryFloatOpOfTheKernelTableHasARule) {
    for (KOp op : kAllKOps) {
        const KOpInfo& info = kop_info(op);
        if (kop_effect(op) != KEffect::Pure || !uses_floats(info.format)) continue;
        EXPECT_TRUE(float_ops().count(op)) << info.mnemonic << " has no agreement rule here (and in docs/kernels.md)";
    }
}

TEST_F(FloatAgreement, EachOpOnEdgesAndRandomBits) {
    const vk::FloatControls controls = vulkan()->context().float_controls();
    constexpr std::size_t kLanes = 1 << 16;
    const std::vector<float> x = floats(kLanes, 2), y = floats(kLanes, 3), w = floats(kLanes, 5);
    const std::vector<std::int32_t> xi = ints(kLanes, 7);
    for (const auto& [op, rule] : float_ops()) {
        const KOpInfo& info = kop_info(op);
        std::string errors;
        auto m = test::assemble_kernels(op_kernel(info), &errors);
        ASSERT_TRUE(m) << info.mnemonic << ": " << errors;
        const Kernel& k = m->kernels[0];
        const bool int_in = info.format == Format::FR, int_out = info.format == Format::RFF || info.format == Format::RF;
        std::vector<float> xf = x, yf = y, wf = w, z_cpu(kLanes), z_vk(kLanes);
        std::vector<std::int32_t> xin = xi, zi_cpu(kLanes), zi_vk(kLanes);
        auto args = [&](std::vector<float>& zf, std::vector<std::int32_t>& zi) {
            return std::vector<KernelArg>{int_in ? buffer_arg(xin, ElemType::I32) : buffer_arg(xf, ElemType::F32),
                                          buffer_arg(yf, ElemType::F32), buffer_arg(wf, ElemType::F32),
                                          int_out ? buffer_arg(zi, ElemType::I32) : buffer_arg(zf, ElemType::F32)};
        };
        CpuBackend cpu;
        cpu.wait(cpu.submit(whole_launch(k, args(z_cpu, zi_cpu), kLanes)));
        vulkan()->wait(vulkan()->submit(whole_launch(k, args(z_vk, zi_vk), kLanes)));
        {
        const std::string error = vulkan()->take_error();
        ASSERT_TRUE(error.empty()) << error;
    }

        std::size_t failures = 0;
        for (std::size_t i = 0; i < kLanes && failures < 5; ++i) {
            bool same;
            if (int_out) {
                same = zi_cpu[i] == zi_vk[i];
                if (!same && !controls.denorm_preserve && !int_in && (is_denormal(x[i]) || is_denormal(y[i]))) {
                    const float a = flush(x[i]), b = flush(y[i]);  // the compare of the flushed operands
                    same = zi_vk[i] == (op == KOp::Feq ? a == b : op == KOp::Flt ? a < b : op == KOp::Fle ? a <= b : zi_cpu[i]);
                }
            } else if (rule.agreement == Agreement::Exact) {
                const float c = z_cpu[i], v = z_vk[i];
                same = std::bit_cast<std::uint32_t>(c) == std::bit_cast<std::uint32_t>(v) || (std::isnan(c) && std::isnan(v));
                if (!same && !controls.denorm_preserve && rule.flushed) {
                    const float f = rule.flushed(x[i], y[i], w[i]);
                    same = std::bit_cast<std::uint32_t>(f) == std::bit_cast<std::uint32_t>(v) || (std::isnan(f) && std::isnan(v));
                }
                if (!same && !controls.denorm_preserve && !rule.flushed) same = flush(c) == flush(v);
            } else {
                same = (std::isnan(z_cpu[i]) && std::isnan(z_vk[i])) || rule.close(x[i], y[i], z_cpu[i], z_vk[i]);
            }
            if (!same) {
                ++failures;
                ADD_FAILURE() << info.mnemonic << " lane " << i << ": x=" << (int_in ? double(xin[i]) : double(x[i]))
                              << " (0x" << std::hex << std::bit_cast<std::uint32_t>(x[i]) << ") y=" << std::dec << y[i]
                              << " w=" << w[i] << ": cpu "
                              << (int_out ? double(zi_cpu[i]) : double(z_cpu[i])) << " (0x" << std::hex
                              << std::bit_cast<std::uint32_t>(z_cpu[i]) << "), vulkan " << std::dec
                              << (int_out ? double(zi_vk[i]) : double(z_vk[i])) << " (0x" << std::hex
                              << std::bit_cast<std::uint32_t>(z_vk[i]) << ")";
            }
        }
    }
}

// --- long recurrences ------------------------------------------------------------

constexpr std::uint64_t kGridWidth = 512, kGridHeight = 256;  // 131,072 lanes

// z := z*z + c until |z|^2 > 4 or `maxit` steps, c on a 512 x 256 grid over
// [-2.25, 0.75] x [-1.25, 1.25] (steps that are not powers of two, so the
// points are not exact binary fractions); writes the count and the final z.
constexpr const char* kMandelbrot = R"(
.kernel mandel (out it: i32[i], out zx: f32[i], out zy: f32[i], w: i32, maxit: i32)
        gid     r0
        ldp     r1, w
        ldp     r2, maxit
        rem     r3, r0, r1
        div     r4, r0, r1
        itof    f0, r3
        lif     f9, 0.005859375
        fmul    f0, f0, f9
        lif     f9, -2.25
        fadd    f0, f0, f9
        itof    f1, r4
        lif     f9, 0.009765625
        fmul    f1, f1, f9
        lif     f9, -1.2497
        fadd    f1, f1, f9
        lif     f9, 1.0000001
        fmul    f0, f0, f9
        fmul    f1, f1, f9
        lif     f2, 0.0
        lif     f3, 0.0
        lif     f8, 4.0
        lif     f7, 2.0
        li      r5, 0
        loop
            lt      r6, r5, r2
            if      r6
            else
                break
            end
            fmul    f4, f2, f2
            fmul    f5, f3, f3
            fadd    f6, f4, f5
            flt     r6, f8, f6
            if      r6
                break
            end
            fmul    f6, f2, f3
            fmul    f6, f6, f7
            fadd    f3, f6, f1
            fsub    f6, f4, f5
            fadd    f2, f6, f0
            addi    r5, r5, 1
        end
        st      it[r0], r5
        stf     zx[r0], f2
        stf     zy[r0], f3
.end
)";

// x := r*x*(1 - x) for `steps` steps, r in [3.6, 4) by lane, x0 = 0.3; the
// fused form computes r*x - (r*x)*x with one ffma.
constexpr const char* kLogistic = R"(
.kernel logistic (out a: f32[i], out b: f32[i], n: i32, steps: i32)
        gid     r0
        ldp     r1, n
        ldp     r2, steps
        itof    f0, r0
        itof    f1, r1
        fdiv    f0, f0, f1
        lif     f9, 0.39999998
        fmul    f0, f0, f9
        lif     f9, 3.6
        fadd    f0, f0, f9          ; r
        lif     f1, 0.3             ; x, plain
        lif     f2, 0.3             ; x, fused
        lif     f8, 1.0
        li      r5, 0
        loop
            lt      r6, r5, r2
            if      r6
            else
                break
            end
            fsub    f3, f8, f1
            fmul    f3, f3, f1
            fmul    f1, f3, f0      ; r * x * (1 - x)
            fmul    f4, f0, f2      ; r * x
            fneg    f5, f2
            ffma    f2, f4, f5, f4  ; (r*x) * -x + r*x
            addi    r5, r5, 1
        end
        stf     a[r0], f1
        stf     b[r0], f2
.end
)";

template <class T>
void expect_same_bits(const std::vector<T>& cpu, const std::vector<T>& vk, const char* what) {
    std::size_t differ = 0, first = cpu.size();
    for (std::size_t i = 0; i < cpu.size(); ++i)
        if (std::memcmp(&cpu[i], &vk[i], sizeof(T)) != 0 && ++differ == 1) first = i;
    EXPECT_EQ(differ, 0u) << what << ": " << differ << " of " << cpu.size() << " lanes differ, the first at lane " << first
                          << " (cpu " << cpu[first] << ", vulkan " << vk[first] << ")";
}

TEST_F(FloatAgreement, MandelbrotOver131072LanesIsBitIdentical) {
    std::string errors;
    auto m = test::assemble_kernels(kMandelbrot, &errors);
    ASSERT_TRUE(m) << errors;
    const std::uint64_t n = kGridWidth * kGridHeight;
    std::vector<std::int32_t> it_cpu(n), it_vk(n);
    std::vector<float> zx_cpu(n), zy_cpu(n), zx_vk(n), zy_vk(n);
    auto args = [&](std::vector<std::int32_t>& it, std::vector<float>& zx, std::vector<float>& zy) {
        return std::vector<KernelArg>{buffer_arg(it, ElemType::I32), buffer_arg(zx, ElemType::F32), buffer_arg(zy, ElemType::F32),
                                      uniform_i32(static_cast<std::int32_t>(kGridWidth)), uniform_i32(400)};
    };
    CpuBackend cpu;
    cpu.wait(cpu.submit(whole_launch(m->kernels[0], args(it_cpu, zx_cpu, zy_cpu), n)));
    vulkan()->wait(vulkan()->submit(whole_launch(m->kernels[0], args(it_vk, zx_vk, zy_vk), n)));
    {
        const std::string error = vulkan()->take_error();
        ASSERT_TRUE(error.empty()) << error;
    }
    std::uint64_t steps = 0;
    for (std::int32_t c : it_cpu) steps += static_cast<std::uint64_t>(c);
    EXPECT_GT(steps, n * 20) << "the grid should hold long orbits";
    expect_same_bits(it_cpu, it_vk, "iteration counts");
    expect_same_bits(zx_cpu, zx_vk, "final x");
    expect_same_bits(zy_cpu, zy_vk, "final y");
}

TEST_F(FloatAgreement, ChaoticLogisticMapOver131072LanesIsBitIdentical) {
    std::string errors;
    auto m = test::assemble_kernels(kLogistic, &errors);
    ASSERT_TRUE(m) << errors;
    const std::uint64_t n = kGridWidth * kGridHeight;
    std::vector<float> a_cpu(n), b_cpu(n), a_vk(n), b_vk(n);
    auto args = [&](std::vector<float>& a, std::vector<float>& b) {
        return std::vector<KernelArg>{buffer_arg(a, ElemType::F32), buffer_arg(b, ElemType::F32),
                                      uniform_i32(static_cast<std::int32_t>(n)), uniform_i32(1000)};
    };
    CpuBackend cpu;
    cpu.wait(cpu.submit(whole_launch(m->kernels[0], args(a_cpu, b_cpu), n)));
    vulkan()->wait(vulkan()->submit(whole_launch(m->kernels[0], args(a_vk, b_vk), n)));
    {
        const std::string error = vulkan()->take_error();
        ASSERT_TRUE(error.empty()) << error;
    }
    // Chaos: the plain and fused forms part ways within a few dozen steps,
    // so equal results on both backends mean every step rounded the same.
    std::size_t parted = 0;
    for (std::size_t i = 0; i < n; ++i) parted += a_cpu[i] != b_cpu[i];
    EXPECT_GT(parted, n / 2) << "the map should be chaotic for most r";
    expect_same_bits(a_cpu, a_vk, "logistic map, fmul/fsub");
    expect_same_bits(b_cpu, b_vk, "logistic map, ffma");
}

}  // namespace
}  // namespace polymer
