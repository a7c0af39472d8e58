// Kernels in which some lanes `exit` early (from an `if`, nested ifs, or a
// loop with break/continue) and lanes read registers they have not written,
// which start at 0 in every lane (docs/kernels.md, "The lane model"), each
// with its results worked out here lane by lane. Every kernel comes narrow,
// wide over 32-bit buffers and wide over 64-bit ones (CPU blocks of 256, 512
// and 256 lanes), and the inputs choose which lanes exit: whole blocks,
// scattered lanes, none or all. tests/vm/exit_lanes_test.cpp runs them on
// the block interpreter, backend_differential_test.cpp on Vulkan.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "vm/kernel_launch.h"

namespace polymer::test::exit_lanes {

enum class Lanes { Narrow, Wide32, Wide64 };
inline constexpr Lanes kAllLanes[] = {Lanes::Narrow, Lanes::Wide32, Lanes::Wide64};
inline const char* lanes_name(Lanes l) {
    return l == Lanes::Narrow ? "narrow" : l == Lanes::Wide32 ? "wide, 32-bit buffers" : "wide, 64-bit buffers";
}

// What an output element holds until a lane stores to it.
inline constexpr double kUntouched = -7;

// A buffer of any element type; the values used here are exact in each.
struct Buffer {
    ElemType type = ElemType::I32;
    std::uint64_t length = 0;
    std::vector<std::uint64_t> storage;  // 8-byte aligned for every type

    Buffer(ElemType t, std::uint64_t n, double fill) : type(t), length(n), storage(n + 1) {
        for (std::uint64_t i = 0; i < n; ++i) set(i, fill);
    }
    void set(std::uint64_t i, double v) {
        char* p = reinterpret_cast<char*>(storage.data()) + i * elem_size(type);
        switch (type) {
        case ElemType::I32: { const auto x = static_cast<std::int32_t>(v); std::memcpy(p, &x, 4); break; }
        case ElemType::I64: { const auto x = static_cast<std::int64_t>(v); std::memcpy(p, &x, 8); break; }
        case ElemType::F32: { const auto x = static_cast<float>(v); std::memcpy(p, &x, 4); break; }
        case ElemType::F64: std::memcpy(p, &v, 8); break;
        default: break;  // not used here
        }
    }
    double get(std::uint64_t i) const {
        const char* p = reinterpret_cast<const char*>(storage.data()) + i * elem_size(type);
        switch (type) {
        case ElemType::I32: { std::int32_t x; std::memcpy(&x, p, 4); return x; }
        case ElemType::I64: { std::int64_t x; std::memcpy(&x, p, 8); return static_cast<double>(x); }
        case ElemType::F32: { float x; std::memcpy(&x, p, 4); return x; }
        case ElemType::F64: { double x; std::memcpy(&x, p, 8); return x; }
        default: return 0;
        }
    }
    KernelArg arg() { return KernelArg{length == 0 ? nullptr : storage.data(), length, type, 0}; }
};

// One launch of one kernel: its buffers (inputs filled, outputs kUntouched),
// its i32 uniforms, and what every lane stores. Lane g writes element g of
// each output and nothing else.
struct Case {
    std::string what;
    std::uint64_t lanes = 0;
    std::vector<Buffer> buffers;          // the kernel's buffer parameters, in order
    std::vector<std::int32_t> uniforms;   // then its uniforms
    std::vector<std::size_t> outputs;     // which buffers the kernel writes
    std::vector<std::vector<double>> want;  // per output: element g after lane g ran

