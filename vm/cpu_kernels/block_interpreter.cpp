#include "vm/cpu_kernels/block_interpreter.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <bit>
#include <bitset>
#include <cstddef>
#include <cmath>
#include <limits>
#include <vector>

#include "vm/cpu_kernels/lane_masks.h"
#include "vm/cpu_kernels/lane_types.h"
#include "vm/cpu_variants.h"
#include "vm/interrupt.h"

namespace polymer {
namespace {

using lanes::kNoSeq;
using lanes::NarrowLanes;
using lanes::WideLanes;
using lane_masks::Mask;

// Lanes per register and mask (Scratch::stride): B, or kWideBlockLanes for a
// straight-line wide kernel whose buffers all have 32-bit elements, whose
// blocks are larger (the other kernels' registers stay as close together as
// a narrow block's).
constexpr unsigned B = kBlockLanes;
static_assert(B <= lane_masks::kMaxLanes && kWideBlockLanes <= lane_masks::kMaxLanes && kLoopBlockLanes <= B);
constexpr std::uint64_t kNotUniform = std::numeric_limits<std::uint64_t>::max();

// The bits a lane value is remembered by (Scratch::iuni, funi).
template <class T>
std::uint64_t value_bits(T v) {
    if constexpr (sizeof(T) == 4) return std::bit_cast<std::uint32_t>(v);
    else return std::bit_cast<std::uint64_t>(v);
}

// Per-thread storage for one block: lane registers [register][lane], the
// storage of the masks (lane_masks.h) and the frames' masks, and per register:
//   - where its lanes are read from: its own storage, or (after a load of
//     consecutive elements of a buffer the kernel never writes) the buffer
//     itself, so such a load copies nothing;
//   - seq: "holds first, first+1, ..." (integers), which makes a load or
//     store through it a contiguous copy;
//   - uniform: "own storage holds this one value in all kBlockLanes lanes",
//     so the next block's li/lif/ldp/ldpf (or zeroing) of the same value
//     writes nothing, and `add` of it to a sequence stays a sequence.
//     kNotUniform when unknown (a wide lane whose bits are all ones is never
//     remembered);
//   - in a wide kernel, a float register may be a *view*: a run of f32
//     elements not yet widened (a contiguous `ldf` from an f32 buffer in a
//     block where every lane runs), bit r of `views`. The float arithmetic
//     reads a view as it is, converting each element as the load would;
//     anything else widens it into the register's own storage first.
//     `writable_views` are those of a buffer the kernel may write: they are
//     widened before any store that could change the elements.
template <class L>
struct Scratch {
    using Int = typename L::Int;
    using Flt = typename L::Flt;
    std::vector<Int> ints;
    std::vector<Flt> floats;
    std::vector<std::int32_t> masks;  // storage: exec, exited, then 3 per frame
    std::vector<Mask> frame_masks;    // 3 per frame (BlockRun::frame)
    std::vector<Int*> ip;
    std::vector<Flt*> fp;
    std::vector<std::int64_t> seq;
    std::vector<std::uint64_t> iuni, funi;
    std::vector<std::uint32_t> iterations;  // per lane: loop iterations started (kernels with a loop)
    std::array<const float*, 32> view{};     // float registers are dense numbers < 32
    std::uint32_t views = 0, writable_views = 0;
    unsigned stride = B;  // lanes per register and mask: a block's lanes, at most

    void fit(const DecodedKernel& k, unsigned lanes) {
        stride = lanes;
        auto grow = [](auto& v, std::size_t n) { if (v.size() < n) v.resize(n); };
        grow(ints, std::size_t{k.int_regs} * stride);
        grow(floats, std::size_t{k.float_regs} * stride);
        grow(masks, (2 + 3 * std::size_t{k.frames}) * stride);
        grow(frame_masks, 3 * std::size_t{k.frames});
        grow(ip, k.int_regs);
        grow(fp, k.float_regs);
        grow(seq, k.int_regs);
        grow(iuni, k.int_regs);
        grow(funi, k.float_regs);
        grow(iterations, stride);
        // Another kernel may have used this thread's storage since.
        std::fill_n(iuni.begin(), k.int_regs, kNotUniform);
        std::fill_n(funi.begin(), k.float_regs, kNotUniform);
    }
};

thread_local Scratch<NarrowLanes> t_narrow_scratch;
thread_local Scratch<WideLanes> t_wide_scratch;

// dst[i] := value(i) for the block's n lanes: unconditionally when every lane
// runs, else only where exec[i] is set. Sources may be dst itself (same lane
// only), hence ivdep.
template <class T, class F>
[[gnu::always_inline]] inline void set_lanes(T* dst, unsigned n, const std::int32_t* exec, bool full, F value) {
    if (full) {
#pragma GCC ivdep
        for (unsigned i = 0; i < n; ++i) dst[i] = value(i);
    } else {
#pragma GCC ivdep
        for (unsigned i = 0; i < n; ++i) {
            const T v = value(i);
            dst[i] = exec[i] ? v : dst[i];
        }
    }
}

// Asks for the elements a contiguous load will want a few blocks on: a
// piece's blocks run one after another over consecutive lanes, so a stream
// of loads reads ahead of itself. 4 KiB ahead into L2 (prefetcht1, not into
// L1, whose few line-fill buffers then stall the loads themselves): on the
// development VM that took the i32 dot product's loop kernel from 31-35 to
// 19-23 ms and left saxpy's and the f64 dot product's times as they were
// (docs/loop-kernels.md, "Speed"). A prefetch never faults, past the
// buffer's end too.
template <class T>
[[gnu::always_inline]] inline void prefetch_ahead(const T* q, unsigned n) {
    constexpr std::size_t kAhead = 4096;
    const auto* ahead = reinterpret_cast<const char*>(q) + kAhead;
    for (std::size_t off = 0; off < std::size_t{n} * sizeof(T); off += 64) __builtin_prefetch(ahead + off, 0, 1);
}

// One block's state while it runs.
template <class L>
struct BlockRun {
    using Int = typename L::Int;
    using UInt = typename L::UInt;
    using Flt = typename L::Flt;

