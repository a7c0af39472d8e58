// Every built-in vector op on lavapipe against a plain scalar loop written
// here, on f32/i32/u32 over sizes 0, 1, 255, 256, 257, 100003 and random data.
// Integers must match bit for bit. Floats: element-wise results exactly
// (division within 2 ulp, the Vulkan precision rule allows 2.5; vfma either
// fused or as a rounded multiply then add, Vulkan allows both); sums, dots,
// scans and matmul within 1e-5 of the sum of the magnitudes involved, since
// the GPU adds binary32 values in a tree order (the reference uses binary64).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "isa/vector_rules.h"
#include "vm/vulkan/vulkan_context.h"
#include "vm/vulkan/vulkan_vector_ops.h"

namespace polymer::vk {
namespace {

constexpr std::uint64_t kSizes[] = {0, 1, 255, 256, 257, 100003};
constexpr double kSumTolerance = 1e-5;

// One context per test process (gtest_discover_tests runs each test alone).
class VulkanOps : public testing::Test {
protected:
    static void SetUpTestSuite() {
        auto ctx = VulkanContext::create({.validation = false});
        ASSERT_TRUE(ctx.ok()) << ctx.error();
        ctx_ = std::move(ctx.value());
        auto ops = VulkanVectorOps::create(*ctx_);
        ASSERT_TRUE(ops.ok()) << ops.error();
        ops_ = std::move(ops.value());
    }
    static void TearDownTestSuite() {
        ops_.reset();
        ctx_.reset();
    }
    static std::unique_ptr<VulkanContext> ctx_;
    static std::unique_ptr<VulkanVectorOps> ops_;
};
std::unique_ptr<VulkanContext> VulkanOps::ctx_;
std::unique_ptr<VulkanVectorOps> VulkanOps::ops_;

template <class T> constexpr ElemType type_of();
template <> constexpr ElemType type_of<float>() { return ElemType::F32; }
template <> constexpr ElemType type_of<std::int32_t>() { return ElemType::I32; }
template <> constexpr ElemType type_of<std::uint32_t>() { return ElemType::U32; }

template <class T>
RegionView view(std::vector<T>& v) {
    return {type_of<T>(), v.data(), v.size()};
}

// Random data with the interesting values mixed in: zeros, -1, extremes, and
// b equal to a at some positions so compares see equality.
template <class T>
std::vector<T> random_values(std::uint64_t n, std::mt19937& rng) {
    std::vector<T> v(n);
    for (auto& x : v) {
        if constexpr (std::is_floating_point_v<T>) {
            x = std::uniform_real_distribution<float>(-100.0f, 100.0f)(rng);
        } else {
            std::uint32_t bits = rng();
            switch (bits % 16) {
            case 0: x = 0; break;
            case 1: x = static_cast<T>(-1); break;
            case 2: x = std::numeric_limits<T>::min(); break;
            case 3: x = std::numeric_limits<T>::max(); break;
            case 4: x = static_cast<T>(bits % 7); break;
            default: x = static_cast<T>(bits);
            }
        }
    }
    return v;
}

template <class T> T wrap(std::uint32_t v) { return static_cast<T>(v); }

// The vector ops have their own enum (isa/vector_rules.h) so that these
// switches name every one: a new vector op must say whether it is binary.
template <class T>
T ref_binary(Op op, T x, T y) {
    if constexpr (std::is_floating_point_v<T>) {
        switch (as_vector_op(op).value()) {
        case VectorOp::Vadd: return x + y;
        case VectorOp::Vsub: return x - y;
        case VectorOp::Vmul: return x * y;
        case VectorOp::Vdiv: return x / y;
        case VectorOp::Vmin: return std::fmin(x, y);
        case VectorOp::Vmax: return std::fmax(x, y);
        case VectorOp::Vcmplt: return x < y ? 1.0f : 0.0f;
        case VectorOp::Vcmpeq: return x == y ? 1.0f : 0.0f;
        case VectorOp::Vfma: case VectorOp::Vscale: case VectorOp::Vfill: case VectorOp::Vfillf:
        case VectorOp::Viota: case VectorOp::Vcopy: case VectorOp::Vselect: case VectorOp::Vsum:
        case VectorOp::Vsumi: case VectorOp::Vredmin: case VectorOp::Vredmax: case VectorOp::Vredmini:
        case VectorOp::Vredmaxi: case VectorOp::Vdot: case VectorOp::Vdoti: case VectorOp::Vscan:
        case VectorOp::Vmatmul:
            break;
        }
    } else {
        auto ux = static_cast<std::uint32_t>(x), uy = static_cast<std::uint32_t>(y);
        switch (as_vector_op(op).value()) {
        case VectorOp::Vadd: return wrap<T>(ux + uy);
        case VectorOp::Vsub: return wrap<T>(ux - uy);
        case VectorOp::Vmul: return wrap<T>(ux * uy);
        case VectorOp::Vdiv:
            if (y == 0) return 0;
            if (std::is_signed_v<T> && y == static_cast<T>(-1)) return wrap<T>(0u - ux);
            return x / y;
        case VectorOp::Vmin: return std::min(x, y);
        case VectorOp::Vmax: return std::max(x, y);
        case VectorOp::Vcmplt: return x < y ? 1 : 0;
        case VectorOp::Vcmpeq: return x == y ? 1 : 0;
        case VectorOp::Vfma: case VectorOp::Vscale: case VectorOp::Vfill: case VectorOp::Vfillf:
        case VectorOp::Viota: case VectorOp::Vcopy: case VectorOp::Vselect: case VectorOp::Vsum:
        case VectorOp::Vsumi: case VectorOp::Vredmin: case VectorOp::Vredmax: case VectorOp::Vredmini:
        case VectorOp::Vredmaxi: case VectorOp::Vdot: case VectorOp::Vdoti: case VectorOp::Vscan:
        case VectorOp::Vmatmul:
            break;
        }
    }
    ADD_FAILURE() << "not a binary op";
    return T{};
}

template <class T>
int ulp_distance(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) {
        if (std::isnan(a) && std::isnan(b)) return 0;
        if (std::isinf(a) || std::isinf(b)) return a == b ? 0 : 1 << 30;
        std::int64_t ia = std::bit_cast<std::int32_t>(a), ib = std::bit_cast<std::int32_t>(b);
        if (ia < 0) ia = std::int64_t{INT32_MIN} - ia;
        if (ib < 0) ib = std::int64_t{INT32_MIN} - ib;
        return static_cast<int>(std::min<std::int64_t>(std::llabs(ia - ib), 1 << 30));
    } else {
        return a == b ? 0 : 1 << 30;
    }
}

template <class T>
void expect_elements(const std::vector<T>& got, const std::vector<T>& want, int max_ulps, const std::string& what) {
    ASSERT_EQ(got.size(), want.size());
    int bad = 0;
    for (std::size_t i = 0; i < got.size() && bad < 5; ++i)
        if (ulp_distance(got[i], want[i]) > max_ulps) {
            ++bad;
            ADD_FAILURE() << what << " [" << i << "]: got " << +got[i] << ", want " << +want[i];
        }
}

template <class T>
void check_elementwise(VulkanVectorOps& ops, Op op) {
    std::mt19937 rng(1234 + static_cast<int>(op));
    for (std::uint64_t n : kSizes) {
        std::string what = std::string(op_info(op).mnemonic) + " n=" + std::to_string(n);
        auto a = random_values<T>(n, rng), b = random_values<T>(n, rng), c = random_values<T>(n, rng);
        for (std::uint64_t i = 0; i < n; i += 3) b[i] = a[i];
        if (op == Op::Vselect)
            for (std::uint64_t i = 0; i < n; i += 2) a[i] = 0;
        std::vector<T> dst(n, T{42}), want(n);
        VectorOpArgs args{op, view(dst), view(a), view(b), view(c)};
        args.int_scalar = -123456789;
        args.float_scalar = 2.718281828;
        for (std::uint64_t i = 0; i < n; ++i) {
            if (op == Op::Vfma) {
                if constexpr (std::is_floating_point_v<T>) want[i] = std::fma(a[i], b[i], c[i]);
                else want[i] = wrap<T>(static_cast<std::uint32_t>(a[i]) * static_cast<std::uint32_t>(b[i]) +
                                       static_cast<std::uint32_t>(c[i]));
            } else if (op == Op::Vselect) {
                want[i] = a[i] != 0 ? b[i] : c[i];
            } else if (op == Op::Vcopy) {
                want[i] = a[i];
            } else if (op == Op::Vscale) {
                want[i] = static_cast<T>(a[i] * static_cast<float>(args.float_scalar));
            } else if (op == Op::Vfill) {
                want[i] = wrap<T>(static_cast<std::uint32_t>(args.int_scalar));
            } else if (op == Op::Vfillf) {
                want[i] = static_cast<T>(static_cast<float>(args.float_scalar));
            } else if (op == Op::Viota) {
                want[i] = static_cast<T>(i);
            } else {
                want[i] = ref_binary(op, a[i], b[i]);  // fails for anything else
            }
        }
        auto r = ops.run(args);
        ASSERT_TRUE(r.ok()) << what << ": " << r.error();
        if constexpr (std::is_floating_point_v<T>) {
            // Vulkan does not promise a fused fma: accept one rounding or two.
            if (op == Op::Vfma)
                for (std::uint64_t i = 0; i < n; ++i) {
                    volatile float product = a[i] * b[i];
                    if (dst[i] == product + c[i]) want[i] = dst[i];
                }
        }
        expect_elements(dst, want, op == Op::Vdiv ? 2 : 0, what);
    }
}

template <class T>
void check_reduction(VulkanVectorOps& ops, Op op) {
    std::mt19937 rng(99 + static_cast<int>(op));
    for (std::uint64_t n : kSizes) {
        std::string what = std::string(op_info(op).mnemonic) + " n=" + std::to_string(n);
        auto a = random_values<T>(n, rng), b = random_values<T>(n, rng);
        std::vector<T> unused;
        VectorOpArgs args{op, view(unused), view(a), view(b)};
        auto r = ops.run(args);
        ASSERT_TRUE(r.ok()) << what << ": " << r.error();
        if constexpr (std::is_floating_point_v<T>) {
            double want = 0, magnitude = 0;
            if (op == Op::Vredmin) want = INFINITY;
            if (op == Op::Vredmax) want = -INFINITY;
            for (std::uint64_t i = 0; i < n; ++i) {
                double x = a[i], term = op == Op::Vdot ? x * b[i] : x;
                if (op == Op::Vredmin) want = std::fmin(want, x);
                else if (op == Op::Vredmax) want = std::fmax(want, x);
                else want += term;
                magnitude += std::fabs(term);
            }
            if (op == Op::Vredmin || op == Op::Vredmax) EXPECT_EQ(r.value().float_value, want) << what;
            else EXPECT_NEAR(r.value().float_value, want, kSumTolerance * magnitude) << what;
        } else {
            std::int64_t want = 0;
            if (op == Op::Vredmini) want = INT64_MAX;
            if (op == Op::Vredmaxi) want = INT64_MIN;
            for (std::uint64_t i = 0; i < n; ++i) {
                std::int64_t x = a[i];  // sign- or zero-extended
                if (op == Op::Vredmini) want = std::min(want, x);
                else if (op == Op::Vredmaxi) want = std::max(want, x);
                else if (op == Op::Vsumi) want = static_cast<std::int64_t>(static_cast<std::uint64_t>(want) + x);
                else  // products wrap like the op's: multiply as unsigned
                    want = static_cast<std::int64_t>(static_cast<std::uint64_t>(want) +
                                                     static_cast<std::uint64_t>(x) * static_cast<std::uint64_t>(b[i]));
            }
            EXPECT_EQ(r.value().int_value, want) << what;
        }
    }
}

template <class T>
void check_scan(VulkanVectorOps& ops) {
    std::mt19937 rng(7);
    for (std::uint64_t n : kSizes) {
        std::string what = "vscan n=" + std::to_string(n);
        auto a = random_values<T>(n, rng);
        std::vector<T> dst(n);
        VectorOpArgs args{Op::Vscan, view(dst), view(a)};
        auto r = ops.run(args);
        ASSERT_TRUE(r.ok()) << what << ": " << r.error();
        if constexpr (std::is_floating_point_v<T>) {
            double sum = 0, magnitude = 0;
            for (std::uint64_t i = 0; i < n; ++i) {
                sum += a[i];
                magnitude += std::fabs(a[i]);
                ASSERT_NEAR(dst[i], sum, kSumTolerance * magnitude + 1e-6) << what << " [" << i << "]";
            }
        } else {
            std::vector<T> want(n);
            std::uint32_t sum = 0;
            for (std::uint64_t i = 0; i < n; ++i) want[i] = wrap<T>(sum += static_cast<std::uint32_t>(a[i]));
            expect_elements(dst, want, 0, what);
        }
    }
}

template <class T>
void check_matmul(VulkanVectorOps& ops) {
    struct Shape { std::uint64_t m, k, n; };
    std::mt19937 rng(5);
    for (Shape s : {Shape{0, 3, 4}, Shape{1, 1, 1}, Shape{17, 33, 5}, Shape{64, 64, 64}, Shape{100, 37, 129}}) {
        std::string what = "vmatmul " + std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n);
        auto a = random_values<T>(s.m * s.k, rng), b = random_values<T>(s.k * s.n, rng);
        std::vector<T> c(s.m * s.n);
        VectorOpArgs args{Op::Vmatmul, view(c), view(a), view(b)};
        args.int_scalar = static_cast<std::int64_t>(s.k);
        auto r = ops.run(args);
        ASSERT_TRUE(r.ok()) << what << ": " << r.error();
        for (std::uint64_t i = 0; i < s.m; ++i)
            for (std::uint64_t j = 0; j < s.n; ++j) {
                double sum = 0, magnitude = 0;
                std::uint32_t isum = 0;
                for (std::uint64_t k = 0; k < s.k; ++k) {
                    sum += double(a[i * s.k + k]) * double(b[k * s.n + j]);
                    magnitude += std::fabs(double(a[i * s.k + k]) * double(b[k * s.n + j]));
                    isum += static_cast<std::uint32_t>(a[i * s.k + k]) * static_cast<std::uint32_t>(b[k * s.n + j]);
                }
                if constexpr (std::is_floating_point_v<T>)
                    ASSERT_NEAR(c[i * s.n + j], sum, kSumTolerance * magnitude) << what;
                else
                    ASSERT_EQ(c[i * s.n + j], wrap<T>(isum)) << what << " [" << i << "," << j << "]";
            }
    }
}