    void reset_outputs() {
        for (std::size_t o : outputs)
            for (std::uint64_t i = 0; i < lanes; ++i) buffers[o].set(i, kUntouched);
    }
    KernelLaunch launch(const Kernel& k, std::uint64_t begin, std::uint64_t end) {
        KernelLaunch l;
        l.kernel = &k;
        for (Buffer& b : buffers) l.args.push_back(b.arg());
        for (std::int32_t u : uniforms) l.args.push_back(KernelArg{nullptr, 0, ElemType::I32, static_cast<std::uint32_t>(u)});
        l.count = lanes;
        l.begin = begin;
        l.end = end;
        return l;
    }
    // "" when lanes [begin, end) stored what they should and no other
    // element changed, else the first difference.
    std::string mismatch(std::uint64_t begin, std::uint64_t end) const {
        for (std::size_t j = 0; j < outputs.size(); ++j)
            for (std::uint64_t g = 0; g < lanes; ++g) {
                const double expected = g >= begin && g < end ? want[j][g] : kUntouched;
                const double got = buffers[outputs[j]].get(g);
                if (got != expected && !(std::isnan(got) && std::isnan(expected)))
                    return what + ": output " + std::to_string(j) + " element " + std::to_string(g) + " is " +
                           std::to_string(got) + ", want " + std::to_string(expected);
            }
        return "";
    }
};

// `text` with $F / $I the float / integer buffer type and $WIDE the
// directive where wide.
inline std::string kernel_source(std::string text, Lanes l) {
    auto replace = [&](const std::string& from, const std::string& to) {
        for (std::size_t p = text.find(from); p != std::string::npos; p = text.find(from, p + to.size()))
            text.replace(p, from.size(), to);
    };
    replace("$F", l == Lanes::Wide64 ? "f64" : "f32");
    replace("$I", l == Lanes::Wide64 ? "i64" : "i32");
    replace("$WIDE", l == Lanes::Narrow ? "" : "        .wide");
    return text;
}
inline ElemType float_type(Lanes l) { return l == Lanes::Wide64 ? ElemType::F64 : ElemType::F32; }
inline ElemType int_type(Lanes l) { return l == Lanes::Wide64 ? ElemType::I64 : ElemType::I32; }

// Which lanes do what: a value per lane, the kernel's `v` or `ex` input.
struct Pattern {
    const char* what;
    std::int32_t (*value)(std::uint64_t g);
};

// --- exit_early: repro of the Jacobi-style "boundary lanes store and exit" --

// Lane g with ex[g] != 0 stores f0 and r7, never written (0), and exits; the
// others compute f2 = 0 + x[g], f0 = 0 + f2 (r9, r7 likewise from xi[g]) and
// store them. The last op's result goes straight into yi (a fused store).
inline constexpr const char* kExitEarly = R"(
.kernel exit_early (in ex: i32[i], in x: $F[i], out y: $F[i], in xi: $I[i], out yi: $I[i])
$WIDE
        gid     r0
        ld      r1, ex[r0]
        if      r1
            stf     y[r0], f0
            st      yi[r0], r7
            exit
        end
        ldf     f3, x[r0]
        fadd    f2, f2, f3
        fadd    f0, f0, f2
        stf     y[r0], f0
        ld      r8, xi[r0]
        add     r9, r9, r8
        add     r7, r7, r9
        st      yi[r0], r7
.end
)";

inline constexpr std::uint64_t kRow = 1024, kExitLanes = 4 * kRow;
inline const Pattern kExitEarlyPatterns[] = {
    {"rows 0 and 3 of 1024 exit", [](std::uint64_t g) { return std::int32_t{g / kRow == 0 || g / kRow == 3}; }},
    {"every third 256-lane block exits", [](std::uint64_t g) { return std::int32_t{g / 256 % 3 == 1}; }},
    {"every 97th lane exits", [](std::uint64_t g) { return std::int32_t{g % 97 == 5}; }},
    {"no lane exits", [](std::uint64_t) { return std::int32_t{0}; }},
    {"every lane exits", [](std::uint64_t) { return std::int32_t{1}; }},
};

inline Case exit_early_case(Lanes l, const Pattern& p) {
    const std::uint64_t n = kExitLanes;
    Case c;
    c.what = std::string("exit_early (") + lanes_name(l) + "), " + p.what;
    c.lanes = n;
    c.buffers = {Buffer(ElemType::I32, n, 0), Buffer(float_type(l), n, 0), Buffer(float_type(l), n, kUntouched),
                 Buffer(int_type(l), n, 0), Buffer(int_type(l), n, kUntouched)};
    c.outputs = {2, 4};
    c.want.assign(2, std::vector<double>(n));
    for (std::uint64_t g = 0; g < n; ++g) {
        const bool exits = p.value(g) != 0;
        const double x = 1.0 + static_cast<double>(g % 5) * 0.5;
        const double xi = 1 + static_cast<double>(g % 11);
        c.buffers[0].set(g, exits);
        c.buffers[1].set(g, x);
        c.buffers[3].set(g, xi);
        c.want[0][g] = exits ? 0 : x;
        c.want[1][g] = exits ? 0 : xi;
    }
    return c;
}