    const DecodedKernel& k;
    const KernelLaunch& launch;
    Scratch<L>& s;
    unsigned block_lanes = B;  // lanes of a whole block for this kernel
    std::uint64_t first = 0;
    unsigned n = 0;
    unsigned active = 0;  // lanes set in exec
    // The running lanes, and those that exited (lane_masks.h).
    Mask exec_ = lane_masks::all_on();
    Mask exited_ = lane_masks::all_off();

    std::bitset<256> in_place;  // buffer parameters a load may read in place
    std::bitset<256> folded;    // parameters of the launch's group_folds (vm/kernel_launch.h)

    // The kernel contract (vm/kernel_fault.h).
    LaunchFaults* faults = nullptr;
    KernelFault block_fault;      // the lowest lane's fault in this block
    std::uint32_t block_iterations = 0;  // the most any lane of the block has started
    std::uint32_t all_iterations = 0;    // iterations every lane started (s.iterations counts the rest)
    bool stopped = false;         // interrupted, or a lower lane faulted: the block's result cannot matter

    // Lane i faults: it stops here, as if it ran `exit`. The caller recounts
    // the active lanes.
    [[gnu::noinline]] void fault_lane(unsigned i, KernelFault f) {
        f.lane = static_cast<std::uint32_t>(first + i);
        merge_fault(block_fault, f);
        std::int32_t *run = exec_own(), *gone = exited_own();
        if (exec_ != run) std::copy_n(exec_, n, run);
        if (exited_ != gone) std::copy_n(exited_, n, gone);
        exec_ = run;
        exited_ = gone;
        run[i] = 0;
        gone[i] = -1;
    }
    // A checked access: lanes whose index breaks the contract fault. False
    // when no lane is left to run the op.
    // A window buffer's lanes read inside [gid + lo, gid + hi] as well as
    // inside the buffer (a run of lanes at gid + d: d inside [lo, hi]).
    [[gnu::noinline]] bool check_access(const BlockInsn& in, std::uint32_t pc) {
        const KernelArg* arg = in.c < launch.args.size() ? &launch.args[in.c] : nullptr;
        const std::uint64_t length = arg != nullptr && arg->data != nullptr ? arg->length : 0;
        const KernelParam* window = in.window ? &launch.kernel->params[in.c] : nullptr;
        const auto base = static_cast<std::int64_t>(first);
        if (in.element ? (s.seq[in.b] == base && first + n <= length)
                       : (length > 0 && contiguous(in.b, *arg) >= 0 &&
                          (window == nullptr || in_window(*window, base, s.seq[in.b]))))
            return true;  // the lanes' own elements, or a run inside the buffer (and the window)
        const Int* idx = R(in.b);
        const std::int32_t* m = exec();
        const UInt limit = L::index_limit(length);
        bool any = false;
        for (unsigned i = 0; i < n; ++i) {
            const auto j = static_cast<UInt>(idx[i]);
            // j < limit <= 2^40: exact as an int64 (window checks).
            if (m[i] == 0 ||
                (j < limit && (in.element  ? j == first + i
                               : window    ? in_window(*window, base + i, static_cast<std::int64_t>(j))
                                           : true)))
                continue;
            fault_lane(i, {KernelFault::Kind::BadIndex, 0, pc, in.c, idx[i], length});
            any = true;
        }
        if (any) recount_exec();
        return active != 0;
    }
    // The running lanes start another iteration of the loop at `loop_pc`.
    void count_iteration(std::uint32_t loop_pc) {
        if (exec_ == lane_masks::all_on()) {
            ++all_iterations;
        } else {
            std::uint32_t* __restrict it = s.iterations.data();
            const std::int32_t* __restrict m = exec_;
            for (unsigned i = 0; i < n; ++i) it[i] += static_cast<std::uint32_t>(m[i] & 1);
        }
        if (++block_iterations > launch.max_iterations) over_budget(loop_pc);
        if (stop_requested(launch)) faults->report({KernelFault::Kind::Interrupted, 0, loop_pc, 0, 0, 0});
        stopped = faults->stops_from(first);
    }
    // Some lane may have started more iterations than the budget: those fault.
    [[gnu::noinline]] void over_budget(std::uint32_t loop_pc) {
        const std::uint32_t* it = s.iterations.data();
        const std::int32_t* m = exec_;
        bool any = false;
        for (unsigned i = 0; i < n; ++i)
            if (m[i] != 0 && std::uint64_t{it[i]} + all_iterations > launch.max_iterations) {
                fault_lane(i, {KernelFault::Kind::StepBudget, 0, loop_pc, 0, 0, 0});
                any = true;
            }
        if (any) recount_exec();
    }

