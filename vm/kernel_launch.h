// A kernel launch as a backend sees it: the kernel, one argument per
// parameter, and the range of lanes to run. The interpreter builds it from a
// `launch` instruction; the CPU kernel executor and the Vulkan backend run it;
// later the cluster layer cuts it into chunks ([begin, end) sub-ranges).
//
// The kernel ABI every backend follows (docs/kernels.md):
//   - lane i of a launch over [0, count) sees `gid` = i and `count` = count;
//   - a buffer argument is the whole region (`length` elements of `type`);
//     an element-wise buffer is touched only at the lane's own element, a
//     window buffer read only inside [gid + lo, gid + hi] and [0, length),
//     a whole one only inside [0, length): any other access faults
//     (vm/kernel_fault.h) and ends the lane;
//   - a lane starts at most `max_iterations` loop iterations;
//   - a uniform argument is its bit pattern: an i64 value or f64 bits, or
//     for an i32/f32 uniform the 32 bits in the low half.
#pragma once

#include <array>
#include <atomic>
#include <limits>
#include <cstdint>
#include <vector>

#include "vm/interrupt.h"
#include "isa/elem_type.h"
#include "isa/module.h"
#include "vm/kernel_fault.h"

namespace polymer {

// The largest launch: `gid` is a 32-bit signed lane register (in narrow kernels).
inline constexpr std::uint64_t kMaxLaunchCount = 0x7FFF'FFFF;

struct Region;  // vm/region_store.h

struct KernelArg {
    // Buffers (ParamKind::Buffer): the region's storage.
    void* data = nullptr;          // `length` elements; nullptr when length is 0
    std::uint64_t length = 0;      // elements
    ElemType type = ElemType::F32;
    // Uniforms (ParamKind::Uniform): an i64 value or f64 bits; i32/f32 in the low 32 bits.
    std::uint64_t uniform = 0;
    // Buffers at the home: the region it is (its fences: Backend::bring_home); null on a node.
    Region* region = nullptr;
};

// A loop kernel's reduction that the backend folds itself (kloop sets it
// only where Backend::folds_groups says the backend does; vm/loop_kernel.h).
// The parameter is the element-wise i64 or f64 buffer where each lane stores
// its partial as the kernel's last word. Instead of those stores the backend
// writes, for each group g of kFoldGroupLanes lanes of [0, count) (lanes
// [g*G, (g+1)*G)):
//   - Add, Min, Max: one element at g, the group's lanes folded (exact in
//     any order: wrapping add, signed min and max);
//   - FaddAnyOrder: kFoldWays elements at [g*W, g*W + W), element w the sum
//     from -0.0, in lane order, of the partials of the group's lanes j with
//     j % W == w (the order kloop folds lanes' partials in, so that a backend
//     that stores them gives the same bits).
// A lane that stores nothing (it faulted) adds nothing. The buffer still has
// one element per lane: the rest is left as it was.
struct GroupFold {
    std::uint32_t param = 0;
    ReduceOp op = ReduceOp::Add;
};
inline constexpr std::uint64_t kFoldGroupLanes = 512;
inline constexpr unsigned kFoldWays = 8;
inline bool folds_in_groups(ReduceOp op) {
    return op == ReduceOp::Add || op == ReduceOp::Min || op == ReduceOp::Max || op == ReduceOp::FaddAnyOrder;
}
// A group's integer slot before its first lane: the fold's identity.
inline std::int64_t group_fold_identity(ReduceOp op) {
    return op == ReduceOp::Min   ? std::numeric_limits<std::int64_t>::max()
           : op == ReduceOp::Max ? std::numeric_limits<std::int64_t>::min()
                                 : 0;
}
// FaddAnyOrder's order, the one definition of it: value(i) for i in [0, n)
// into `ways` in lane order, lane i into way i % kFoldWays (-0.0, which
// changes no sum, for a lane that adds nothing).
template <class Value>
inline void add_in_ways(std::array<double, kFoldWays>& ways, std::uint64_t n, Value value) {
    std::uint64_t i = 0;
    for (; i + kFoldWays <= n; i += kFoldWays)
        for (unsigned w = 0; w < kFoldWays; ++w) ways[w] += value(i + w);
    for (unsigned w = 0; i < n; ++i, ++w) ways[w] += value(i);
}

struct KernelLaunch {
    const Kernel* kernel = nullptr;   // owned by the Module, which outlives the launch
    std::uint32_t kernel_index = 0;   // in Module::kernels
    std::vector<KernelArg> args;      // one per kernel parameter, in order
    std::uint64_t count = 0;          // the launch covers lanes [0, count)
    std::uint64_t begin = 0;          // this piece runs lanes [begin, end)
    std::uint64_t end = 0;
    std::uint32_t max_iterations = kDefaultKernelSteps;  // per lane, all its loops together (--kernel-steps)
    // Set when this launch alone should stop (a node's chunk its home gave
    // up on); polled where the process-wide Ctrl-C flag is (vm/interrupt.h).
    const std::atomic<bool>* cancel = nullptr;
    // Reductions the backend folds in groups (above); empty for every launch
    // but a loop kernel's on a backend that folds.
    std::vector<GroupFold> group_folds;
};

// Whether a running launch should stop: Ctrl-C, or its own cancel flag.
inline bool stop_requested(const KernelLaunch& l) {
    return interrupt_requested() || (l.cancel != nullptr && l.cancel->load(std::memory_order_relaxed));
}

}  // namespace polymer