constexpr Op kBinary[] = {Op::Vadd, Op::Vsub, Op::Vmul, Op::Vdiv, Op::Vmin, Op::Vmax, Op::Vcmplt, Op::Vcmpeq};

// Calls f(T{}) for T = float, int32_t, uint32_t, naming the type in failures.
template <class F>
void for_each_type(F&& f) {
    { SCOPED_TRACE("f32"); f(float{}); }
    { SCOPED_TRACE("i32"); f(std::int32_t{}); }
    { SCOPED_TRACE("u32"); f(std::uint32_t{}); }
}

TEST_F(VulkanOps, BinaryElementwise) {
    for (Op op : kBinary) for_each_type([&](auto t) { check_elementwise<decltype(t)>(*ops_, op); });
}

TEST_F(VulkanOps, FmaSelectCopyIota) {
    for (Op op : {Op::Vfma, Op::Vselect, Op::Vcopy, Op::Viota})
        for_each_type([&](auto t) { check_elementwise<decltype(t)>(*ops_, op); });
}

TEST_F(VulkanOps, ScaleAndFill) {
    check_elementwise<float>(*ops_, Op::Vscale);
    check_elementwise<float>(*ops_, Op::Vfillf);
    check_elementwise<std::int32_t>(*ops_, Op::Vfill);
    check_elementwise<std::uint32_t>(*ops_, Op::Vfill);
}