    // Where register r's lanes are read from. A register that `gid` (or
    // addi on one) set in all lanes is not written at first (ip null): it
    // is first, first+1, ... by its seq tag, which contiguous loads and
    // stores use as is; anything else reading it makes the lanes here.
    const Int* R(unsigned r) const {
        if (s.ip[r] == nullptr) materialize(r);
        return s.ip[r];
    }
    void materialize(unsigned r) const {
        Int* own = own_R(r);
        const auto base = static_cast<Int>(s.seq[r]);
        for (unsigned i = 0; i < n; ++i) own[i] = static_cast<Int>(base + static_cast<Int>(i));
        s.ip[r] = own;
        s.iuni[r] = kNotUniform;
    }
    const Flt* F(unsigned r) const {
        if constexpr (L::kWide) {
            if ((s.views >> r & 1) != 0) widen(r);
        }
        return s.fp[r];
    }
    void drop_view(unsigned r) const {
        s.views &= ~(1u << r);
        s.writable_views &= ~(1u << r);
    }
    [[gnu::noinline]] void widen(unsigned r) const {
        Flt* own = own_F(r);
        const float* v = s.view[r];
        for (unsigned i = 0; i < n; ++i) own[i] = v[i];
        s.fp[r] = own;
        s.funi[r] = kNotUniform;
        drop_view(r);
    }
    // Before register r is written: a partial write keeps the other lanes,
    // so a view is widened; a whole one just ends it.
    void end_view(unsigned r) const {
        if constexpr (L::kWide) {
            if ((s.views >> r & 1) == 0) return;
            if (full()) drop_view(r);
            else widen(r);
        }
    }
    // Before `in` writes a buffer (a store, an atomic, or an op whose result
    // goes straight to the next store's buffer): the views that write could
    // change are widened. An op may still read the view of its own result
    // register at exactly the elements it writes: lane i reads element i
    // before it writes it, and the register's old lanes are dead after.
    [[gnu::noinline]] void widen_before_write(const BlockInsn& in, bool fused_float) const {
        for (std::uint32_t m = s.writable_views; m != 0; m &= m - 1) {
            const auto r = static_cast<unsigned>(std::countr_zero(m));
            if (!(fused_float && r == in.a && s.view[r] == fused_target)) widen(r);
        }
    }
    // Lanes per register and mask: a narrow kernel's are always B.
    std::size_t stride() const { return L::kWide ? s.stride : B; }
    Int* own_R(unsigned r) const { return s.ints.data() + r * stride(); }
    Flt* own_F(unsigned r) const { return s.floats.data() + r * stride(); }
    Mask exec() const { return exec_; }
    std::int32_t* exec_own() const { return s.masks.data(); }
    std::int32_t* exited_own() const { return s.masks.data() + stride(); }
    // Frame f: [0] the lanes that entered, [1] an if's condition lanes or a
    // loop's lanes that broke, [2] a loop's lanes that continued.
    Mask& frame(unsigned f, unsigned which) const { return s.frame_masks[3 * std::size_t{f} + which]; }
    std::int32_t* frame_own(unsigned f, unsigned which) const {
        return s.masks.data() + (2 + 3 * std::size_t{f} + which) * stride();
    }
    bool full() const { return active == n; }
    // Whether every lane of integer register r holds one value (set in all
    // lanes by li, ldp, count, blen or a zeroing), and which.
    bool lane_uniform(unsigned r, Int& v) const {
        if (s.iuni[r] == kNotUniform || s.ip[r] != own_R(r)) return false;
        v = own_R(r)[0];
        return true;
    }

    // A buffer argument with at least one element, or nullptr (the op then
    // reads 0 / writes nothing in every lane).
    const KernelArg* buffer(unsigned p) const {
        if (p >= launch.args.size()) return nullptr;
        const KernelArg& a = launch.args[p];
        return (a.data != nullptr && a.length > 0) ? &a : nullptr;
    }
    // When register r holds first, first+1, ... in every lane and that whole
    // range is inside the buffer: the range's start, else -1.
    std::int64_t contiguous(unsigned r, const KernelArg& a) const {
        const std::int64_t base = s.seq[r];
        if (base == kNoSeq || base < 0 || static_cast<std::uint64_t>(base) + n > a.length) return -1;
        return base;
    }

    // Writes go to the register's own storage; a partial write first copies
    // lanes it reads in place there, since the other lanes keep their values.
    // `value` may read r itself: its sources were fetched before the switch.
    // Set by run() for an op whose result goes straight to the next store's
    // buffer (BlockInsn::store_fuses); the op writes there instead. Null
    // everywhere else: run() clears it before each op, start() before it
    // zeroes registers (a write while it is set would go to the buffer).
    // A wide kernel's 32-bit buffer takes each lane narrowed as st/stf would.
    void* fused_target = nullptr;
    bool fused_narrows = false;

    template <class T, class Fn>
    [[gnu::always_inline]] void write(T* own, T*& where, std::uint64_t& uniform, Fn value) {
        if (fused_target != nullptr) {
            if constexpr (L::kWide) {
                if (fused_narrows) {
                    using N = std::conditional_t<std::is_floating_point_v<T>, float, std::int32_t>;
                    N* q = static_cast<N*>(fused_target);
#pragma GCC ivdep
                    for (unsigned i = 0; i < n; ++i) q[i] = static_cast<N>(value(i));
                    return;
                }
            }
            T* q = static_cast<T*>(fused_target);
#pragma GCC ivdep
            for (unsigned i = 0; i < n; ++i) q[i] = value(i);
            return;
        }
        if (!full() && where != own) std::copy_n(where, n, own);
        where = own;
        set_lanes(own, n, exec(), full(), value);
        uniform = kNotUniform;
    }
    template <class Fn>
    [[gnu::always_inline]] void set_int(unsigned r, Fn value) {
        if (s.ip[r] == nullptr && !full()) materialize(r);
        write(own_R(r), s.ip[r], s.iuni[r], value);
        s.seq[r] = kNoSeq;
    }
    template <class Fn>
    [[gnu::always_inline]] void set_float(unsigned r, Fn value) {
        end_view(r);
        write(own_F(r), s.fp[r], s.funi[r], value);
    }
    // r := v in every running lane; nothing to write when r's own storage
    // already holds v in all lanes.
    template <class T>
    [[gnu::always_inline]] void fill(T* own, T*& where, std::uint64_t& uniform, T v) {
        const std::uint64_t bits = value_bits(v);
        if (full() && uniform == bits && (!L::kWide || bits != kNotUniform)) {
            where = own;
            return;
        }
        write(own, where, uniform, [v](unsigned) { return v; });
        if (full() && n == block_lanes) uniform = bits;  // no block has more lanes
    }
    void fill_int(unsigned r, Int v) {
        if (s.ip[r] == nullptr && !full()) materialize(r);
        fill(own_R(r), s.ip[r], s.iuni[r], v);
        s.seq[r] = kNoSeq;
    }
    void fill_float(unsigned r, Flt v) {
        end_view(r);
        fill(own_F(r), s.fp[r], s.funi[r], v);
    }
    // After fault_lane: the lanes left running.
    void recount_exec() {
        unsigned on = 0;
        for (unsigned i = 0; i < n; ++i) on += static_cast<unsigned>(exec_own()[i] & 1);
        exec_ = lane_masks::summarize(exec_own(), n, on);
        active = on;
    }
    void clear_exec() {
        exec_ = lane_masks::all_off();
        active = 0;
    }

