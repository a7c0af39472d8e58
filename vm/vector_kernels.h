// The CPU loops behind the vector ops, one template per shape of loop and a
// small functor per element operation. Plain loops over raw pointers so that
// the compiler vectorises them (cpu_vector_ops.cpp is built with -O3); no loop
// branches on the element type, which is fixed once per call by the dispatcher.
//
// Aliasing: element-wise ops may run in place (dst == a, dst == b, ...), so
// their pointers are not `__restrict`; GCC versions those loops with a run-time
// alias check that keeps exact aliasing on the vector path (a read precedes the
// write of the same element). Loops whose operands never share storage
// (reductions, fills, matmul, which check_vector_op keeps apart) use `__restrict`.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

namespace polymer::vector_loops {

template <class T>
inline constexpr bool kFloat = std::is_floating_point_v<T>;

// Integer arithmetic is done in the unsigned type of the same width: it wraps
// (two's complement) and has no undefined case; the conversion back is modular.
template <class T>
using Wrap = std::make_unsigned_t<T>;

struct Add {
    template <class T> static T apply(T a, T b) {
        if constexpr (kFloat<T>) return a + b;
        else return static_cast<T>(static_cast<Wrap<T>>(a) + static_cast<Wrap<T>>(b));
    }
};

struct Sub {
    template <class T> static T apply(T a, T b) {
        if constexpr (kFloat<T>) return a - b;
        else return static_cast<T>(static_cast<Wrap<T>>(a) - static_cast<Wrap<T>>(b));
    }
};

struct Mul {
    template <class T> static T apply(T a, T b) {
        if constexpr (kFloat<T>) return a * b;
        else return static_cast<T>(static_cast<Wrap<T>>(a) * static_cast<Wrap<T>>(b));
    }
};

// Integer division by zero gives 0 (a GPU cannot trap); MIN / -1 wraps to MIN.
struct Div {
    template <class T> static T apply(T a, T b) {
        if constexpr (kFloat<T>) {
            return a / b;
        } else if constexpr (std::is_signed_v<T>) {
            if (b == 0) return 0;
            if (b == -1) return static_cast<T>(Wrap<T>{0} - static_cast<Wrap<T>>(a));
            return static_cast<T>(a / b);
        } else {
            return b == 0 ? T{0} : static_cast<T>(a / b);
        }
    }
};

// Float min/max follow fmin/fmax: a NaN operand yields the other one. Written
// as compare-and-select so it vectorises (std::fmin is a library call).
struct Min {
    template <class T> static T apply(T a, T b) {
        if constexpr (kFloat<T>) return (b != b || a < b) ? a : b;
        else return a < b ? a : b;
    }
};

struct Max {
    template <class T> static T apply(T a, T b) {
        if constexpr (kFloat<T>) return (b != b || a > b) ? a : b;
        else return a > b ? a : b;
    }
};

// Compares are false when either float operand is NaN (IEEE ordered compare);
// integer compares are signed or unsigned as the element type is.
struct Less {
    template <class T> static bool apply(T a, T b) { return a < b; }
};

struct Equal {
    template <class T> static bool apply(T a, T b) { return a == b; }
};

template <class Fn, class T>
void elementwise(T* dst, const T* a, const T* b, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) dst[i] = Fn::apply(a[i], b[i]);
}

// Floats: fused, rounded once (std::fma), as every Vulkan device computes
// vfma (docs/kernels.md); cpu_vector_ops.cpp builds the float loops for FMA
// hardware too (vm/cpu_variants.h). Integers wrap.
template <class T>
void multiply_add(T* dst, const T* a, const T* b, const T* c, std::uint64_t n) {
    if constexpr (kFloat<T>)
        for (std::uint64_t i = 0; i < n; ++i) dst[i] = std::fma(a[i], b[i], c[i]);
    else
        for (std::uint64_t i = 0; i < n; ++i) dst[i] = Add::apply(Mul::apply(a[i], b[i]), c[i]);
}

// The factor is rounded to the element type first, as a GPU would hold it.
template <class T>
void scale(T* dst, const T* a, double factor, std::uint64_t n) {
    const T f = static_cast<T>(factor);
    for (std::uint64_t i = 0; i < n; ++i) dst[i] = a[i] * f;
}

template <class T>
void fill(T* __restrict dst, T value, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) dst[i] = value;
}

// dst[i] = first + i, wrapping for integer types narrower than the index (u8:
// mod 256). `first`: where dst starts in the whole region (a piece of it).
template <class T>
void iota(T* __restrict dst, std::uint64_t n, std::uint64_t first = 0) {
    for (std::uint64_t i = 0; i < n; ++i) dst[i] = static_cast<T>(first + i);
}