TEST_F(VulkanOps, FloatReductions) {
    for (Op op : {Op::Vsum, Op::Vredmin, Op::Vredmax, Op::Vdot}) check_reduction<float>(*ops_, op);
}

TEST_F(VulkanOps, IntegerReductions) {
    for (Op op : {Op::Vsumi, Op::Vredmini, Op::Vredmaxi, Op::Vdoti}) {
        check_reduction<std::int32_t>(*ops_, op);
        check_reduction<std::uint32_t>(*ops_, op);
    }
}

TEST_F(VulkanOps, Scan) {
    for_each_type([&](auto t) { check_scan<decltype(t)>(*ops_); });
}

TEST_F(VulkanOps, Matmul) {
    for_each_type([&](auto t) { check_matmul<decltype(t)>(*ops_); });
}

TEST_F(VulkanOps, UnsupportedTypeIsAnError) {
    std::vector<double> x(4), y(4), z(4);
    VectorOpArgs args{Op::Vadd, {ElemType::F64, z.data(), 4}, {ElemType::F64, x.data(), 4}, {ElemType::F64, y.data(), 4}};
    EXPECT_FALSE(VulkanVectorOps::supports(args));
    auto r = ops_->run(args);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error(), "vector op 'vadd' on f64 regions has no Vulkan shader");
}