// --- jacobi: one step on a w x h grid; boundary lanes copy and exit ---------

inline constexpr const char* kJacobi = R"(
.kernel jacobi (in x: $F[], out y: $F[], w: i32, h: i32)
$WIDE
        gid     r0
        ldp     r1, w
        ldp     r2, h
        div     r3, r0, r1          ; row
        rem     r4, r0, r1          ; column
        li      r5, 0
        eq      r6, r3, r5
        eq      r7, r4, r5
        or      r6, r6, r7
        addi    r8, r2, -1
        eq      r7, r3, r8
        or      r6, r6, r7
        addi    r8, r1, -1
        eq      r7, r4, r8
        or      r6, r6, r7
        if      r6                  ; a boundary lane copies its element
            ldf     f0, x[r0]
            stf     y[r0], f0
            exit
        end
        addi    r9, r0, -1
        ldf     f1, x[r9]
        addi    r9, r0, 1
        ldf     f2, x[r9]
        sub     r9, r0, r1
        ldf     f3, x[r9]
        add     r9, r0, r1
        ldf     f4, x[r9]
        fadd    f0, f1, f2
        fadd    f5, f3, f4
        fadd    f0, f0, f5
        lif     f6, 0.25
        fmul    f0, f0, f6
        stf     y[r0], f0
.end
)";

// Rows longer than a 512-lane block, so some blocks hold no boundary lane.
inline Case jacobi_case(Lanes l) {
    const std::int32_t w = 1100, h = 6;
    const std::uint64_t n = std::uint64_t{w} * h;
    Case c;
    c.what = std::string("jacobi (") + lanes_name(l) + ")";
    c.lanes = n;
    c.buffers = {Buffer(float_type(l), n, 0), Buffer(float_type(l), n, kUntouched)};
    c.uniforms = {w, h};
    c.outputs = {1};
    std::vector<double> x(n);
    for (std::uint64_t g = 0; g < n; ++g) {
        x[g] = static_cast<double>(g * 37 % 101) * 0.5;  // halves: every sum below is exact
        c.buffers[0].set(g, x[g]);
    }
    c.want.assign(1, std::vector<double>(n));
    for (std::uint64_t g = 0; g < n; ++g) {
        const std::uint64_t row = g / w, col = g % w;
        const bool boundary = row == 0 || col == 0 || row == h - 1 || col == w - 1;
        c.want[0][g] = boundary ? x[g] : ((x[g - 1] + x[g + 1]) + (x[g - w] + x[g + w])) * 0.25;
    }
    return c;
}

// --- nested_exit: exit from an if inside an if, and from an else ------------

inline constexpr const char* kNestedExit = R"(
.kernel nested_exit (in v: i32[i], out o: $I[i], out of: $F[i])
$WIDE
        gid     r0
        ld      r1, v[r0]
        andi    r2, r1, 1
        if      r2
            andi    r3, r1, 2
            if      r3
                st      o[r0], r5   ; r5, f1: still 0
                stf     of[r0], f1
                exit
            else
                addi    r5, r5, 10
            end
        else
            andi    r3, r1, 4
            if      r3
                exit                ; stores nothing
            end
        end
        addi    r5, r5, 1
        st      o[r0], r5
        itof    f1, r5
        fadd    f2, f1, f1
        stf     of[r0], f2
.end
)";

inline const Pattern kPathPatterns[] = {
    {"every path, lane by lane", [](std::uint64_t g) { return static_cast<std::int32_t>(g % 8); }},
    {"one path per 32 lanes", [](std::uint64_t g) { return static_cast<std::int32_t>(g / 32 % 8); }},
    {"one path per 256 lanes", [](std::uint64_t g) { return static_cast<std::int32_t>(g / 256 % 8); }},
    {"one path per 512 lanes", [](std::uint64_t g) { return static_cast<std::int32_t>(g / 512 % 8); }},
    {"every lane 1", [](std::uint64_t) { return std::int32_t{1}; }},
    {"every lane 3", [](std::uint64_t) { return std::int32_t{3}; }},
    {"every lane 4", [](std::uint64_t) { return std::int32_t{4}; }},
};

