// The value each scalar opcode computes, as plain functions of its operand
// values (the `semantics` column of isa/opcodes.def, made executable). The
// interpreter and the out-of-order engine both call these; none of them has
// an undefined case: integer arithmetic is done on uint64_t and wraps.
// Division by zero is the caller's check (it traps before calling div/rem).
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

namespace polymer::sem {

using i64 = std::int64_t;
using u64 = std::uint64_t;

constexpr i64 wrap(u64 v) { return static_cast<i64>(v); }
constexpr i64 add(i64 b, i64 c) { return wrap(u64(b) + u64(c)); }
constexpr i64 sub(i64 b, i64 c) { return wrap(u64(b) - u64(c)); }
constexpr i64 mul(i64 b, i64 c) { return wrap(u64(b) * u64(c)); }
constexpr i64 neg(i64 b) { return wrap(0 - u64(b)); }

// c != 0. INT64_MIN / -1 wraps to INT64_MIN; INT64_MIN rem -1 is 0.
constexpr i64 div(i64 b, i64 c) { return c == -1 ? neg(b) : b / c; }
constexpr i64 rem(i64 b, i64 c) { return c == -1 ? 0 : b % c; }
constexpr i64 divu(i64 b, i64 c) { return wrap(u64(b) / u64(c)); }
constexpr i64 remu(i64 b, i64 c) { return wrap(u64(b) % u64(c)); }

// Shift amounts outside 0..63 (read as unsigned) shift everything out.
constexpr i64 shl(i64 b, i64 c) { return u64(c) < 64 ? wrap(u64(b) << u64(c)) : 0; }
constexpr i64 shr(i64 b, i64 c) { return u64(c) < 64 ? wrap(u64(b) >> u64(c)) : 0; }
constexpr i64 sar(i64 b, i64 c) { return u64(c) < 64 ? b >> u64(c) : (b < 0 ? -1 : 0); }

constexpr i64 min(i64 b, i64 c) { return b < c ? b : c; }
constexpr i64 max(i64 b, i64 c) { return b < c ? c : b; }

// Truncates toward zero, saturating; NaN gives 0.
inline i64 ftoi(double x) {
    if (std::isnan(x)) return 0;
    if (x >= 9223372036854775808.0) return std::numeric_limits<i64>::max();
    if (x <= -9223372036854775808.0) return std::numeric_limits<i64>::min();
    return static_cast<i64>(x);
}

// A NaN operand yields the other; of two equal operands (+0 and -0) the
// first. Written out rather than std::fmin, whose answer for signed zeros
// depends on whether the compiler expands it inline or calls libm.
inline double fmin(double b, double c) { return std::isnan(b) ? c : std::isnan(c) ? b : (c < b ? c : b); }
inline double fmax(double b, double c) { return std::isnan(b) ? c : std::isnan(c) ? b : (b < c ? c : b); }

}  // namespace polymer::sem