    void start(std::uint64_t first_lane, unsigned lanes) {
        first = first_lane;
        n = lanes;
        active = n;
        block_fault = {};
        exec_ = lane_masks::all_on();
        exited_ = lane_masks::all_off();
        std::fill_n(s.frame_masks.begin(), 3 * std::size_t{k.frames}, lane_masks::all_off());
        if (k.has_loop) {
            std::fill_n(s.iterations.data(), n, 0u);
            block_iterations = 0;
            all_iterations = 0;
        }
        for (unsigned r = 0; r < k.int_regs; ++r) s.ip[r] = own_R(r);
        for (unsigned r = 0; r < k.float_regs; ++r) s.fp[r] = own_F(r);
        s.views = s.writable_views = 0;
        std::fill_n(s.seq.data(), k.int_regs, kNoSeq);
        // The previous block's last op may have stored its result straight
        // into a buffer: the zeroing below must go to the registers, not there.
        fused_target = nullptr;
        for (std::uint8_t r : k.zero_int) fill_int(r, 0);
        for (std::uint8_t r : k.zero_float) fill_float(r, Flt{0});
        if (first % kFoldGroupLanes == 0)
            for (const GroupFold& f : launch.group_folds)
                if (f.param < folded.size() && folded[f.param]) start_group(f);
    }

    // kloop's group folds (KernelLaunch::group_folds): a group's slot starts
    // at the fold's identity with its first block; each block's store of the
    // partials folds into it. A block never straddles two groups: pieces
    // start at multiples of kFoldGroupLanes, and every block size divides it.
    void start_group(const GroupFold& f) const {
        const KernelArg* arg = buffer(f.param);
        if (arg == nullptr) return;
        const std::uint64_t g = first / kFoldGroupLanes;
        auto* slot = static_cast<std::int64_t*>(arg->data);
        if (f.op == ReduceOp::FaddAnyOrder) std::fill_n(static_cast<double*>(arg->data) + g * kFoldWays, kFoldWays, -0.0);
        else slot[g] = group_fold_identity(f.op);
    }
    ReduceOp fold_op(unsigned p) const {
        for (const GroupFold& f : launch.group_folds)
            if (f.param == p) return f.op;
        return ReduceOp::Last;  // not folded
    }
    // The running lanes' partials v into their group's slot. Wide kernels
    // only (CpuBackend::folds_groups): Int is int64_t, Flt double.
    void fold_ints(const BlockInsn& in, const Int* v) {
        const KernelArg* arg = buffer(in.c);
        if (arg == nullptr) return;
        const ReduceOp op = fold_op(in.c);
        const std::int32_t* m = exec();
        const bool all = full();
        std::int64_t& slot = static_cast<std::int64_t*>(arg->data)[first / kFoldGroupLanes];
        const std::int64_t identity = group_fold_identity(op);
        auto fold = [&](auto combine) {
            std::int64_t acc = identity;
#pragma GCC ivdep
            for (unsigned i = 0; i < n; ++i) acc = combine(acc, all || m[i] != 0 ? static_cast<std::int64_t>(v[i]) : identity);
            slot = combine(slot, acc);
        };
        switch (op) {
        case ReduceOp::Add:  // wraps
            fold([](std::int64_t x, std::int64_t y) {
                return static_cast<std::int64_t>(static_cast<std::uint64_t>(x) + static_cast<std::uint64_t>(y));
            });
            break;
        case ReduceOp::Min: fold([](std::int64_t x, std::int64_t y) { return std::min(x, y); }); break;
        case ReduceOp::Max: fold([](std::int64_t x, std::int64_t y) { return std::max(x, y); }); break;
        default: break;
        }
    }
    // FaddAnyOrder, in add_in_ways' order: lane i of the block goes to way
    // i % kFoldWays (blocks start at multiples of it in their group), each
    // way in lane order. Written out rather than through add_in_ways with a
    // masked value (`m[i] ? v[i] : -0.0`): GCC 12.2's -O3 loop vectorizer
    // gets that form wrong here (way 4 of an 8-lane block with lane 0 off
    // came out +0.0, not 0.733), while -O0, -O1, -O2 and -O3
    // -fno-tree-loop-vectorize get it right and valgrind sees nothing.
    // CpuKernels.GroupFolds* checks this loop lane by lane.
    void fold_floats(const BlockInsn& in, const Flt* v) {
        const KernelArg* arg = buffer(in.c);
        if (arg == nullptr) return;
        double* slot = static_cast<double*>(arg->data) + first / kFoldGroupLanes * kFoldWays;
        double ways[kFoldWays];
        std::copy_n(slot, kFoldWays, ways);
        const std::int32_t* m = exec();
        unsigned i = 0;
        if (full()) {
            for (; i + kFoldWays <= n; i += kFoldWays)
                for (unsigned w = 0; w < kFoldWays; ++w) ways[w] += v[i + w];
        }
        for (; i < n; ++i)
            if (m[i] != 0) ways[i % kFoldWays] += v[i];
        std::copy_n(ways, kFoldWays, slot);
    }

    // A register's lanes into elements of type T (a narrow kernel's buffers
    // hold its lane type; a wide kernel's st/stf narrow to i32/u32/f32).
    template <class T, class V>
    [[gnu::always_inline]] void store(const BlockInsn& in, const V* v) {
        const KernelArg* arg = buffer(in.c);
        if (arg == nullptr) return;
        T* p = static_cast<T*>(arg->data);
        const std::int32_t* m = exec();
        if (const std::int64_t base = contiguous(in.b, *arg); base >= 0) {
            T* q = p + base;
            if (full()) {
                for (unsigned i = 0; i < n; ++i) q[i] = static_cast<T>(v[i]);
            } else {
                for (unsigned i = 0; i < n; ++i)
                    if (m[i] != 0) q[i] = static_cast<T>(v[i]);
            }
            return;
        }
        // Lane order, so of two lanes storing to one element the later wins.
        const Int* idx = R(in.b);
        const UInt limit = L::index_limit(arg->length);
        for (unsigned i = 0; i < n; ++i) {
            const auto j = static_cast<UInt>(idx[i]);
            if (m[i] != 0 && j < limit) p[j] = static_cast<T>(v[i]);
        }
    }

