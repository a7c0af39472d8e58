// The CPU vector ops against straightforward scalar references written here,
// on every element type, at sizes around the vector widths and the summation
// block, plus the edge cases the opcode table promises (wrapping, division by
// zero, NaN in min/max, empty regions, in-place operands) and the check's
// messages.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "isa/vector_rules.h"
#include "vm/vector_op.h"

namespace polymer {
namespace {

template <class T>
constexpr ElemType type_of() {
    if constexpr (std::is_same_v<T, std::uint8_t>) return ElemType::U8;
    else if constexpr (std::is_same_v<T, std::int32_t>) return ElemType::I32;
    else if constexpr (std::is_same_v<T, std::uint32_t>) return ElemType::U32;
    else if constexpr (std::is_same_v<T, std::int64_t>) return ElemType::I64;
    else if constexpr (std::is_same_v<T, float>) return ElemType::F32;
    else return ElemType::F64;
}

template <class T>
constexpr bool kFloat = std::is_floating_point_v<T>;

template <class T>
RegionView view(std::vector<T>& v) {
    return {type_of<T>(), v.data(), v.size()};
}

struct Call {
    Op op;
    RegionView dst, a, b, c;
    std::int64_t int_scalar = 0;
    double float_scalar = 0;
};

VectorOpResult run(const Call& call) {
    VectorOpArgs args;
    args.op = call.op;
    args.dst = call.dst;
    args.a = call.a;
    args.b = call.b;
    args.c = call.c;
    args.int_scalar = call.int_scalar;
    args.float_scalar = call.float_scalar;
    const char* problem = check_vector_op(args);
    EXPECT_EQ(problem, nullptr) << problem;
    return run_vector_op_cpu(args);
}

const std::uint64_t kSizes[] = {0, 1, 7, 255, 256, 257, 1000, 3001};

// Integers over the whole range with extremes, zeros and -1 mixed in (for the
// wrap and division edges); floats integer-valued quarters, so products and
// sums are exact and the reference cannot differ by rounding order.
template <class T>
std::vector<T> random_values(std::uint64_t n, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<T> v(n);
    for (auto& x : v) {
        if constexpr (kFloat<T>) {
            x = static_cast<T>(std::uniform_int_distribution<int>(-2000, 2000)(rng)) / T{4};
        } else {
            switch (rng() % 8) {
            case 0: x = 0; break;
            case 1: x = static_cast<T>(-1); break;
            case 2: x = std::numeric_limits<T>::min(); break;
            case 3: x = std::numeric_limits<T>::max(); break;
            default: x = static_cast<T>(rng()); break;
            }
        }
    }
    return v;
}

template <class T>
::testing::AssertionResult same_value(T got, T want) {
    if constexpr (kFloat<T>) {
        if ((std::isnan(got) && std::isnan(want)) || got == want) return ::testing::AssertionSuccess();
    } else {
        if (got == want) return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "got " << +got << ", want " << +want;
}

template <class T>
void expect_same(const std::vector<T>& got, const std::vector<T>& want, const std::string& what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (std::size_t i = 0; i < got.size(); ++i)
        ASSERT_TRUE(same_value(got[i], want[i])) << what << " at element " << i;
}

// --- scalar references: 64-bit arithmetic, then truncation ---------------------

template <class T>
std::uint64_t u64(T x) {
    if constexpr (std::is_signed_v<T>) return static_cast<std::uint64_t>(static_cast<std::int64_t>(x));
    else return static_cast<std::uint64_t>(x);
}

// A switch over VectorOp names every vector op: a new one must say whether
// it is one of these.
template <class T>
T ref_binary(Op op, T a, T b) {
    if constexpr (kFloat<T>) {
        switch (as_vector_op(op).value()) {
        case VectorOp::Vadd: return a + b;
        case VectorOp::Vsub: return a - b;
        case VectorOp::Vmul: return a * b;
        case VectorOp::Vdiv: return a / b;
        case VectorOp::Vmin: return std::fmin(a, b);
        case VectorOp::Vmax: return std::fmax(a, b);
        case VectorOp::Vcmplt: case VectorOp::Vcmpeq: case VectorOp::Vfma: case VectorOp::Vscale:
        case VectorOp::Vfill: case VectorOp::Vfillf: case VectorOp::Viota: case VectorOp::Vcopy:
        case VectorOp::Vselect: case VectorOp::Vsum: case VectorOp::Vsumi: case VectorOp::Vredmin:
        case VectorOp::Vredmax: case VectorOp::Vredmini: case VectorOp::Vredmaxi: case VectorOp::Vdot:
        case VectorOp::Vdoti: case VectorOp::Vscan: case VectorOp::Vmatmul:
            break;
        }
    } else {
        switch (as_vector_op(op).value()) {
        case VectorOp::Vadd: return static_cast<T>(u64(a) + u64(b));
        case VectorOp::Vsub: return static_cast<T>(u64(a) - u64(b));
        case VectorOp::Vmul: return static_cast<T>(u64(a) * u64(b));
        case VectorOp::Vdiv:
            if (b == 0) return 0;
            if constexpr (std::is_signed_v<T>) {
                if (b == -1) return static_cast<T>(0 - u64(a));
                return static_cast<T>(static_cast<std::int64_t>(a) / static_cast<std::int64_t>(b));
            } else {
                return static_cast<T>(u64(a) / u64(b));
            }
        case VectorOp::Vmin: return std::min(a, b);
        case VectorOp::Vmax: return std::max(a, b);
        case VectorOp::Vcmplt: case VectorOp::Vcmpeq: case VectorOp::Vfma: case VectorOp::Vscale:
        case VectorOp::Vfill: case VectorOp::Vfillf: case VectorOp::Viota: case VectorOp::Vcopy:
        case VectorOp::Vselect: case VectorOp::Vsum: case VectorOp::Vsumi: case VectorOp::Vredmin:
        case VectorOp::Vredmax: case VectorOp::Vredmini: case VectorOp::Vredmaxi: case VectorOp::Vdot:
        case VectorOp::Vdoti: case VectorOp::Vscan: case VectorOp::Vmatmul:
            break;
        }
    }
    ADD_FAILURE() << "no reference for op";
    return T{};
}

template <class T>
T ref_add(T a, T b) {
    return ref_binary(Op::Vadd, a, b);
}

template <class Fn>
void for_each_type(Fn fn) {
    fn(std::uint8_t{});
    fn(std::int32_t{});
    fn(std::uint32_t{});
    fn(std::int64_t{});
    fn(float{});
    fn(double{});
}

// --- every op on every allowed type ---------------------------------------------

template <class T>
class VectorOpsTyped : public ::testing::Test {};

using AllTypes = ::testing::Types<std::uint8_t, std::int32_t, std::uint32_t, std::int64_t, float, double>;
TYPED_TEST_SUITE(VectorOpsTyped, AllTypes);

TYPED_TEST(VectorOpsTyped, ElementwiseArithmeticMatchesReference) {
    using T = TypeParam;
    for (std::uint64_t n : kSizes) {
        auto a = random_values<T>(n, 1 + n);
        auto b = random_values<T>(n, 2 + n);
        for (Op op : {Op::Vadd, Op::Vsub, Op::Vmul, Op::Vdiv, Op::Vmin, Op::Vmax}) {
            std::vector<T> dst(n), want(n);
            for (std::uint64_t i = 0; i < n; ++i) want[i] = ref_binary(op, a[i], b[i]);
            run({op, view(dst), view(a), view(b)});
            expect_same(dst, want, std::string(op_info(op).mnemonic) + " n=" + std::to_string(n));
        }
    }
}

TYPED_TEST(VectorOpsTyped, FmaMatchesReference) {
    using T = TypeParam;
    for (std::uint64_t n : kSizes) {
        auto a = random_values<T>(n, 3), b = random_values<T>(n, 4), c = random_values<T>(n, 5);
        std::vector<T> dst(n), want(n);
        for (std::uint64_t i = 0; i < n; ++i) want[i] = ref_add(ref_binary(Op::Vmul, a[i], b[i]), c[i]);
        run({Op::Vfma, view(dst), view(a), view(b), view(c)});
        expect_same(dst, want, "vfma n=" + std::to_string(n));
    }
}

TYPED_TEST(VectorOpsTyped, CopyIotaAndScan) {
    using T = TypeParam;
    for (std::uint64_t n : kSizes) {
        auto a = random_values<T>(n, 6);
        std::vector<T> copied(n), iota(n, T{7}), scanned(n);
        run({Op::Vcopy, view(copied), view(a)});
        expect_same(copied, a, "vcopy");

        run({Op::Viota, view(iota)});
        std::vector<T> want_iota(n);
        for (std::uint64_t i = 0; i < n; ++i) want_iota[i] = static_cast<T>(i);
        expect_same(iota, want_iota, "viota");

        run({Op::Vscan, view(scanned), view(a)});
        std::vector<T> want_scan(n);
        T running{0};
        for (std::uint64_t i = 0; i < n; ++i) want_scan[i] = running = ref_add(running, a[i]);
        expect_same(scanned, want_scan, "vscan n=" + std::to_string(n));
    }
}

TYPED_TEST(VectorOpsTyped, FillAndScale) {
    using T = TypeParam;
    for (std::uint64_t n : kSizes) {
        std::vector<T> dst(n, T{3});
        if constexpr (kFloat<T>) {
            run({Op::Vfillf, view(dst), {}, {}, {}, 0, -2.5});
            expect_same(dst, std::vector<T>(n, T(-2.5)), "vfillf");
            auto a = random_values<T>(n, 8);
            std::vector<T> want(n);
            for (std::uint64_t i = 0; i < n; ++i) want[i] = a[i] * T(0.75);
            run({Op::Vscale, view(dst), view(a), {}, {}, 0, 0.75});
            expect_same(dst, want, "vscale");
        } else {
            // The value wraps to the element type.
            const std::int64_t value = 0x123456789abcdef0;
            run({Op::Vfill, view(dst), {}, {}, {}, value});
            expect_same(dst, std::vector<T>(n, static_cast<T>(value)), "vfill");
        }
    }
}

TYPED_TEST(VectorOpsTyped, ComparesWriteOneOrZeroInAnyMaskType) {
    using T = TypeParam;
    for (std::uint64_t n : kSizes) {
        auto a = random_values<T>(n, 9);
        auto b = random_values<T>(n, 10);
        for (std::uint64_t i = 0; i < n; i += 3) b[i] = a[i];  // some equal pairs
        for_each_type([&](auto d) {
            using D = decltype(d);
            std::vector<D> lt(n, D{9}), eq(n, D{9}), want_lt(n), want_eq(n);
            for (std::uint64_t i = 0; i < n; ++i) {
                want_lt[i] = a[i] < b[i] ? D{1} : D{0};
                want_eq[i] = a[i] == b[i] ? D{1} : D{0};
            }
            run({Op::Vcmplt, view(lt), view(a), view(b)});
            run({Op::Vcmpeq, view(eq), view(a), view(b)});
            expect_same(lt, want_lt, "vcmplt");
            expect_same(eq, want_eq, "vcmpeq");
        });
    }
}

TYPED_TEST(VectorOpsTyped, SelectTakesAnyMaskType) {
    using T = TypeParam;
    for (std::uint64_t n : kSizes) {
        auto a = random_values<T>(n, 11);
        auto b = random_values<T>(n, 12);
        for_each_type([&](auto m) {
            using M = decltype(m);
            auto mask = random_values<M>(n, 13);
            std::vector<T> dst(n), want(n);
            for (std::uint64_t i = 0; i < n; ++i) want[i] = mask[i] != M{0} ? a[i] : b[i];
            run({Op::Vselect, view(dst), view(mask), view(a), view(b)});
            expect_same(dst, want, "vselect");
        });
    }
}

TYPED_TEST(VectorOpsTyped, ReductionsMatchReference) {
    using T = TypeParam;
    for (std::uint64_t n : kSizes) {
        auto a = random_values<T>(n, 14);
        auto b = random_values<T>(n, 15);
        if constexpr (kFloat<T>) {
            // Quarter-integers: the double sums are exact.
            double sum = 0, dot = 0, lo = INFINITY, hi = -INFINITY;
            for (std::uint64_t i = 0; i < n; ++i) {
                sum += a[i];
                dot += double(a[i]) * double(b[i]);
                lo = std::fmin(lo, a[i]);
                hi = std::fmax(hi, a[i]);
            }
            EXPECT_EQ(run({Op::Vsum, {}, view(a)}).float_value, sum) << n;
            EXPECT_EQ(run({Op::Vdot, {}, view(a), view(b)}).float_value, dot) << n;
            EXPECT_EQ(run({Op::Vredmin, {}, view(a)}).float_value, lo) << n;
            EXPECT_EQ(run({Op::Vredmax, {}, view(a)}).float_value, hi) << n;
        } else {
            std::uint64_t sum = 0, dot = 0;
            std::int64_t lo = std::numeric_limits<std::int64_t>::max();
            std::int64_t hi = std::numeric_limits<std::int64_t>::min();
            for (std::uint64_t i = 0; i < n; ++i) {
                sum += u64(a[i]);
                dot += u64(a[i]) * u64(b[i]);
                lo = std::min(lo, static_cast<std::int64_t>(u64(a[i])));
                hi = std::max(hi, static_cast<std::int64_t>(u64(a[i])));
            }
            EXPECT_EQ(run({Op::Vsumi, {}, view(a)}).int_value, static_cast<std::int64_t>(sum)) << n;
            EXPECT_EQ(run({Op::Vdoti, {}, view(a), view(b)}).int_value, static_cast<std::int64_t>(dot)) << n;
            EXPECT_EQ(run({Op::Vredmini, {}, view(a)}).int_value, lo) << n;
            EXPECT_EQ(run({Op::Vredmaxi, {}, view(a)}).int_value, hi) << n;
        }
    }
}

TYPED_TEST(VectorOpsTyped, InPlaceOperands) {
    using T = TypeParam;
    const std::uint64_t n = 1000;
    const auto a0 = random_values<T>(n, 16);
    const auto b0 = random_values<T>(n, 17);
    std::vector<T> want(n);

    auto a = a0, b = b0;  // vadd a, a, b
    for (std::uint64_t i = 0; i < n; ++i) want[i] = ref_add(a0[i], b0[i]);
    run({Op::Vadd, view(a), view(a), view(b)});
    expect_same(a, want, "vadd dst == a");

    a = a0;  // vsub b, a, b
    for (std::uint64_t i = 0; i < n; ++i) want[i] = ref_binary(Op::Vsub, a0[i], b0[i]);
    run({Op::Vsub, view(b), view(a), view(b)});
    expect_same(b, want, "vsub dst == b");

    a = a0;  // vmul a, a, a
    for (std::uint64_t i = 0; i < n; ++i) want[i] = ref_binary(Op::Vmul, a0[i], a0[i]);
    run({Op::Vmul, view(a), view(a), view(a)});
    expect_same(a, want, "vmul dst == a == b");

    a = a0, b = b0;  // vfma b, a, a, b
    for (std::uint64_t i = 0; i < n; ++i) want[i] = ref_add(ref_binary(Op::Vmul, a0[i], a0[i]), b0[i]);
    run({Op::Vfma, view(b), view(a), view(a), view(b)});
    expect_same(b, want, "vfma dst == c");

    a = a0;  // vscan a, a
    T running{0};
    for (std::uint64_t i = 0; i < n; ++i) want[i] = running = ref_add(running, a0[i]);
    run({Op::Vscan, view(a), view(a)});
    expect_same(a, want, "vscan in place");

    a = a0, b = b0;  // vcmplt a, a, b
    for (std::uint64_t i = 0; i < n; ++i) want[i] = a0[i] < b0[i] ? T{1} : T{0};
    run({Op::Vcmplt, view(a), view(a), view(b)});
    expect_same(a, want, "vcmplt dst == a");

    a = a0, b = b0;  // vselect a, a, b, a (the mask is overwritten as it is read)
    for (std::uint64_t i = 0; i < n; ++i) want[i] = a0[i] != T{0} ? b0[i] : a0[i];
    run({Op::Vselect, view(a), view(a), view(b), view(a)});
    expect_same(a, want, "vselect dst == mask");

    a = a0;  // vcopy a, a
    run({Op::Vcopy, view(a), view(a)});
    expect_same(a, a0, "vcopy dst == a");
}

template <class T>
std::vector<T> ref_matmul(const std::vector<T>& a, const std::vector<T>& b, std::uint64_t m, std::uint64_t k,
                          std::uint64_t n) {
    std::vector<T> c(m * n);
    for (std::uint64_t i = 0; i < m; ++i)
        for (std::uint64_t j = 0; j < n; ++j) {
            T sum{0};
            for (std::uint64_t kk = 0; kk < k; ++kk)
                sum = ref_add(sum, ref_binary(Op::Vmul, a[i * k + kk], b[kk * n + j]));
            c[i * n + j] = sum;
        }
    return c;
}

TYPED_TEST(VectorOpsTyped, MatmulShapes) {
    using T = TypeParam;
    struct Shape { std::uint64_t m, k, n; };
    // 1 x K, K x 1 results, non-square, and one past every tile edge (64, 128, 256).
    for (Shape s : {Shape{1, 1, 1}, Shape{1, 9, 5}, Shape{6, 9, 1}, Shape{1, 7, 1}, Shape{3, 5, 7}, Shape{7, 2, 3},
                    Shape{70, 130, 260}}) {
        auto a = random_values<T>(s.m * s.k, 18);
        auto b = random_values<T>(s.k * s.n, 19);
        std::vector<T> c(s.m * s.n, T{5});
        run({Op::Vmatmul, view(c), view(a), view(b), {}, static_cast<std::int64_t>(s.k)});
        expect_same(c, ref_matmul(a, b, s.m, s.k, s.n),
                    "vmatmul " + std::to_string(s.m) + "x" + std::to_string(s.k) + "x" + std::to_string(s.n));
    }
}

TYPED_TEST(VectorOpsTyped, MatmulIntoItsOwnOperand) {
    using T = TypeParam;
    const std::uint64_t k = 9;
    const auto a0 = random_values<T>(k * k, 20);
    auto a = a0;
    auto b = random_values<T>(k * k, 21);
    const auto want = ref_matmul(a0, b, k, k, k);
    run({Op::Vmatmul, view(a), view(a), view(b), {}, static_cast<std::int64_t>(k)});
    expect_same(a, want, "vmatmul a, a, b");
}

// --- the edges the table spells out ----------------------------------------------

TEST(VectorOps, IntegerArithmeticWraps) {
    const std::int32_t imin = std::numeric_limits<std::int32_t>::min(), imax = std::numeric_limits<std::int32_t>::max();
    std::vector<std::int32_t> a{imax, imin, 0x10000, 7}, b{1, 1, 0x10000, -9}, d(4);
    run({Op::Vadd, view(d), view(a), view(b)});
    EXPECT_EQ(d, (std::vector<std::int32_t>{imin, imin + 1, 0x20000, -2}));
    run({Op::Vsub, view(d), view(a), view(b)});
    EXPECT_EQ(d, (std::vector<std::int32_t>{imax - 1, imax, 0, 16}));
    run({Op::Vmul, view(d), view(a), view(b)});
    EXPECT_EQ(d, (std::vector<std::int32_t>{imax, imin, 0, -63}));

    std::vector<std::uint8_t> ua{250, 3, 16, 200}, ub{10, 5, 16, 3}, ud(4);
    run({Op::Vadd, view(ud), view(ua), view(ub)});
    EXPECT_EQ(ud, (std::vector<std::uint8_t>{4, 3 + 5, 32, 203}));
    run({Op::Vsub, view(ud), view(ua), view(ub)});
    EXPECT_EQ(ud, (std::vector<std::uint8_t>{240, 254, 0, 197}));
    run({Op::Vmul, view(ud), view(ua), view(ub)});
    EXPECT_EQ(ud, (std::vector<std::uint8_t>{196, 15, 0, 88}));

    const std::int64_t lmin = std::numeric_limits<std::int64_t>::min(), lmax = std::numeric_limits<std::int64_t>::max();
    std::vector<std::int64_t> la{lmax, lmin}, lb{1, lmax}, ld(2);
    run({Op::Vadd, view(ld), view(la), view(lb)});
    EXPECT_EQ(ld, (std::vector<std::int64_t>{lmin, -1}));
    run({Op::Vmul, view(ld), view(la), view(la)});
    EXPECT_EQ(ld, (std::vector<std::int64_t>{1, 0}));

    std::vector<std::uint32_t> wa{0xffffffffu}, wb{2}, wd(1);
    run({Op::Vadd, view(wd), view(wa), view(wb)});
    EXPECT_EQ(wd[0], 1u);
    run({Op::Vscan, view(wd), view(wa)});
    EXPECT_EQ(wd[0], 0xffffffffu);
}

TEST(VectorOps, IntegerDivisionByZeroGivesZeroAndMinByMinusOneWraps) {
    const std::int32_t imin = std::numeric_limits<std::int32_t>::min();
    std::vector<std::int32_t> a{7, imin, -7, 0, imin}, b{0, -1, 2, 0, 1}, d(5, 99);
    run({Op::Vdiv, view(d), view(a), view(b)});
    EXPECT_EQ(d, (std::vector<std::int32_t>{0, imin, -3, 0, imin}));

    const std::int64_t lmin = std::numeric_limits<std::int64_t>::min();
    std::vector<std::int64_t> la{lmin, 5, -9}, lb{-1, 0, -1}, ld(3, 99);
    run({Op::Vdiv, view(ld), view(la), view(lb)});
    EXPECT_EQ(ld, (std::vector<std::int64_t>{lmin, 0, 9}));

    std::vector<std::uint8_t> ua{200, 200, 255}, ub{0, 3, 255}, ud(3, 99);
    run({Op::Vdiv, view(ud), view(ua), view(ub)});
    EXPECT_EQ(ud, (std::vector<std::uint8_t>{0, 66, 1}));

    std::vector<std::uint32_t> wa{5, 0xffffffffu}, wb{0, 2}, wd(2, 99);
    run({Op::Vdiv, view(wd), view(wa), view(wb)});
    EXPECT_EQ(wd, (std::vector<std::uint32_t>{0, 0x7fffffffu}));

    std::vector<float> fa{1, -1, 0}, fb{0, 0, 0}, fd(3);
    run({Op::Vdiv, view(fd), view(fa), view(fb)});
    EXPECT_EQ(fd[0], INFINITY);
    EXPECT_EQ(fd[1], -INFINITY);
    EXPECT_TRUE(std::isnan(fd[2]));
}

TEST(VectorOps, FillAndIotaWrapToTheElementType) {
    std::vector<std::uint8_t> bytes(300);
    run({Op::Viota, view(bytes)});
    EXPECT_EQ(bytes[255], 255);
    EXPECT_EQ(bytes[256], 0);
    EXPECT_EQ(bytes[299], 43);
    run({Op::Vfill, view(bytes), {}, {}, {}, 0x1ff});
    EXPECT_EQ(bytes[0], 0xff);
    std::vector<std::int32_t> ints(3);
    run({Op::Vfill, view(ints), {}, {}, {}, 0x100000005});
    EXPECT_EQ(ints, (std::vector<std::int32_t>{5, 5, 5}));
    run({Op::Vfill, view(ints), {}, {}, {}, -1});
    EXPECT_EQ(ints, (std::vector<std::int32_t>{-1, -1, -1}));
}

TEST(VectorOps, IntegerReductionsWidenThenWrapIn64Bits) {
    std::vector<std::uint32_t> u{0xffffffffu, 1};
    EXPECT_EQ(run({Op::Vsumi, {}, view(u)}).int_value, 0x100000000);
    EXPECT_EQ(run({Op::Vredmaxi, {}, view(u)}).int_value, 0xffffffff);
    EXPECT_EQ(run({Op::Vredmini, {}, view(u)}).int_value, 1);
    std::vector<std::uint32_t> uu{0xffffffffu};
    EXPECT_EQ(run({Op::Vdoti, {}, view(uu), view(uu)}).int_value, static_cast<std::int64_t>(0xfffffffe00000001));

    std::vector<std::int32_t> s{-1, -2};
    EXPECT_EQ(run({Op::Vsumi, {}, view(s)}).int_value, -3);
    EXPECT_EQ(run({Op::Vredmini, {}, view(s)}).int_value, -2);
    EXPECT_EQ(run({Op::Vredmaxi, {}, view(s)}).int_value, -1);
    std::vector<std::int32_t> s3{3, -3};
    EXPECT_EQ(run({Op::Vdoti, {}, view(s), view(s3)}).int_value, 3);

    std::vector<std::uint8_t> bytes{255, 255};
    EXPECT_EQ(run({Op::Vsumi, {}, view(bytes)}).int_value, 510);
    EXPECT_EQ(run({Op::Vdoti, {}, view(bytes), view(bytes)}).int_value, 2 * 255 * 255);

    std::vector<std::int64_t> big{std::numeric_limits<std::int64_t>::max(), 1};
    EXPECT_EQ(run({Op::Vsumi, {}, view(big)}).int_value, std::numeric_limits<std::int64_t>::min());
}

TEST(VectorOps, EmptyRegionsGiveTheIdentities) {
    std::vector<std::int32_t> none;
    std::vector<double> nonef;
    EXPECT_EQ(run({Op::Vsumi, {}, view(none)}).int_value, 0);
    EXPECT_EQ(run({Op::Vdoti, {}, view(none), view(none)}).int_value, 0);
    EXPECT_EQ(run({Op::Vredmini, {}, view(none)}).int_value, std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(run({Op::Vredmaxi, {}, view(none)}).int_value, std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(run({Op::Vsum, {}, view(nonef)}).float_value, 0.0);
    EXPECT_EQ(run({Op::Vdot, {}, view(nonef), view(nonef)}).float_value, 0.0);
    EXPECT_EQ(run({Op::Vredmin, {}, view(nonef)}).float_value, INFINITY);
    EXPECT_EQ(run({Op::Vredmax, {}, view(nonef)}).float_value, -INFINITY);
}

TEST(VectorOps, FloatMinMaxSkipNaNLikeFminFmax) {
    const float nan = NAN;
    std::vector<float> a{nan, 2, nan, -INFINITY, 1}, b{2, nan, nan, 0, 3}, d(5);
    run({Op::Vmin, view(d), view(a), view(b)});
    EXPECT_EQ(d[0], 2);
    EXPECT_EQ(d[1], 2);
    EXPECT_TRUE(std::isnan(d[2]));
    EXPECT_EQ(d[3], -INFINITY);
    EXPECT_EQ(d[4], 1);
    run({Op::Vmax, view(d), view(a), view(b)});
    EXPECT_EQ(d[0], 2);
    EXPECT_EQ(d[1], 2);
    EXPECT_TRUE(std::isnan(d[2]));
    EXPECT_EQ(d[3], 0);
    EXPECT_EQ(d[4], 3);

    // NaNs in a reduction are skipped wherever they sit (lanes, tail).
    std::vector<double> r(37, NAN);
    r[5] = 3;
    r[33] = -4;
    r[36] = 8;
    EXPECT_EQ(run({Op::Vredmin, {}, view(r)}).float_value, -4);
    EXPECT_EQ(run({Op::Vredmax, {}, view(r)}).float_value, 8);
    std::vector<float> all_nan(20, nan);
    EXPECT_EQ(run({Op::Vredmin, {}, view(all_nan)}).float_value, INFINITY);
    EXPECT_EQ(run({Op::Vredmax, {}, view(all_nan)}).float_value, -INFINITY);

    // Compares with NaN are false; a NaN mask element selects, -0 does not.
    std::vector<std::uint8_t> lt(5), eq(5);
    run({Op::Vcmplt, view(lt), view(a), view(b)});
    run({Op::Vcmpeq, view(eq), view(a), view(b)});
    EXPECT_EQ(lt, (std::vector<std::uint8_t>{0, 0, 0, 1, 1}));
    EXPECT_EQ(eq, (std::vector<std::uint8_t>{0, 0, 0, 0, 0}));
    std::vector<float> mask{nan, -0.0f, 0.0f, 1}, x{1, 2, 3, 4}, y{-1, -2, -3, -4}, s(4);
    run({Op::Vselect, view(s), view(mask), view(x), view(y)});
    EXPECT_EQ(s, (std::vector<float>{1, -2, -3, 4}));
}

TEST(VectorOps, FloatSumsAccumulateInDouble) {
    // One million times 0.1f: a binary32 running sum is off by about 1%.
    std::vector<float> tenths(1'000'000, 0.1f);
    const double want = 1e6 * static_cast<double>(0.1f);
    EXPECT_NEAR(run({Op::Vsum, {}, view(tenths)}).float_value, want, want * 1e-12);
    std::vector<float> ones(1'000'000, 1.0f);
    EXPECT_NEAR(run({Op::Vdot, {}, view(tenths), view(ones)}).float_value, want, want * 1e-12);

    // Random reals: within a few ulps of the long double sum, relative to sum |x|.
    std::mt19937_64 rng(22);
    std::uniform_real_distribution<double> dist(-1, 1);
    std::vector<double> xs(100'003);
    long double exact = 0, magnitude = 0;
    for (double& x : xs) {
        x = dist(rng);
        exact += x;
        magnitude += std::fabs(x);
    }
    EXPECT_NEAR(run({Op::Vsum, {}, view(xs)}).float_value, static_cast<double>(exact),
                static_cast<double>(magnitude) * 1e-14);
    std::vector<float> fs(xs.begin(), xs.end());
    EXPECT_EQ(run({Op::Vredmin, {}, view(fs)}).float_value, *std::min_element(fs.begin(), fs.end()));
}

// --- the check -------------------------------------------------------------------

// Small regions named TYPExLENGTH.
struct Regions {
    std::vector<std::int32_t> i32x8 = std::vector<std::int32_t>(8), i32x7 = std::vector<std::int32_t>(7);
    std::vector<std::uint32_t> u32x8 = std::vector<std::uint32_t>(8);
    std::vector<float> f32x8 = std::vector<float>(8), f32x10 = std::vector<float>(10), f32x6 = std::vector<float>(6);
    std::vector<double> f64x8 = std::vector<double>(8);
    std::vector<std::uint8_t> u8x8 = std::vector<std::uint8_t>(8);
};

struct Checked {
    VectorOpFault fault;
    std::string reason;
};

Checked check(Op op, RegionView dst, RegionView a = {}, RegionView b = {}, RegionView c = {}, std::int64_t k = 0) {
    VectorOpArgs args;
    args.op = op;
    args.dst = dst;
    args.a = a;
    args.b = b;
    args.c = c;
    args.int_scalar = k;
    const VectorOpProblem p = find_vector_op_problem(args);
    const char* reason = check_vector_op(args);
    EXPECT_EQ(p.reason == nullptr, reason == nullptr);
    EXPECT_EQ(p.fault == VectorOpFault::None, reason == nullptr);
    return {p.fault, reason ? reason : ""};
}

TEST(VectorOpsCheck, ReportsMismatchedTypesAndLengths) {
    Regions r;
    using F = VectorOpFault;
    auto expect = [](const Checked& got, F fault, const std::string& reason) {
        EXPECT_EQ(got.fault, fault) << got.reason;
        EXPECT_EQ(got.reason, reason);
    };
    expect(check(Op::Vadd, view(r.i32x8), view(r.i32x8), view(r.i32x7)), F::LengthMismatch, "vadd: b has 7 elements but dst has 8");
    expect(check(Op::Vadd, view(r.i32x8), view(r.f32x8), view(r.i32x8)), F::TypeMismatch, "vadd: a is f32 but dst is i32");
    expect(check(Op::Vfma, view(r.f32x8), view(r.f32x8), view(r.f32x8), view(r.f32x10)), F::LengthMismatch,
           "vfma: c has 10 elements but dst has 8");
    expect(check(Op::Vscale, view(r.i32x8), view(r.i32x8)), F::TypeMismatch, "vscale: dst is i32, not a float region");
    expect(check(Op::Vfill, view(r.f32x8)), F::TypeMismatch, "vfill: dst is f32, not an integer region");
    expect(check(Op::Vfillf, view(r.u32x8)), F::TypeMismatch, "vfillf: dst is u32, not a float region");
    expect(check(Op::Vsum, {}, view(r.i32x8)), F::TypeMismatch, "vsum: a is i32, not a float region");
    expect(check(Op::Vsumi, {}, view(r.f64x8)), F::TypeMismatch, "vsumi: a is f64, not an integer region");
    expect(check(Op::Vdot, {}, view(r.f32x8), view(r.f32x10)), F::LengthMismatch, "vdot: b has 10 elements but a has 8");
    expect(check(Op::Vdoti, {}, view(r.i32x8), view(r.u32x8)), F::TypeMismatch, "vdoti: b is u32 but a is i32");
    expect(check(Op::Vcmplt, view(r.u8x8), view(r.i32x8), view(r.u32x8)), F::TypeMismatch, "vcmplt: b is u32 but a is i32");
    expect(check(Op::Vcopy, view(r.i32x8), view(r.u32x8)), F::TypeMismatch, "vcopy: a is u32 but dst is i32");
    expect(check(Op::Vscan, view(r.i32x8), view(r.i32x7)), F::LengthMismatch, "vscan: a has 7 elements but dst has 8");
    expect(check(Op::Vselect, view(r.f32x8), view(r.u8x8), view(r.f32x8), view(r.f64x8)), F::TypeMismatch,
           "vselect: c is f64 but dst is f32");
    expect(check(Op::Add, view(r.i32x8)), F::TypeMismatch, "add is not a vector op");
    expect(check(Op::Vcopy, view(r.i32x8), RegionView{ElemType::I32, nullptr, 1}), F::LengthMismatch,
           "vcopy: a has 1 element but no storage");
    expect(check(Op::Vcopy, view(r.i32x8), RegionView{static_cast<ElemType>(9), r.i32x8.data(), 8}), F::TypeMismatch,
           "vcopy: a has an invalid element type 9");

    // Masks may be of any type.
    expect(check(Op::Vcmplt, view(r.f64x8), view(r.i32x8), view(r.i32x8)), F::None, "");
    expect(check(Op::Vselect, view(r.f32x8), view(r.u8x8), view(r.f32x8), view(r.f32x8)), F::None, "");
}

TEST(VectorOpsCheck, ReportsBadMatmulShapes) {
    Regions r;
    EXPECT_EQ(check(Op::Vmatmul, view(r.f32x6), view(r.f32x10), view(r.f32x6), {}, 3).reason,
              "vmatmul: a has 10 elements, not a multiple of K = 3");
    EXPECT_EQ(check(Op::Vmatmul, view(r.f32x6), view(r.f32x6), view(r.f32x10), {}, 3).reason,
              "vmatmul: b has 10 elements, not a multiple of K = 3");
    EXPECT_EQ(check(Op::Vmatmul, view(r.f32x6), view(r.f32x6), view(r.f32x6), {}, 0).reason,
              "vmatmul: K = 0, must be positive");
    EXPECT_EQ(check(Op::Vmatmul, view(r.f32x6), view(r.f32x6), view(r.f32x6), {}, -2).reason,
              "vmatmul: K = -2, must be positive");
    // a is 2 x 3, b is 3 x 2: dst must have 4.
    EXPECT_EQ(check(Op::Vmatmul, view(r.f32x6), view(r.f32x6), view(r.f32x6), {}, 3).reason,
              "vmatmul: dst has 6 elements, not M x N = 2 x 2");
    EXPECT_EQ(check(Op::Vmatmul, view(r.f32x6), view(r.f32x6), view(r.f64x8), {}, 3).reason, "vmatmul: b is f64 but dst is f32");
    // a is 3 x 2, b is 2 x 3: fits.
    EXPECT_EQ(check(Op::Vmatmul, RegionView{ElemType::F32, r.f32x10.data(), 9}, view(r.f32x6), view(r.f32x6), {}, 2).fault,
              VectorOpFault::None);
}

TEST(VectorOpsCheck, RunLeavesRegionsAloneWhenTheCheckFails) {
    std::vector<std::int32_t> dst(8, 42), a(8, 1), b(7, 1);
    VectorOpArgs args;
    args.op = Op::Vadd;
    args.dst = view(dst);
    args.a = view(a);
    args.b = view(b);
    run_vector_op_cpu(args);
    EXPECT_EQ(dst, std::vector<std::int32_t>(8, 42));
}

// Every vector op of the table has a passing case here, so a row added to
// isa/opcodes.def without a CPU implementation and check rule fails this test.
TEST(VectorOpsCheck, EveryVectorOpInTheTableIsImplemented) {
    Regions r;
    std::set<Op> covered;
    auto ok = [&](Op op, RegionView dst, RegionView a = {}, RegionView b = {}, RegionView c = {}, std::int64_t k = 0) {
        EXPECT_EQ(check(op, dst, a, b, c, k).reason, "") << op_info(op).mnemonic;
        covered.insert(op);
    };
    for (Op op : {Op::Vadd, Op::Vsub, Op::Vmul, Op::Vdiv, Op::Vmin, Op::Vmax, Op::Vcmplt, Op::Vcmpeq})
        ok(op, view(r.i32x8), view(r.i32x8), view(r.i32x8));
    ok(Op::Vfma, view(r.f32x8), view(r.f32x8), view(r.f32x8), view(r.f32x8));
    ok(Op::Vselect, view(r.f32x8), view(r.i32x8), view(r.f32x8), view(r.f32x8));
    ok(Op::Vscale, view(r.f32x8), view(r.f32x8));
    ok(Op::Vfill, view(r.u8x8));
    ok(Op::Vfillf, view(r.f64x8));
    ok(Op::Viota, view(r.f64x8));
    ok(Op::Vcopy, view(r.u32x8), view(r.u32x8));
    ok(Op::Vscan, view(r.u32x8), view(r.u32x8));
    for (Op op : {Op::Vsum, Op::Vredmin, Op::Vredmax}) ok(op, {}, view(r.f32x8));
    for (Op op : {Op::Vsumi, Op::Vredmini, Op::Vredmaxi}) ok(op, {}, view(r.u8x8));
    ok(Op::Vdot, {}, view(r.f64x8), view(r.f64x8));
    ok(Op::Vdoti, {}, view(r.i32x8), view(r.i32x8));
    ok(Op::Vmatmul, RegionView{ElemType::F32, r.f32x8.data(), 1}, view(r.f32x10), view(r.f32x10), {}, 10);

    for (Op op : kAllOps) {
        if (op_info(op).cls == OpClass::Vector) {
            EXPECT_TRUE(covered.count(op)) << op_info(op).mnemonic;
        }
    }
}

}  // namespace
}  // namespace polymer