TEST_F(VulkanOps, PipelinesAreReused) {
    std::vector<float> a(1000, 1.0f), b(1000, 2.0f), c(1000);
    VectorOpArgs args{Op::Vadd, view(c), view(a), view(b)};
    ASSERT_TRUE(ops_->run(args).ok());
    auto size = ops_->pipelines().size();
    ASSERT_TRUE(ops_->run(args).ok());
    EXPECT_EQ(ops_->pipelines().size(), size);
    EXPECT_EQ(c[999], 3.0f);
}

// Every kind of op (multi-pass ones included) under the validation layer.
TEST(VulkanValidation, VectorOpsReportNoErrors) {
    auto ctx = VulkanContext::create({.validation = true});
    ASSERT_TRUE(ctx.ok()) << ctx.error();
    {
        auto ops = VulkanVectorOps::create(*ctx.value());
        ASSERT_TRUE(ops.ok()) << ops.error();
        const std::uint64_t n = 70000;  // three reduction passes, two scan levels
        std::vector<float> a(n, 0.5f), b(n, 2.0f), c(n, 1.0f), d(n);
        std::vector<std::int32_t> ia(n, 3), ib(n), id(n);
        for (Op op : {Op::Vadd, Op::Vdiv, Op::Vfma, Op::Vselect, Op::Vcopy, Op::Vscale, Op::Vfillf, Op::Viota, Op::Vscan}) {
            auto r = ops.value()->run({op, view(d), view(a), view(b), view(c), 0, 3.0});
            ASSERT_TRUE(r.ok()) << op_info(op).mnemonic << ": " << r.error();
        }
        auto sum = ops.value()->run({Op::Vsum, {}, view(a)});
        ASSERT_TRUE(sum.ok()) << sum.error();
        EXPECT_EQ(sum.value().float_value, 0.5 * n);
        auto dot = ops.value()->run({Op::Vdoti, {}, view(ia), view(ia)});
        ASSERT_TRUE(dot.ok()) << dot.error();
        EXPECT_EQ(dot.value().int_value, std::int64_t{9} * n);
        auto fill = ops.value()->run({Op::Vfill, view(id), {}, {}, {}, -5});
        ASSERT_TRUE(fill.ok()) << fill.error();
        EXPECT_EQ(id[n - 1], -5);
        std::vector<float> m(64 * 64, 1.0f), mc(64 * 64);
        auto mm = ops.value()->run({Op::Vmatmul, view(mc), view(m), view(m), {}, 64});
        ASSERT_TRUE(mm.ok()) << mm.error();
        EXPECT_EQ(mc[0], 64.0f);
    }
    EXPECT_EQ(ctx.value()->validation_errors(), 0u);
    EXPECT_EQ(ctx.value()->validation_warnings(), 0u);
}

}  // namespace
}  // namespace polymer::vk