    // Elements of type T into integer register a (a wide kernel widens i32
    // and u32 as the procedure's ld.i32, ld.u32 do). Read in place when T is
    // the lane type and nothing writes the buffer.
    template <class T>
    [[gnu::always_inline]] void load_int(const BlockInsn& in, const KernelArg& arg) {
        const unsigned a = in.a, b = in.b;
        auto* p = static_cast<T*>(arg.data);
        if (const std::int64_t base = contiguous(b, arg); base >= 0) {
            T* q = p + base;
            prefetch_ahead(q, n);
            if constexpr (std::is_same_v<T, Int>) {
                if (full() && in_place[in.c]) {
                    s.ip[a] = q;
                    s.seq[a] = kNoSeq;
                    return;
                }
            }
            set_int(a, [&](unsigned i) { return static_cast<Int>(q[i]); });
        } else {
            const Int* idx = R(b);
            const UInt limit = L::index_limit(arg.length);
            set_int(a, [&](unsigned i) {
                const auto j = static_cast<UInt>(idx[i]);
                return j < limit ? static_cast<Int>(p[j]) : Int{0};
            });
        }
    }
    template <class T>
    [[gnu::always_inline]] void load_float(const BlockInsn& in, const KernelArg& arg) {
        const unsigned a = in.a, b = in.b;
        auto* p = static_cast<T*>(arg.data);
        if (const std::int64_t base = contiguous(b, arg); base >= 0) {
            T* q = p + base;
            prefetch_ahead(q, n);
            if constexpr (std::is_same_v<T, Flt>) {
                if (full() && in_place[in.c]) {
                    end_view(a);
                    s.fp[a] = q;
                    return;
                }
            } else {
                if (full()) {  // a view: widened where something needs the lanes
                    s.fp[a] = own_F(a);
                    s.view[a] = q;
                    s.views |= 1u << a;
                    if (in_place[in.c]) s.writable_views &= ~(1u << a);
                    else s.writable_views |= 1u << a;
                    return;
                }
            }
            set_float(a, [&](unsigned i) { return static_cast<Flt>(q[i]); });
        } else {
            const Int* idx = R(b);
            const UInt limit = L::index_limit(arg.length);
            set_float(a, [&](unsigned i) {
                const auto j = static_cast<UInt>(idx[i]);
                return j < limit ? static_cast<Flt>(p[j]) : Flt{0};
            });
        }
    }

    // `add` of a sequence and a value every lane holds (i = i0 + gid in the
    // kernels made from loops) is a sequence too: its tag, or kNoSeq.
    std::int64_t sum_seq(unsigned b, unsigned c, unsigned& from) const {
        Int v{};
        if (s.seq[b] != kNoSeq && lane_uniform(c, v)) {
            from = b;
            return lanes::shifted_seq<Int>(s.seq[b], v, n);
        }
        if (s.seq[c] != kNoSeq && lane_uniform(b, v)) {
            from = c;
            return lanes::shifted_seq<Int>(s.seq[c], v, n);
        }
        return kNoSeq;
    }

    // A float register whose own storage holds one value in every lane
    // (lif, ldpf), read as that value: fewer loads, and its lanes need no
    // room in the cache.
    struct Splat {
        Flt v;
        Flt operator[](unsigned) const { return v; }
    };
    bool float_uniform(unsigned r) const {
        return s.funi[r] != kNotUniform && s.fp[r] == own_F(r) && (s.views >> r & 1) == 0;
    }
    // a := op(x[i], y[i]) into a float or an integer register by op's
    // result type; x and y are register lanes, views (each element widened
    // as the load would) or Splats.
    template <class X, class Y, class Op>
    [[gnu::always_inline]] void float_lanes(unsigned a, X x, Y y, Op op) {
        auto value = [&](unsigned i) { return op(static_cast<Flt>(x[i]), static_cast<Flt>(y[i])); };
        if constexpr (std::is_floating_point_v<decltype(op(Flt{}, Flt{}))>) set_float(a, value);
        else set_int(a, value);
    }
    // a := op(b, c) in a wide kernel: views and registers every lane holds
    // one value in are read as they are when every lane runs.
    template <class Op>
    [[gnu::always_inline]] void float_binary(unsigned a, unsigned b, unsigned c, Op op) {
        if constexpr (L::kWide) {
            if (full()) {
                const bool vb = (s.views >> b & 1) != 0, vc = (s.views >> c & 1) != 0;
                if (vb && vc) return float_lanes(a, s.view[b], s.view[c], op);
                if (vb && float_uniform(c)) return float_lanes(a, s.view[b], Splat{own_F(c)[0]}, op);
                if (vb) return float_lanes(a, s.view[b], F(c), op);
                if (vc && float_uniform(b)) return float_lanes(a, Splat{own_F(b)[0]}, s.view[c], op);
                if (vc) return float_lanes(a, F(b), s.view[c], op);
                if (float_uniform(c)) return float_lanes(a, F(b), Splat{own_F(c)[0]}, op);
                if (float_uniform(b)) return float_lanes(a, Splat{own_F(b)[0]}, F(c), op);
            }
        }
        float_lanes(a, F(b), F(c), op);
    }