inline Case nested_exit_case(Lanes l, const Pattern& p) {
    const std::uint64_t n = kExitLanes;
    Case c;
    c.what = std::string("nested_exit (") + lanes_name(l) + "), " + p.what;
    c.lanes = n;
    c.buffers = {Buffer(ElemType::I32, n, 0), Buffer(int_type(l), n, kUntouched), Buffer(float_type(l), n, kUntouched)};
    c.outputs = {1, 2};
    c.want.assign(2, std::vector<double>(n));
    for (std::uint64_t g = 0; g < n; ++g) {
        const std::int32_t v = p.value(g);
        c.buffers[0].set(g, v);
        double o = 0, of = 0;
        if ((v & 1) != 0 && (v & 2) != 0) {
            o = of = 0;
        } else if ((v & 1) == 0 && (v & 4) != 0) {
            o = of = kUntouched;
        } else {
            o = (v & 1) != 0 ? 11 : 1;
            of = 2 * o;
        }
        c.want[0][g] = o;
        c.want[1][g] = of;
    }
    return c;
}

// --- loop_exit: exit from ifs inside a loop with break and continue ---------

inline constexpr const char* kLoopExit = R"(
.kernel loop_exit (in v: i32[i], out o: $I[i], out of: $F[i])
$WIDE
        gid     r0
        ld      r1, v[r0]           ; this lane's trip count
        li      r3, 0               ; k
        loop
            addi    r3, r3, 1
            lt      r6, r1, r3
            if      r6
                break
            end
            andi    r7, r3, 3
            if      r7
                andi    r8, r1, 7
                eq      r8, r8, r3
                if      r8          ; k == v & 7: store r9 + 1000 and f1, exit
                    addi    r10, r9, 1000
                    st      o[r0], r10
                    stf     of[r0], f1
                    exit
                end
                add     r9, r9, r3  ; r9, f1: 0 before the first write
                continue
            else
                itof    f2, r3
                fadd    f1, f1, f2
            end
            addi    r9, r9, 100
        end
        st      o[r0], r9
        stf     of[r0], f1
.end
)";

inline const Pattern kTripPatterns[] = {
    {"trip counts lane by lane", [](std::uint64_t g) { return static_cast<std::int32_t>(g % 40); }},
    {"one trip count per 32 lanes", [](std::uint64_t g) { return static_cast<std::int32_t>(g / 32 % 40); }},
    {"every lane 12 (none exits)", [](std::uint64_t) { return std::int32_t{12}; }},
    {"every lane 13 (all exit at k = 5)", [](std::uint64_t) { return std::int32_t{13}; }},
};

inline Case loop_exit_case(Lanes l, const Pattern& p) {
    const std::uint64_t n = kExitLanes;
    Case c;
    c.what = std::string("loop_exit (") + lanes_name(l) + "), " + p.what;
    c.lanes = n;
    c.buffers = {Buffer(ElemType::I32, n, 0), Buffer(int_type(l), n, kUntouched), Buffer(float_type(l), n, kUntouched)};
    c.outputs = {1, 2};
    c.want.assign(2, std::vector<double>(n));
    for (std::uint64_t g = 0; g < n; ++g) {
        const std::int32_t v = p.value(g);
        c.buffers[0].set(g, v);
        std::int32_t k = 0, r9 = 0;
        double f1 = 0;
        for (;;) {
            ++k;
            if (v < k) break;
            if ((k & 3) != 0) {
                if ((v & 7) == k) {
                    r9 += 1000;  // the exit's store
                    break;
                }
                r9 += k;
                continue;
            }
            f1 += k;
            r9 += 100;
        }
        c.want[0][g] = r9;
        c.want[1][g] = f1;
    }
    return c;
}

// Every case above, for one lane width.
inline std::vector<std::pair<const char*, Case>> all_cases(Lanes l) {
    std::vector<std::pair<const char*, Case>> out;
    for (const Pattern& p : kExitEarlyPatterns) out.emplace_back(kExitEarly, exit_early_case(l, p));
    out.emplace_back(kJacobi, jacobi_case(l));
    for (const Pattern& p : kPathPatterns) out.emplace_back(kNestedExit, nested_exit_case(l, p));
    for (const Pattern& p : kTripPatterns) out.emplace_back(kLoopExit, loop_exit_case(l, p));
    return out;
}

}  // namespace polymer::test::exit_lanes
