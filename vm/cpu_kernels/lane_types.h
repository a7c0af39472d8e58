// The two lane widths of the block interpreter (block_interpreter.h): a
// kernel's registers, and the bodies of the ops whose meaning depends on the
// width. The interpreter is one template instantiated for each, so a narrow
// kernel runs exactly the code it ran before wide kernels existed.
//
//   NarrowLanes  r: int32, f: binary32, the GPU's semantics (shift counts
//                & 31, GLSL min/max; isa/kernel_ops.def)
//   WideLanes    r: int64, f: binary64, the procedure opcodes' semantics
//                (vm/scalar_semantics.h), except that an integer division
//                or remainder by zero gives 0 (docs/kernels.md, "Wide kernels")
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "vm/scalar_semantics.h"

namespace polymer::lanes {

// A run of lanes first, first+1, ... fits the register type, when first + k
// is its start: that start, else nullopt-like `kNoSeq` (the lanes would wrap,
// which a sequence cannot describe). The interpreter's "gid + constant" tag.
inline constexpr std::int64_t kNoSeq = std::numeric_limits<std::int64_t>::min();

template <class Int>
std::int64_t shifted_seq(std::int64_t first, std::int64_t k, unsigned n) {
    std::int64_t start = 0, last = 0;
    if (__builtin_add_overflow(first, k, &start) || __builtin_add_overflow(start, std::int64_t{n} - 1, &last))
        return kNoSeq;
    if (start < std::numeric_limits<Int>::min() || last > std::numeric_limits<Int>::max()) return kNoSeq;
    return start;
}

struct NarrowLanes {
    using Int = std::int32_t;
    using UInt = std::uint32_t;
    using Flt = float;
    static constexpr bool kWide = false;

    static Int add(Int x, Int y) { return static_cast<Int>(static_cast<UInt>(x) + static_cast<UInt>(y)); }
    static Int sub(Int x, Int y) { return static_cast<Int>(static_cast<UInt>(x) - static_cast<UInt>(y)); }
    static Int mul(Int x, Int y) { return static_cast<Int>(static_cast<UInt>(x) * static_cast<UInt>(y)); }
    // 0 for a zero divisor; INT32_MIN / -1 wraps to INT32_MIN (and its rem is 0).
    static Int div(Int x, Int y) {
        if (y == 0) return 0;
        if (y == -1) return sub(0, x);
        return x / y;
    }
    static Int rem(Int x, Int y) { return (y == 0 || y == -1) ? 0 : x % y; }
    static Int divu(Int x, Int y) { return y == 0 ? 0 : static_cast<Int>(static_cast<UInt>(x) / static_cast<UInt>(y)); }
    static Int remu(Int x, Int y) { return y == 0 ? 0 : static_cast<Int>(static_cast<UInt>(x) % static_cast<UInt>(y)); }
    static Int shl(Int x, Int n) { return static_cast<Int>(static_cast<UInt>(x) << (n & 31)); }
    static Int shr(Int x, Int n) { return static_cast<Int>(static_cast<UInt>(x) >> (n & 31)); }
    static Int sar(Int x, Int n) { return x >> (n & 31); }
    static Int min(Int x, Int y) { return x < y ? x : y; }
    static Int max(Int x, Int y) { return x < y ? y : x; }
    static bool below_unsigned(Int x, Int y) { return static_cast<UInt>(x) < static_cast<UInt>(y); }
    static Int ftoi(Flt f) {
        if (std::isnan(f)) return 0;
        if (f >= 2147483648.0f) return std::numeric_limits<Int>::max();
        if (f < -2147483648.0f) return std::numeric_limits<Int>::min();
        return static_cast<Int>(f);
    }
    // GLSL min/max: min(x, y) = y < x ? y : x, max(x, y) = x < y ? y : x.
    static Flt fmin(Flt x, Flt y) { return y < x ? y : x; }
    static Flt fmax(Flt x, Flt y) { return x < y ? y : x; }
    // Indices are i32, so a length past INT32_MAX is as good as 2^31: a
    // negative index cast to u32 is then out of range by one compare.
    static UInt index_limit(std::uint64_t length) {
        return static_cast<UInt>(std::min<std::uint64_t>(length, std::uint64_t{1} << 31));
    }
};

struct WideLanes {
    using Int = std::int64_t;
    using UInt = std::uint64_t;
    using Flt = double;
    static constexpr bool kWide = true;

    static Int add(Int x, Int y) { return sem::add(x, y); }
    static Int sub(Int x, Int y) { return sem::sub(x, y); }
    static Int mul(Int x, Int y) { return sem::mul(x, y); }
    // The procedure semantics, with a zero divisor giving 0 instead of a
    // trap (the kernels made from loops never divide by zero: kloop checks).
    static Int div(Int x, Int y) { return y == 0 ? 0 : sem::div(x, y); }
    static Int rem(Int x, Int y) { return y == 0 ? 0 : sem::rem(x, y); }
    static Int divu(Int x, Int y) { return y == 0 ? 0 : sem::divu(x, y); }
    static Int remu(Int x, Int y) { return y == 0 ? 0 : sem::remu(x, y); }
    static Int shl(Int x, Int n) { return sem::shl(x, n); }
    static Int shr(Int x, Int n) { return sem::shr(x, n); }
    static Int sar(Int x, Int n) { return sem::sar(x, n); }
    static Int min(Int x, Int y) { return sem::min(x, y); }
    static Int max(Int x, Int y) { return sem::max(x, y); }
    static bool below_unsigned(Int x, Int y) { return static_cast<UInt>(x) < static_cast<UInt>(y); }
    static Int ftoi(Flt f) { return sem::ftoi(f); }
    static Flt fmin(Flt x, Flt y) { return sem::fmin(x, y); }
    static Flt fmax(Flt x, Flt y) { return sem::fmax(x, y); }
    // A negative index cast to u64 is past any length.
    static UInt index_limit(std::uint64_t length) { return length; }
};

}  // namespace polymer::lanes
