// The block interpreter's lane masks (block_interpreter.h): one int32 per
// lane, 0 (off) or -1 (on). A mask is a pointer to its lanes: the mask's own
// storage, or one of two shared constants, every lane on or every lane off.
// Each op below returns a constant whenever its result is one, so while the
// running lanes of a block take the same side of every `if` (and break,
// continue or exit together) the masks stay constants: the control flow then
// compares pointers instead of looping over lanes, and the ops that write
// registers see every lane on and blend nothing.
//
// An op writes only its own storage `own`, which none of its inputs may be
// (hence __restrict: GCC vectorises the loops). Inputs are read for n lanes.
#pragma once

#include <array>
#include <cstdint>

namespace polymer::lane_masks {

using Mask = const std::int32_t*;

inline constexpr unsigned kMaxLanes = 512;  // the largest block (block_interpreter.h)

alignas(64) inline constexpr std::array<std::int32_t, kMaxLanes> kOnLanes = [] {
    std::array<std::int32_t, kMaxLanes> a{};
    a.fill(-1);
    return a;
}();
alignas(64) inline constexpr std::array<std::int32_t, kMaxLanes> kOffLanes{};

inline Mask all_on() { return kOnLanes.data(); }
inline Mask all_off() { return kOffLanes.data(); }
inline bool is_constant(Mask m) { return m == all_on() || m == all_off(); }

// The n lanes just written to `own`, as a mask; `on`: how many are on.
inline Mask summarize(const std::int32_t* own, unsigned n, unsigned on) {
    return on == 0 ? all_off() : on == n ? all_on() : own;
}

// a & ~(b | c | d). `on`: how many lanes of the result are on.
inline Mask and_not(std::int32_t* __restrict own, unsigned n, Mask a, Mask b, Mask c, Mask d, unsigned& on) {
    if (a == all_off() || b == all_on() || c == all_on() || d == all_on()) {
        on = 0;
        return all_off();
    }
    if (b == all_off() && c == all_off() && d == all_off() && a == all_on()) {
        on = n;
        return all_on();
    }
    const std::int32_t *__restrict pa = a, *__restrict pb = b, *__restrict pc = c, *__restrict pd = d;
    unsigned count = 0;
    for (unsigned i = 0; i < n; ++i) {
        const std::int32_t v = pa[i] & ~(pb[i] | pc[i] | pd[i]);
        own[i] = v;
        count += static_cast<unsigned>(v & 1);
    }
    on = count;
    return summarize(own, n, count);
}

// A copy of m: m itself when a constant (a mask of another slot's storage
// is copied, since that slot may change first).
inline Mask copy(std::int32_t* __restrict own, unsigned n, Mask m) {
    if (is_constant(m)) return m;
    const std::int32_t* __restrict p = m;
    for (unsigned i = 0; i < n; ++i) own[i] = p[i];
    return own;
}

// to | m, where `to` is a constant or `own` (a mask that gathers lanes:
// those that broke, continued or exited).
inline Mask or_into(std::int32_t* __restrict own, unsigned n, Mask to, Mask m) {
    if (m == all_off() || to == all_on()) return to;
    if (m == all_on()) return all_on();
    if (to == all_off()) return copy(own, n, m);
    const std::int32_t* __restrict p = m;
    unsigned count = 0;
    for (unsigned i = 0; i < n; ++i) {
        const std::int32_t v = own[i] | p[i];
        own[i] = v;
        count += static_cast<unsigned>(v & 1);
    }
    return summarize(own, n, count);
}

// An `if`'s condition: the lanes of m whose x is not 0. `on`: how many.
template <class Int>
Mask select_nonzero(std::int32_t* __restrict own, unsigned n, Mask m, const Int* __restrict x, unsigned& on) {
    const std::int32_t* __restrict p = m;
    unsigned count = 0;
    for (unsigned i = 0; i < n; ++i) {
        const std::int32_t v = x[i] != 0 ? p[i] : 0;
        own[i] = v;
        count += static_cast<unsigned>(v & 1);
    }
    on = count;
    return summarize(own, n, count);
}

}  // namespace polymer::lane_masks
