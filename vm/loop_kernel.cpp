// kloop's slow path (vm/loop_kernel.h): the design's steps 1-7 in
// docs/loop-kernels.md, "How kloop runs a loop".
#include "vm/loop_kernel.h"

#include <bit>
#include <limits>

#include "isa/loop_trip.h"
#include "vm/machine.h"
#include "vm/scalar_semantics.h"

namespace polymer {
namespace {

__extension__ using i128 = __int128;

constexpr std::string_view kReasonText[kLoopScalarReasonCount] = {
    "disabled",     "too few iterations", "out of range", "divisor zero",
    "aliasing",     "would wrap",         "bad handle",   "too many lanes",
    "step limit",
};

// acc op value, with the procedure opcodes' own semantics.
std::uint64_t combine(ReduceOp op, std::uint64_t acc, std::uint64_t value) {
    const auto a = static_cast<std::int64_t>(acc), v = static_cast<std::int64_t>(value);
    const double fa = std::bit_cast<double>(acc), fv = std::bit_cast<double>(value);
    switch (op) {
    case ReduceOp::Add: return static_cast<std::uint64_t>(sem::add(a, v));
    case ReduceOp::Min: return static_cast<std::uint64_t>(sem::min(a, v));
    case ReduceOp::Max: return static_cast<std::uint64_t>(sem::max(a, v));
    case ReduceOp::Fadd: return std::bit_cast<std::uint64_t>(fa + fv);
    case ReduceOp::Fmin: return std::bit_cast<std::uint64_t>(sem::fmin(fa, fv));
    case ReduceOp::Fmax: return std::bit_cast<std::uint64_t>(sem::fmax(fa, fv));
    case ReduceOp::Last:
    case ReduceOp::LastMask: return value;  // not folded: run_loop_launch picks the last lane's
    }
    return acc;
}

// acc op p[0] op p[1] ... in order; the common ops as plain loops (the
// partials are one per iteration: tens of millions).
std::uint64_t fold(ReduceOp op, std::uint64_t acc, const std::uint64_t* parts, std::uint64_t n) {
    switch (op) {
    case ReduceOp::Add:
        for (std::uint64_t j = 0; j < n; ++j) acc += parts[j];  // wraps, as sem::add
        return acc;
    case ReduceOp::Fadd: {
        double sum = std::bit_cast<double>(acc);
        for (std::uint64_t j = 0; j < n; ++j) sum += std::bit_cast<double>(parts[j]);
        return std::bit_cast<std::uint64_t>(sum);
    }
    default:
        for (std::uint64_t j = 0; j < n; ++j) acc = combine(op, acc, parts[j]);
        return acc;
    }
}

// Whether scale*i + offset (+ R[offset_reg]) is inside g at i.
bool in_range(const LoopAccess& a, const RegisterFile& regs, std::int64_t i, const Region& g) {
    i128 index = static_cast<i128>(a.scale) * i + a.offset;
    if (a.has_offset_reg) index += regs.r[a.offset_reg];
    return index >= 0 && index < static_cast<i128>(g.length);
}

}  // namespace

std::string loop_kernel_stats_text(const LoopKernelStats& s) {
    std::uint64_t scalar = 0;
    std::string reasons;
    for (std::size_t r = 0; r < kLoopScalarReasonCount; ++r) {
        if (s.scalar[r] == 0) continue;
        scalar += s.scalar[r];
        reasons += (reasons.empty() ? "" : ", ") + std::to_string(s.scalar[r]) + " " + std::string(kReasonText[r]);
    }
    std::string text = std::to_string(s.kernels) + (s.kernels == 1 ? " loop run as a kernel" : " loops run as kernels") +
                       " (" + std::to_string(s.iterations) + " iterations), " + std::to_string(scalar) + " ran scalar";
    if (!reasons.empty()) text += " (" + reasons + ")";
    return text;
}

bool plan_loop_launch(Machine& m, const DecodedInsn& d, LoopLaunch& plan) {
    const Module& mod = m.module();
    m.take_loop_launch();  // the trace's span is this kloop's or none
    plan.entry = static_cast<std::uint32_t>(d.imm);
    const LoopKernel& l = mod.loop_kernels[plan.entry];
    auto scalar = [&](LoopScalarReason why) {
        ++m.loop_kernel_stats().scalar[static_cast<std::size_t>(why)];
        return false;
    };
    // 1. Turned off: the scalar loop is always a correct outcome.
    if (!m.options().loop_kernels) return scalar(LoopScalarReason::Disabled);
    // A step limit traps at the same instruction as in order only if every
    // iteration's instructions are counted.
    if (m.options().max_steps != 0) return scalar(LoopScalarReason::StepLimit);
    // 2-3. The trip count; the kernel runs all but the last iteration.
    const RegisterFile& regs = m.state().regs;
    const std::int64_t i0 = regs.r[l.induction];
    const std::optional<std::uint64_t> n = loop_trip_count(l.compare, l.tested_first, l.step, i0, regs.r[l.bound]);
    if (!n) return scalar(LoopScalarReason::WouldWrap);
    if (*n == 0 || *n - 1 < std::max<std::uint64_t>(1, m.options().loop_kernel_min))
        return scalar(LoopScalarReason::TooFew);
    plan.iterations = *n - 1;
    plan.last_i = static_cast<std::int64_t>(static_cast<i128>(i0) + static_cast<i128>(*n - 1) * l.step);  // in range: checked by the trip count
    // 4. The checks: the scalar loop runs (and traps where it would) when one fails.
    for (std::uint8_t r : l.divisors)
        if (regs.r[r] == 0) return scalar(LoopScalarReason::DivisorZero);
    for (const LoopAccess& a : l.accesses) {
        const Region* g = m.operand_region(a.region, regs);
        if (g == nullptr) return scalar(LoopScalarReason::BadHandle);
        if (!in_range(a, regs, i0, *g) || !in_range(a, regs, plan.last_i, *g)) return scalar(LoopScalarReason::OutOfRange);
    }
    const std::uint64_t lanes = plan.iterations / l.chunk + (plan.iterations % l.chunk != 0 ? 1 : 0);
    if (lanes > kMaxLaunchCount) return scalar(LoopScalarReason::TooManyLanes);
    // A reduction keeps one 8-byte partial per lane: at most 1 GiB of them.
    constexpr std::uint64_t kMaxPartialLanes = std::uint64_t{1} << 27;
    if (!l.reductions.empty() && lanes > kMaxPartialLanes) return scalar(LoopScalarReason::TooManyLanes);

    plan.lanes = lanes;
    const Kernel& kernel = mod.kernels[l.kernel];
    KernelLaunch& launch = plan.launch;
    launch.kernel = &kernel;
    launch.kernel_index = l.kernel;
    launch.count = launch.end = lanes;
    launch.begin = 0;
    launch.max_iterations = std::numeric_limits<std::uint32_t>::max();  // the scalar loop had no such limit
    launch.args.resize(l.args.size());
    std::vector<const Region*> regions(l.args.size(), nullptr);
    for (std::size_t j = 0; j < l.args.size(); ++j) {
        const LoopArg& a = l.args[j];
        const KernelParam& p = kernel.params[j];
        KernelArg& k = launch.args[j];
        k.type = p.type;
        switch (a.kind) {
        case LoopArg::Kind::Region: {
            const Region* g = m.operand_region(a.index, regs);
            if (g == nullptr || g->type != p.type) return scalar(LoopScalarReason::BadHandle);
            regions[j] = g;
            k.data = g->length == 0 ? nullptr : g->data;
            k.length = g->length;
            break;
        }
        case LoopArg::Kind::IntReg: k.uniform = static_cast<std::uint64_t>(regs.r[a.index]); break;
        case LoopArg::Kind::FloatReg: k.uniform = std::bit_cast<std::uint64_t>(regs.f[a.index]); break;
        case LoopArg::Kind::IntConst: k.uniform = static_cast<std::uint64_t>(mod.int_consts[a.index]); break;
        case LoopArg::Kind::FloatConst: k.uniform = std::bit_cast<std::uint64_t>(mod.float_consts[a.index]); break;
        case LoopArg::Kind::Iterations: k.uniform = plan.iterations; break;
        case LoopArg::Kind::Partials: {
            std::uint64_t* part = plan.partials.emplace_back(new std::uint64_t[lanes]).get();
            k.data = part;
            k.length = lanes;
            break;
        }
        }
    }
    // Two region operands that turn out to be one region (a handle), written by the kernel.
    for (std::size_t j = 0; j < regions.size(); ++j)
        for (std::size_t k = j + 1; k < regions.size(); ++k)
            if (regions[j] != nullptr && regions[j] == regions[k] && l.args[j].index != l.args[k].index &&
                (kernel.params[j].access != Access::In || kernel.params[k].access != Access::In))
                return scalar(LoopScalarReason::Aliasing);
    return true;
}

bool run_loop_launch(Machine& m, LoopLaunch& plan, Trap* trap) {
    const Module& mod = m.module();
    const LoopKernel& l = mod.loop_kernels[plan.entry];
    // 5. kloop is E_SYNC: the long operations before it are done first.
    Backend& backend = m.backend();
    backend.wait_all();
    LoopLaunchSpan span{plan.launch, std::chrono::steady_clock::now(), {}};
    VectorOpResult result;
    if (!backend.run_inline(plan.launch, result)) result = backend.wait(backend.submit(plan.launch));
    span.end = std::chrono::steady_clock::now();
    m.record_loop_launch(std::move(span));
    if (result.fault) {
        const std::uint32_t pc = m.state().pc;
        const Kernel& kernel = *plan.launch.kernel;
        if (result.fault.kind == KernelFault::Kind::Interrupted) {
            *trap = kernel_trap(mod, kernel, result.fault, pc, plan.launch.max_iterations);
        } else {
            *trap = Trap{TrapKind::Unsupported, pc,
                         "loop " + describe_loop(mod, l) + " faulted, which the assembler should have ruled out (run with "
                         "--no-loop-kernels): " + describe_kernel_fault(mod, kernel, result.fault, plan.launch.max_iterations)};
        }
        return false;
    }
    // 6. Each reduction's lanes in lane order, from the register's value;
    // a last value from the last lane whose mask says it wrote it.
    const std::uint64_t* mask = nullptr;
    {
        std::size_t k = 0;
        for (const LoopArg& a : l.args) {
            if (a.kind != LoopArg::Kind::Partials) continue;
            if (l.reductions[a.index].op == ReduceOp::LastMask) mask = plan.partials[k].get();
            ++k;
        }
    }
    std::size_t next_partials = 0;
    unsigned last_bit = 0;
    for (const LoopArg& a : l.args) {
        if (a.kind != LoopArg::Kind::Partials) continue;
        const LoopReduction& r = l.reductions[a.index];
        if (r.op == ReduceOp::LastMask) {
            ++next_partials;
            continue;
        }
        if (r.op == ReduceOp::Last) {
            const std::uint64_t* values = plan.partials[next_partials++].get();
            const std::uint64_t bit = std::uint64_t{1} << last_bit++;
            for (std::uint64_t g = plan.lanes; g-- > 0;)
                if (mask != nullptr && (mask[g] & bit)) {
                    plan.writes.push_back({r.is_float, r.reg, values[g]});
                    break;
                }
            continue;  // no lane wrote it: it keeps its value from before the loop
        }
        const RegisterFile& regs = m.state().regs;
        std::uint64_t acc = r.is_float ? std::bit_cast<std::uint64_t>(regs.f[r.reg]) : static_cast<std::uint64_t>(regs.r[r.reg]);
        acc = fold(r.op, acc, plan.partials[next_partials++].get(), plan.lanes);
        plan.writes.push_back({r.is_float, r.reg, acc});
    }
    // 7. The scalar loop runs the last iteration.
    plan.writes.push_back({false, l.induction, static_cast<std::uint64_t>(plan.last_i)});
    ++m.loop_kernel_stats().kernels;
    m.loop_kernel_stats().iterations += plan.iterations;
    return true;
}

}  // namespace polymer