    [[gnu::always_inline]] void run();
};

// Inlined into each instruction-set variant of run_blocks below.
template <class L>
[[gnu::always_inline]] inline void BlockRun<L>::run() {
    const std::vector<BlockInsn>& code = k.code;
    const auto& args = launch.args;
    const auto size = static_cast<std::uint32_t>(code.size());
    for (std::uint32_t pc = 0; pc < size;) {
        const BlockInsn& in = code[pc];
        // No lane runs here (they broke, continued or exited): only the
        // control flow that can bring lanes back matters.
        if (active == 0 && !closes_block(kop_effect(in.op))) {
            pc = opens_block(kop_effect(in.op)) ? in.after : pc + 1;  // if, loop: past their end
            continue;
        }
        if (in.checked && !check_access(in, pc)) {
            ++pc;
            continue;
        }
        const unsigned a = in.a, b = in.b, c = in.c;
        std::uint32_t next = pc + 1;
        fused_target = nullptr;
        if (in.store_fuses && full() && !folded[code[pc + 1].c]) {
            const BlockInsn& st = code[pc + 1];
            if (const KernelArg* arg = buffer(st.c); arg != nullptr) {
                const std::int64_t base = contiguous(st.b, *arg);
                // A run inside the buffer passes check_access as is (an
                // element-wise buffer's only at the lanes' own elements).
                if (base >= 0 && (!st.element || base == static_cast<std::int64_t>(first))) {
                    const std::size_t size = L::kWide ? elem_size(st.elem) : sizeof(Int);
                    fused_target = static_cast<std::byte*>(arg->data) + static_cast<std::size_t>(base) * size;
                    fused_narrows = size < sizeof(Int);
                    next = pc + 2;
                }
            }
        }
        if constexpr (L::kWide) {
            if (s.writable_views != 0 && (fused_target != nullptr || writes_buffer(kop_effect(in.op))))
                widen_before_write(in, fused_target != nullptr && code[pc + 1].op == KOp::Stf);
        }
        switch (in.op) {
        case KOp::Nop: break;
        case KOp::Gid: {
            const auto base = static_cast<Int>(first);
            if (full()) {
                s.ip[a] = nullptr;  // made only if something reads the lanes
                s.seq[a] = base;
                break;
            }
            set_int(a, [&](unsigned i) { return static_cast<Int>(base + static_cast<Int>(i)); });
            break;
        }
        case KOp::Count: fill_int(a, static_cast<Int>(launch.count)); break;
        case KOp::Li: fill_int(a, static_cast<Int>(in.imm)); break;  // wide: sign-extended
        case KOp::Lif: fill_float(a, static_cast<Flt>(std::bit_cast<float>(in.imm))); break;  // wide: widened
        case KOp::Mov: {
            const std::int64_t tag = full() ? s.seq[b] : kNoSeq;
            const Int* x = R(b);
            set_int(a, [&](unsigned i) { return x[i]; });
            s.seq[a] = tag;
            break;
        }
        case KOp::Fmov: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return x[i]; }); break; }
        case KOp::Add: {
            unsigned from = 0;
            const std::int64_t tag = full() && fused_target == nullptr ? sum_seq(b, c, from) : kNoSeq;
            if (tag != kNoSeq && s.ip[from] == nullptr) {  // stays a sequence not yet made
                s.ip[a] = nullptr;
                s.seq[a] = tag;
                break;
            }
            const Int *x = R(b), *y = R(c);
            set_int(a, [&](unsigned i) { return L::add(x[i], y[i]); });
            s.seq[a] = tag;
            break;
        }
        case KOp::Sub: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::sub(x[i], y[i]); }); break; }
        case KOp::Mul: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::mul(x[i], y[i]); }); break; }
        case KOp::Div: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::div(x[i], y[i]); }); break; }
        case KOp::Rem: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::rem(x[i], y[i]); }); break; }
        case KOp::Divu: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::divu(x[i], y[i]); }); break; }
        case KOp::Remu: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::remu(x[i], y[i]); }); break; }
        case KOp::And: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return x[i] & y[i]; }); break; }
        case KOp::Or: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return x[i] | y[i]; }); break; }
        case KOp::Xor: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return x[i] ^ y[i]; }); break; }
        case KOp::Shl: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::shl(x[i], y[i]); }); break; }
        case KOp::Shr: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::shr(x[i], y[i]); }); break; }
        case KOp::Sar: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::sar(x[i], y[i]); }); break; }
        case KOp::Min: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::min(x[i], y[i]); }); break; }
        case KOp::Max: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return L::max(x[i], y[i]); }); break; }
        case KOp::Neg: { const Int* x = R(b); set_int(a, [&](unsigned i) { return L::sub(0, x[i]); }); break; }
        case KOp::Not: { const Int* x = R(b); set_int(a, [&](unsigned i) { return static_cast<Int>(~x[i]); }); break; }
        case KOp::Addi: {
            std::int64_t tag = full() ? s.seq[b] : kNoSeq;
            if (tag != kNoSeq) tag = lanes::shifted_seq<Int>(tag, in.imm, n);
            if (tag != kNoSeq && s.ip[b] == nullptr) {  // stays a sequence not yet made
                s.ip[a] = nullptr;
                s.seq[a] = tag;
                break;
            }
            const Int* x = R(b);
            const Int imm = in.imm;  // wide: sign-extended
            set_int(a, [&](unsigned i) { return L::add(x[i], imm); });
            s.seq[a] = tag;
            break;
        }
        case KOp::Muli: { const Int* x = R(b); const Int imm = in.imm; set_int(a, [&](unsigned i) { return L::mul(x[i], imm); }); break; }
        case KOp::Andi: { const Int* x = R(b); const Int imm = in.imm; set_int(a, [&](unsigned i) { return x[i] & imm; }); break; }
        case KOp::Ori: { const Int* x = R(b); const Int imm = in.imm; set_int(a, [&](unsigned i) { return x[i] | imm; }); break; }
        case KOp::Xori: { const Int* x = R(b); const Int imm = in.imm; set_int(a, [&](unsigned i) { return x[i] ^ imm; }); break; }
        // The verifier keeps a shift immediate in 0..31 (wide: 0..63).
        case KOp::Shli: { const Int* x = R(b); const Int imm = in.imm; set_int(a, [&](unsigned i) { return L::shl(x[i], imm); }); break; }
        case KOp::Shri: { const Int* x = R(b); const Int imm = in.imm; set_int(a, [&](unsigned i) { return L::shr(x[i], imm); }); break; }
        case KOp::Sari: { const Int* x = R(b); const Int imm = in.imm; set_int(a, [&](unsigned i) { return L::sar(x[i], imm); }); break; }
        case KOp::Eq: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return Int{x[i] == y[i]}; }); break; }
        case KOp::Ne: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return Int{x[i] != y[i]}; }); break; }
        case KOp::Lt: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return Int{x[i] < y[i]}; }); break; }
        case KOp::Le: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return Int{x[i] <= y[i]}; }); break; }
        case KOp::Ltu: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return Int{L::below_unsigned(x[i], y[i])}; }); break; }
        case KOp::Leu: { const Int *x = R(b), *y = R(c); set_int(a, [&](unsigned i) { return Int{!L::below_unsigned(y[i], x[i])}; }); break; }
        case KOp::Fadd: float_binary(a, b, c, [](Flt x, Flt y) { return x + y; }); break;
        case KOp::Fsub: float_binary(a, b, c, [](Flt x, Flt y) { return x - y; }); break;
        case KOp::Fmul: float_binary(a, b, c, [](Flt x, Flt y) { return x * y; }); break;
        case KOp::Fdiv: float_binary(a, b, c, [](Flt x, Flt y) { return x / y; }); break;
        case KOp::Fmin: float_binary(a, b, c, [](Flt x, Flt y) { return L::fmin(x, y); }); break;
        case KOp::Fmax: float_binary(a, b, c, [](Flt x, Flt y) { return L::fmax(x, y); }); break;
        // fpow, ffma, fsin, fcos, fexp, flog: narrow kernels only (the
        // verifier rejects them in a wide one), so the wide build runs none.
        case KOp::Fpow: { const Flt *x = F(b), *y = F(c); set_float(a, [&](unsigned i) { return std::pow(x[i], y[i]); }); break; }
        case KOp::Ffma: {
            const Flt *x = F(b), *y = F(c), *z = F(static_cast<unsigned>(in.imm));
            set_float(a, [&](unsigned i) { return std::fma(x[i], y[i], z[i]); });
            break;
        }
        case KOp::Fneg: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return -x[i]; }); break; }
        case KOp::Fabs: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return std::fabs(x[i]); }); break; }
        case KOp::Fsqrt: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return std::sqrt(x[i]); }); break; }
        case KOp::Ffloor: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return std::floor(x[i]); }); break; }
        case KOp::Fsin: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return std::sin(x[i]); }); break; }
        case KOp::Fcos: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return std::cos(x[i]); }); break; }
        case KOp::Fexp: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return std::exp(x[i]); }); break; }
        case KOp::Flog: { const Flt* x = F(b); set_float(a, [&](unsigned i) { return std::log(x[i]); }); break; }
        case KOp::Feq: float_binary(a, b, c, [](Flt x, Flt y) { return Int{x == y}; }); break;
        case KOp::Flt: float_binary(a, b, c, [](Flt x, Flt y) { return Int{x < y}; }); break;
        case KOp::Fle: float_binary(a, b, c, [](Flt x, Flt y) { return Int{x <= y}; }); break;
        case KOp::Itof: { const Int* x = R(b); set_float(a, [&](unsigned i) { return static_cast<Flt>(x[i]); }); break; }
        case KOp::Ftoi: { const Flt* x = F(b); set_int(a, [&](unsigned i) { return L::ftoi(x[i]); }); break; }
        case KOp::Ld: {
            const KernelArg* arg = buffer(c);
            if (arg == nullptr) { fill_int(a, 0); break; }
            if constexpr (!L::kWide) {
                load_int<Int>(in, *arg);  // i32 and u32 alike: the bits
            } else if (in.elem == ElemType::I32) {
                load_int<std::int32_t>(in, *arg);
            } else if (in.elem == ElemType::U32) {
                load_int<std::uint32_t>(in, *arg);
            } else {
                load_int<std::int64_t>(in, *arg);
            }
            break;
        }
        case KOp::Ldf: {
            const KernelArg* arg = buffer(c);
            if (arg == nullptr) { fill_float(a, Flt{0}); break; }
            if (L::kWide && in.elem == ElemType::F32) load_float<float>(in, *arg);
            else load_float<Flt>(in, *arg);
            break;
        }
        case KOp::St:
            if constexpr (L::kWide) {
                if (folded[c] && in.elem == ElemType::I64 && fold_op(c) != ReduceOp::FaddAnyOrder) {
                    fold_ints(in, R(a));
                    break;
                }
            }
            if (L::kWide && elem_size(in.elem) == 4) store<std::int32_t>(in, R(a));  // the low 32 bits
            else store<Int>(in, R(a));
            break;
        case KOp::Stf:
            if constexpr (L::kWide) {
                if (folded[c] && in.elem == ElemType::F64 && fold_op(c) == ReduceOp::FaddAnyOrder) {
                    fold_floats(in, F(a));
                    break;
                }
            }
            if (L::kWide && in.elem == ElemType::F32) store<float>(in, F(a));  // rounded to nearest even
            else store<Flt>(in, F(a));
            break;
        case KOp::AtAdd: {  // i32/u32 buffers only (a wide lane adds its low 32 bits)
            const KernelArg* arg = buffer(c);
            if (arg == nullptr || (L::kWide && elem_size(in.elem) != 4)) break;
            auto* p = static_cast<std::uint32_t*>(arg->data);
            const Int *idx = R(b), *v = R(a);
            const std::int32_t* m = exec();
            const UInt limit = L::index_limit(arg->length);
            for (unsigned i = 0; i < n; ++i) {
                const auto j = static_cast<UInt>(idx[i]);
                if (m[i] != 0 && j < limit)
                    std::atomic_ref<std::uint32_t>(p[j]).fetch_add(static_cast<std::uint32_t>(v[i]),
                                                                   std::memory_order_relaxed);
            }
            break;
        }
        case KOp::Ldp: {
            // A uniform is its i64 value or its i32 value in the low 32 bits.
            const std::uint64_t u = b < args.size() ? args[b].uniform : 0;
            fill_int(a, L::kWide && in.elem == ElemType::I64 ? static_cast<Int>(u)
                                                              : static_cast<Int>(static_cast<std::int32_t>(u)));
            break;
        }
        case KOp::Ldpf: {
            // A uniform is its f64 bits or its f32 bits in the low 32 bits.
            const std::uint64_t u = b < args.size() ? args[b].uniform : 0;
            if constexpr (L::kWide) {
                if (in.elem == ElemType::F64) {
                    fill_float(a, std::bit_cast<double>(u));
                    break;
                }
            }
            fill_float(a, static_cast<Flt>(std::bit_cast<float>(static_cast<std::uint32_t>(u))));
            break;
        }
        case KOp::Blen: fill_int(a, b < args.size() ? static_cast<Int>(args[b].length) : 0); break;
        // The masks (lane_masks.h): constants while the lanes take one path.
        case KOp::If: {
            frame(in.frame, 0) = lane_masks::copy(frame_own(in.frame, 0), n, exec_);
            const Mask cond = lane_masks::select_nonzero(frame_own(in.frame, 1), n, exec_, R(a), active);
            frame(in.frame, 1) = cond;
            exec_ = lane_masks::copy(exec_own(), n, cond);
            if (active == 0) next = in.target;  // straight to the `else` or `end`
            break;
        }
        case KOp::Else: {
            const Mask none = lane_masks::all_off();
            exec_ = lane_masks::and_not(exec_own(), n, frame(in.frame, 0), frame(in.frame, 1), none, none, active);
            if (active == 0) next = in.target;
            break;
        }
        case KOp::End: {
            const Mask none = lane_masks::all_off(), entry = frame(in.frame, 0);
            if (in.is_loop_end) {
                frame(in.frame, 2) = none;  // continued lanes run on like the rest
                exec_ = lane_masks::and_not(exec_own(), n, entry, frame(in.frame, 1), exited_, none, active);
                if (active != 0) {
                    next = in.target + 1;  // another iteration
                    count_iteration(in.target);
                    if (stopped) return;
                } else {
                    exec_ = lane_masks::and_not(exec_own(), n, entry, exited_, none, none, active);
                }
            } else if (in.loop_frame == kNoLoop) {
                exec_ = lane_masks::and_not(exec_own(), n, entry, exited_, none, none, active);
            } else {
                exec_ = lane_masks::and_not(exec_own(), n, entry, exited_, frame(in.loop_frame, 1),
                                            frame(in.loop_frame, 2), active);
            }
            break;
        }
        case KOp::Loop:
            frame(in.frame, 0) = lane_masks::copy(frame_own(in.frame, 0), n, exec_);
            frame(in.frame, 1) = lane_masks::all_off();
            frame(in.frame, 2) = lane_masks::all_off();
            count_iteration(pc);
            if (stopped) return;
            break;
        case KOp::Break:
        case KOp::Continue: {
            const unsigned which = in.op == KOp::Break ? 1 : 2;
            frame(in.frame, which) = lane_masks::or_into(frame_own(in.frame, which), n, frame(in.frame, which), exec_);
            clear_exec();
            break;
        }
        case KOp::Exit:
            exited_ = lane_masks::or_into(exited_own(), n, exited_, exec_);
            clear_exec();
            break;
        }
        pc = next;
    }
}