template <class T>
void copy(T* dst, const T* a, std::uint64_t n) {
    if (n != 0 && dst != a) std::memmove(dst, a, n * sizeof(T));
}

// Writes 1 or 0 in dst's own element type D.
template <class Cmp, class D, class T>
void compare(D* dst, const T* a, const T* b, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) dst[i] = Cmp::apply(a[i], b[i]) ? D{1} : D{0};
}

// A mask element selects when it is != 0 (for a float mask: NaN selects, -0 does not).
template <class T, class M>
void select(T* dst, const M* mask, const T* a, const T* b, std::uint64_t n) {
    for (std::uint64_t i = 0; i < n; ++i) {
        // Both loads unconditional, so the select needs no branch.
        const T x = a[i];
        const T y = b[i];
        dst[i] = mask[i] != M{0} ? x : y;
    }
}

// Inclusive prefix sum in the element type, from `running` (0 for a whole
// region; a piece of one starts from where the piece before it ended);
// returns where it ends. In place is fine (a[i] is read before dst[i] is
// written).
template <class T>
T inclusive_scan(T* dst, const T* a, std::uint64_t n, T running = T{0}) {
    for (std::uint64_t i = 0; i < n; ++i) {
        running = Add::apply(running, a[i]);
        dst[i] = running;
    }
    return running;
}

// --- reductions ------------------------------------------------------------

// Float sums accumulate in binary64: kLanes independent partial sums per block
// (which the compiler keeps in vector registers), the block's lanes added
// pairwise, and the blocks combined with Neumaier's compensated addition. The
// error grows with kBlock / kLanes, not with n.
inline constexpr std::uint64_t kSumBlock = 1024;
inline constexpr std::size_t kLanes = 8;

class CompensatedSum {
public:
    void add(double x) {
        const double t = sum_ + x;
        if (std::fabs(sum_) >= std::fabs(x)) carry_ += (sum_ - t) + x;
        else carry_ += (x - t) + sum_;
        sum_ = t;
    }
    double value() const { return sum_ + carry_; }

private:
    double sum_ = 0;
    double carry_ = 0;
};

inline double add_lanes_pairwise(double (&lane)[kLanes]) {
    for (std::size_t width = kLanes / 2; width > 0; width /= 2)
        for (std::size_t j = 0; j < width; ++j) lane[j] += lane[j + width];
    return lane[0];
}

// One block's sum: term(i) for i in [start, end) (at most kSumBlock terms)
// into kLanes lane sums, added pairwise; term is inlined.
template <class Term>
double block_sum(std::uint64_t start, std::uint64_t end, Term term) {
    double lane[kLanes] = {};
    std::uint64_t i = start;
    for (; i + kLanes <= end; i += kLanes)
        for (std::size_t j = 0; j < kLanes; ++j) lane[j] += term(i + j);
    for (std::size_t j = 0; i < end; ++i, ++j) lane[j] += term(i);
    return add_lanes_pairwise(lane);
}

// The sums of the kSumBlock blocks of [0, n), in order, each handed to
// `out`. A sum over a whole region is the CompensatedSum of all of them in
// order; a piece of a region that starts at a multiple of kSumBlock has the
// same blocks as the whole, so pieces summed apart and combined in order
// (combine_vector_partials) give the same bits as one pass.
template <class Term, class Out>
void block_sums(std::uint64_t n, Term term, Out out) {
    for (std::uint64_t start = 0; start < n; start += kSumBlock) out(block_sum(start, std::min(n, start + kSumBlock), term));
}

// The block sums of a float sum and dot. The terms are made here, next to
// the `__restrict` parameters: GCC keeps the promise for a lambda made in the
// function that has it (and vectorises the lanes), not for one handed in
// from elsewhere (a third slower).
template <class T, class Out>
void sum_blocks(const T* __restrict a, std::uint64_t n, Out out) {
    block_sums(n, [a](std::uint64_t i) { return static_cast<double>(a[i]); }, out);
}

template <class T, class Out>
void dot_blocks(const T* __restrict a, const T* __restrict b, std::uint64_t n, Out out) {
    block_sums(n, [a, b](std::uint64_t i) { return static_cast<double>(a[i]) * static_cast<double>(b[i]); }, out);
}

// Folds fmin (fmax) over the region starting from +inf (-inf): NaNs are
// skipped (`x < acc` is false for a NaN x), so an all-NaN or empty region gives
// the identity. kLanes running minima (element i goes to lane i mod kLanes)
// let the loop vectorise, then the lanes fold in order. Each lane keeps the
// first of equal values, so when -0 and +0 are both the minimum the one that
// comes back depends only on the positions, never on how a region was cut:
// a piece starting at a multiple of kLanes gives the lanes of its elements,
// and feeding the pieces' lanes, in order, through extreme_lanes again (lane
// j of each piece lands in lane j) gives the lanes of the whole region.
template <class T, class Better>
void extreme_lanes(const T* __restrict a, std::uint64_t n, T (&lane)[kLanes], Better better) {
    std::uint64_t i = 0;
    for (; i + kLanes <= n; i += kLanes)
        for (std::size_t j = 0; j < kLanes; ++j) lane[j] = better(a[i + j], lane[j]) ? a[i + j] : lane[j];
    for (std::size_t j = 0; i < n; ++i, ++j) lane[j] = better(a[i], lane[j]) ? a[i] : lane[j];
}

