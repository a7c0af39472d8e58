// The trip count in closed form: the values the induction register takes are
// f(k) = i0 + k*step, monotone in k, so the loop ends at the first k >= k0
// where f(k) falls in the test's false set (at most two intervals of int64),
// unless f leaves the int64 range first. All of it in 128-bit arithmetic,
// where nothing here can overflow (|k*step| < 2^65 for the k that matter).
#include "isa/loop_trip.h"

#include <algorithm>
#include <limits>

#include "isa/byte_io.h"
#include "isa/opcodes.h"

namespace polymer {
namespace {

__extension__ using i128 = __int128;

constexpr i128 kMin = std::numeric_limits<std::int64_t>::min();
constexpr i128 kMax = std::numeric_limits<std::int64_t>::max();
constexpr i128 kTwo64 = static_cast<i128>(1) << 64;

struct Interval {
    i128 lo, hi;  // inclusive; empty when lo > hi
};

struct FalseSet {
    Interval part[2] = {{1, 0}, {1, 0}};
};

// The int64 values whose unsigned reading lies in [ulo, uhi] (0 <= ulo, uhi < 2^64).
FalseSet unsigned_set(i128 ulo, i128 uhi) {
    FalseSet s;
    if (ulo > uhi) return s;
    s.part[0] = {ulo, std::min(uhi, kMax)};                          // the non-negative ones
    s.part[1] = {std::max(ulo, kMax + 1) - kTwo64, uhi - kTwo64};    // 2^63.. read back as negatives
    return s;
}

// Where the test fails, as int64 values of the induction register.
FalseSet false_set(LoopCompare c, std::int64_t bound) {
    const i128 b = bound;
    const i128 ub = bound < 0 ? b + kTwo64 : b;  // the bound read as unsigned
    FalseSet s;
    switch (c) {
    case LoopCompare::Lt: s.part[0] = {b, kMax}; break;
    case LoopCompare::Le: s.part[0] = {b + 1, kMax}; break;
    case LoopCompare::Gt: s.part[0] = {kMin, b}; break;
    case LoopCompare::Ge: s.part[0] = {kMin, b - 1}; break;
    case LoopCompare::Ne: s.part[0] = {b, b}; break;
    case LoopCompare::Ltu: return unsigned_set(ub, kTwo64 - 1);
    case LoopCompare::Leu: return unsigned_set(ub + 1, kTwo64 - 1);
    case LoopCompare::Gtu: return unsigned_set(0, ub);
    case LoopCompare::Geu: return unsigned_set(0, ub - 1);
    }
    return s;
}

// ceil(a / d) for d > 0.
i128 ceil_div(i128 a, i128 d) { return a >= 0 ? (a + d - 1) / d : -((-a) / d); }

// The first k >= k0 with i0 + k*step in [lo, hi]; -1 when there is none.
i128 first_hit(i128 i0, i128 step, i128 k0, Interval in) {
    if (in.lo > in.hi) return -1;
    // Increasing: the first k reaching lo; decreasing: the first reaching hi.
    const i128 k = std::max(k0, step > 0 ? ceil_div(in.lo - i0, step) : ceil_div(i0 - in.hi, -step));
    const i128 v = i0 + k * step;
    return v >= in.lo && v <= in.hi ? k : -1;
}

}  // namespace

bool loop_continues(LoopCompare compare, std::int64_t i, std::int64_t b) {
    const auto ui = static_cast<std::uint64_t>(i), ub = static_cast<std::uint64_t>(b);
    switch (compare) {
    case LoopCompare::Lt: return i < b;
    case LoopCompare::Le: return i <= b;
    case LoopCompare::Gt: return i > b;
    case LoopCompare::Ge: return i >= b;
    case LoopCompare::Ltu: return ui < ub;
    case LoopCompare::Leu: return ui <= ub;
    case LoopCompare::Gtu: return ui > ub;
    case LoopCompare::Geu: return ui >= ub;
    case LoopCompare::Ne: return i != b;
    }
    return false;
}

std::optional<std::uint64_t> loop_trip_count(LoopCompare compare, bool tested_first, std::int64_t step,
                                             std::int64_t i0, std::int64_t b) {
    if (step == 0) return std::nullopt;
    const i128 s = step, start = i0, k0 = tested_first ? 0 : 1;
    // The first k at which the register leaves the int64 range.
    const i128 wrap = first_hit(start, s, k0, s > 0 ? Interval{kMax + 1, kMax + kTwo64} : Interval{kMin - kTwo64, kMin - 1});
    i128 end = -1;
    for (const Interval& part : false_set(compare, b).part) {
        const i128 k = first_hit(start, s, k0, part);
        if (k >= 0 && (end < 0 || k < end)) end = k;
    }
    // No false value before the wrap: the register would wrap (and the loop might never end).
    if (end < 0 || (wrap >= 0 && wrap <= end)) return std::nullopt;
    return static_cast<std::uint64_t>(end);
}

bool is_loop_word(Word w) {
    return is_valid_op(word_op(w)) && op_info(static_cast<Op>(word_op(w))).format == Format::Loop;
}

std::string describe_loop(const Module& m, const LoopKernel& l) {
    const std::string kernel = l.kernel < m.kernels.size() ? "'" + m.kernels[l.kernel].name + "'" : pbc::cat(l.kernel);
    std::uint32_t first = 0, last = 0;
    for (std::uint64_t pc = l.header; pc < l.end && pc < m.lines.size(); ++pc) {
        const std::uint32_t line = m.lines[pc].line;
        if (line == 0) continue;
        first = first == 0 ? line : std::min(first, line);
        last = std::max(last, line);
    }
    const std::string where = first != 0 ? pbc::cat("lines ", first, "-", last) : pbc::cat("words ", l.header, "-", l.end - 1);
    return pbc::cat("kernel ", kernel, ", the loop at ", where);
}

}  // namespace polymer