template <class L>
[[gnu::always_inline]] inline void run_blocks_of(BlockRun<L>& block, std::uint64_t first, std::uint64_t last) {
    const unsigned lanes = block.block_lanes;
    for (std::uint64_t lane = first; lane < last; lane += lanes) {
        if (stop_requested(block.launch)) block.faults->report({KernelFault::Kind::Interrupted, 0, 0, 0, 0, 0});
        if (block.faults->stops_from(lane)) return;
        block.start(lane, static_cast<unsigned>(std::min<std::uint64_t>(lanes, last - lane)));
        block.run();
        block.faults->report(block.block_fault);
        if (block.stopped) return;
    }
}

// Built for the baseline and for x86-64-v3 (vm/cpu_variants.h): ffma is then
// one vfmadd per 8 lanes. One function per lane width (target_clones and
// templates do not mix).
POLYMER_CPU_VARIANTS
void run_blocks(BlockRun<NarrowLanes>& block, std::uint64_t first, std::uint64_t last) {
    run_blocks_of(block, first, last);
}

POLYMER_CPU_VARIANTS
void run_blocks(BlockRun<WideLanes>& block, std::uint64_t first, std::uint64_t last) {
    run_blocks_of(block, first, last);
}

template <class L>
void run_with(Scratch<L>& s, const DecodedKernel& kernel, const KernelLaunch& launch, std::uint64_t first,
              std::uint64_t last, LaunchFaults& faults) {
    s.fit(kernel, kernel.wide && !kernel.has_loop && !kernel.buffer_of_8_bytes ? kWideBlockLanes : B);
    BlockRun<L> block{kernel, launch, s};
    block.faults = &faults;
    block.block_lanes = kernel.has_loop ? kLoopBlockLanes : s.stride;
    // A buffer can be read in place unless the kernel writes it, through
    // its own parameter or another one bound to overlapping memory.
    const auto& args = launch.args;
    auto bytes = [&](std::size_t p) {
        const auto* b = static_cast<const std::byte*>(args[p].data);
        const std::size_t size = p < kernel.param_types.size() ? elem_size(kernel.param_types[p]) : 4;
        return std::pair{b, b + args[p].length * size};
    };
    for (std::size_t p = 0; p < args.size() && p < block.in_place.size(); ++p) {
        if (args[p].data == nullptr) continue;
        bool ok = true;
        for (std::uint8_t q : kernel.stored_params) {
            if (q >= args.size() || args[q].data == nullptr) continue;
            const auto [b0, e0] = bytes(p);
            const auto [b1, e1] = bytes(q);
            ok = ok && !(b0 < e1 && b1 < e0);
        }
        block.in_place[p] = ok;
    }
    if constexpr (L::kWide) {
        // Only where the slots fit the buffer (CpuBackend::folds_groups).
        const std::uint64_t groups = (launch.count + kFoldGroupLanes - 1) / kFoldGroupLanes;
        for (const GroupFold& f : launch.group_folds) {
            const std::uint64_t room = f.op == ReduceOp::FaddAnyOrder ? groups * kFoldWays : groups;
            if (f.param < block.folded.size() && f.param < args.size() && folds_in_groups(f.op) && args[f.param].length >= room)
                block.folded[f.param] = true;
        }
    }
    run_blocks(block, first, last);
}

}  // namespace

void run_kernel_blocks(const DecodedKernel& kernel, const KernelLaunch& launch, std::uint64_t first,
                       std::uint64_t last, LaunchFaults& faults) {
    if (first >= last || kernel.code.empty()) return;
    if (kernel.wide) run_with(t_wide_scratch, kernel, launch, first, last, faults);
    else run_with(t_narrow_scratch, kernel, launch, first, last, faults);
}

}  // namespace polymer