template <class T, class Better>
T fold_lanes(const T (&lane)[kLanes], T identity, Better better) {
    T acc = identity;
    for (T l : lane) acc = better(l, acc) ? l : acc;
    return acc;
}

template <class T>
struct Smaller {
    static constexpr T identity() { return std::numeric_limits<T>::infinity(); }
    bool operator()(T x, T acc) const { return x < acc; }
};

template <class T>
struct Larger {
    static constexpr T identity() { return -std::numeric_limits<T>::infinity(); }
    bool operator()(T x, T acc) const { return x > acc; }
};

// Integer reductions widen each element to 64 bits (signed types sign-extend,
// unsigned ones zero-extend) and wrap in 64 bits.
template <class T>
std::uint64_t widen(T x) {
    if constexpr (std::is_signed_v<T>) return static_cast<std::uint64_t>(static_cast<std::int64_t>(x));
    else return static_cast<std::uint64_t>(x);
}

template <class T>
std::int64_t int_sum(const T* __restrict a, std::uint64_t n) {
    std::uint64_t acc = 0;
    for (std::uint64_t i = 0; i < n; ++i) acc += widen(a[i]);
    return static_cast<std::int64_t>(acc);
}

template <class T>
std::int64_t int_dot(const T* __restrict a, const T* __restrict b, std::uint64_t n) {
    std::uint64_t acc = 0;
    for (std::uint64_t i = 0; i < n; ++i) acc += widen(a[i]) * widen(b[i]);
    return static_cast<std::int64_t>(acc);
}

// Min/max are taken in the element type (cheaper vectors) and widened at the
// end; the empty region gives the 64-bit identity.
template <class T>
std::int64_t int_min(const T* __restrict a, std::uint64_t n) {
    if (n == 0) return std::numeric_limits<std::int64_t>::max();
    T acc = std::numeric_limits<T>::max();
    for (std::uint64_t i = 0; i < n; ++i) acc = a[i] < acc ? a[i] : acc;
    return static_cast<std::int64_t>(widen(acc));
}

template <class T>
std::int64_t int_max(const T* __restrict a, std::uint64_t n) {
    if (n == 0) return std::numeric_limits<std::int64_t>::min();
    T acc = std::numeric_limits<T>::min();
    for (std::uint64_t i = 0; i < n; ++i) acc = a[i] > acc ? a[i] : acc;
    return static_cast<std::int64_t>(widen(acc));
}

// --- matrix multiply ---------------------------------------------------------

// C[m x n] = A[m x k] * B[k x n], row-major. Cache-blocked i-k-j order: the
// innermost loop streams a row of B into a row of C (vectorised), and a block
// of B (kTileK x kTileN) stays in L2 while kTileM rows of A pass over it. Each
// C element still sums its k terms in order 0..k-1, in the element type (as
// a GPU does; integer products and sums wrap).
inline constexpr std::uint64_t kTileM = 64;
inline constexpr std::uint64_t kTileK = 128;
inline constexpr std::uint64_t kTileN = 256;

template <class T>
void matmul(T* __restrict c, const T* __restrict a, const T* __restrict b,
            std::uint64_t m, std::uint64_t k, std::uint64_t n) {
    fill(c, T{0}, m * n);
    for (std::uint64_t i0 = 0; i0 < m; i0 += kTileM) {
        const std::uint64_t i1 = std::min(m, i0 + kTileM);
        for (std::uint64_t k0 = 0; k0 < k; k0 += kTileK) {
            const std::uint64_t k1 = std::min(k, k0 + kTileK);
            for (std::uint64_t j0 = 0; j0 < n; j0 += kTileN) {
                const std::uint64_t j1 = std::min(n, j0 + kTileN);
                for (std::uint64_t i = i0; i < i1; ++i) {
                    T* __restrict c_row = c + i * n;
                    for (std::uint64_t kk = k0; kk < k1; ++kk) {
                        const T a_ik = a[i * k + kk];
                        const T* __restrict b_row = b + kk * n;
                        for (std::uint64_t j = j0; j < j1; ++j)
                            c_row[j] = Add::apply(c_row[j], Mul::apply(a_ik, b_row[j]));
                    }
                }
            }
        }
    }
}

}  // namespace polymer::vector_loops
