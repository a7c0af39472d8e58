// kloop's slow path (vm/loop_kernel.h): the design's steps 1-7 in
// docs/loop-kernels.md, "How kloop runs a loop".
#include "vm/loop_kernel.h"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <optional>

#include "isa/loop_trip.h"
#include "vm/backend.h"
#include "vm/loop_kernel_plain.h"
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
    case ReduceOp::Fadd:
    case ReduceOp::FaddAnyOrder: return std::bit_cast<std::uint64_t>(fa + fv);
    case ReduceOp::Fmin: return std::bit_cast<std::uint64_t>(sem::fmin(fa, fv));
    case ReduceOp::Fmax: return std::bit_cast<std::uint64_t>(sem::fmax(fa, fv));
    case ReduceOp::Last:
    case ReduceOp::LastMask: return value;  // not folded: run_loop_launch picks the last lane's
    }
    return acc;
}

// One reduction's fold across the segments: acc op p[0] op p[1] ... in
// iteration order, the common ops as plain loops. FaddAnyOrder (a
// `.reassociate` procedure's fadd) instead keeps kFoldWays sums: each group
// of kFoldGroupLanes iterations is summed in kFoldWays interleaved ways
// (iteration j's partial into way j % kFoldWays), each group's ways are
// added to ours in group order, and kloop adds ours to the register in
// order at the end: one fixed order, so every backend, every segment size
// and a backend that folds groups itself give the same bits, at vector
// speed rather than one dependent add each.
class Fold {
public:
    static_assert(kFoldGroupLanes % kFoldWays == 0);  // a segment's first iteration is a multiple of both

    explicit Fold(ReduceOp op, std::uint64_t acc) : op_(op), acc_(acc) { ways_.fill(-0.0); }

    void add(const std::uint64_t* parts, std::uint64_t n) {
        switch (op_) {
        case ReduceOp::Add: {  // wraps, as sem::add; exact in any order, so four sums
            std::uint64_t s[4] = {acc_, 0, 0, 0};
            std::uint64_t j = 0;
            for (; j + 4 <= n; j += 4)
                for (unsigned w = 0; w < 4; ++w) s[w] += parts[j + w];
            for (; j < n; ++j) s[0] += parts[j];
            acc_ = s[0] + s[1] + s[2] + s[3];
            return;
        }
        case ReduceOp::Fadd: {
            double sum = std::bit_cast<double>(acc_);
            for (std::uint64_t j = 0; j < n; ++j) sum += std::bit_cast<double>(parts[j]);
            acc_ = std::bit_cast<std::uint64_t>(sum);
            return;
        }
        case ReduceOp::FaddAnyOrder:  // a group's ways, as a folding backend makes them, then into ours
            for (std::uint64_t g = 0; g < n; g += kFoldGroupLanes) {
                std::array<double, kFoldWays> group;
                group.fill(-0.0);
                add_in_ways(group, std::min(kFoldGroupLanes, n - g), [&](std::uint64_t i) { return std::bit_cast<double>(parts[g + i]); });
                for (unsigned w = 0; w < kFoldWays; ++w) ways_[w] += group[w];
            }
            return;
        default:
            for (std::uint64_t j = 0; j < n; ++j) acc_ = combine(op_, acc_, parts[j]);
            return;
        }
    }

    // The slots a backend that folds in groups wrote for `lanes` lanes
    // (KernelLaunch::group_folds): the same bits as add() of their partials.
    void add_groups(const std::uint64_t* slots, std::uint64_t lanes) {
        const std::uint64_t groups = (lanes + kFoldGroupLanes - 1) / kFoldGroupLanes;
        if (op_ != ReduceOp::FaddAnyOrder) return add(slots, groups);  // exact in any order
        for (std::uint64_t g = 0; g < groups; ++g)
            for (unsigned w = 0; w < kFoldWays; ++w) ways_[w] += std::bit_cast<double>(slots[g * kFoldWays + w]);
    }

    std::uint64_t result() const {
        if (op_ != ReduceOp::FaddAnyOrder) return acc_;
        double sum = std::bit_cast<double>(acc_);
        for (double w : ways_) sum += w;
        return std::bit_cast<std::uint64_t>(sum);
    }

private:
    ReduceOp op_;
    std::uint64_t acc_;
    std::array<double, kFoldWays> ways_;
};

// Lanes per launch: a reduction's partials (8 bytes a lane each) in
// segments of about kSegmentBytes, which stay in the cache between the
// kernel writing and kloop folding them, where a segment runs on the host's
// cores; one launch where a launch costs more (a GPU, lavapipe, the cluster).
std::uint64_t segment_lanes(Machine& m, const LoopKernel& l, KernelLaunch segment) {
    constexpr std::uint64_t kSegmentBytes = std::uint64_t{1} << 20;  // docs/loop-kernels.md, "How kloop runs a loop"
    const std::uint64_t lanes = segment.count;
    if (l.reductions.empty()) return lanes;
    const std::uint64_t per_lane = 8 * l.reductions.size();
    segment.count = segment.end = std::min(lanes, std::max<std::uint64_t>(4096, std::bit_floor(kSegmentBytes / per_lane)));
    return m.backend().runs_on_host_cores(segment) ? segment.count : lanes;
}

// With a plain kernel (vm/loop_kernel_plain.h): the iterations at the end
// that record their last values first, and earlier ones, kLastValueSearch at
// a time, only when needed. The tail is small so that its launch costs
// little anywhere: on the CPU backend a few blocks, and on lavapipe it is
// routed to the CPU (below the crossover for kernels with a loop), which
// saves making a second pipeline (about 2 ms there; docs/loop-kernels.md).
constexpr std::uint64_t kLastValueTail = 2048;
constexpr std::uint64_t kLastValueSearch = 16384;

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
    plan.lanes = lanes;
    plan.i0 = i0;
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
            k.region = const_cast<Region*>(g);  // the backend may fence it (Backend::bring_home)
            break;
        }
        case LoopArg::Kind::IntReg:
            k.uniform = static_cast<std::uint64_t>(regs.r[a.index]);
            if (a.index == l.induction) plan.start_arg = j;  // i0: what a segment rebases
            break;
        case LoopArg::Kind::FloatReg: k.uniform = std::bit_cast<std::uint64_t>(regs.f[a.index]); break;
        case LoopArg::Kind::IntConst: k.uniform = static_cast<std::uint64_t>(mod.int_consts[a.index]); break;
        case LoopArg::Kind::FloatConst: k.uniform = std::bit_cast<std::uint64_t>(mod.float_consts[a.index]); break;
        case LoopArg::Kind::Iterations: k.uniform = plan.iterations; break;
        case LoopArg::Kind::Partials: break;  // below, once the segment's size is known
        }
    }
    // Two region operands that turn out to be one region (a handle), written by the kernel.
    for (std::size_t j = 0; j < regions.size(); ++j)
        for (std::size_t k = j + 1; k < regions.size(); ++k)
            if (regions[j] != nullptr && regions[j] == regions[k] && l.args[j].index != l.args[k].index &&
                (kernel.params[j].access != Access::In || kernel.params[k].access != Access::In))
                return scalar(LoopScalarReason::Aliasing);
    plan.segment = segment_lanes(m, l, launch);
    // Last values only: recorded for a tail, on a backend of this machine
    // (the cluster's nodes know only the module's kernels).
    if (m.backend().capabilities()) plan.plain = m.plain_loop_kernel(plan.entry);
    if (plan.plain != nullptr) plan.segment = std::min(plan.segment, kLastValueSearch);
    // A reduction keeps one 8-byte partial per lane of a segment: at most 1 GiB of them.
    constexpr std::uint64_t kMaxPartialLanes = std::uint64_t{1} << 27;
    // Reductions a backend can fold in groups of lanes, where it does: one
    // launch, or few, with a few values a group to fold. The buffers keep a
    // lane's room each (untouched, so never in memory): a segment the
    // backend turns out not to fold stores its partials there.
    const bool groupable = plan.plain == nullptr && !l.reductions.empty() &&
                           std::all_of(l.reductions.begin(), l.reductions.end(),
                                       [](const LoopReduction& r) { return folds_in_groups(r.op); });
    if (groupable) {
        for (std::size_t j = 0; j < l.args.size(); ++j)
            if (l.args[j].kind == LoopArg::Kind::Partials)
                launch.group_folds.push_back({static_cast<std::uint32_t>(j), l.reductions[l.args[j].index].op});
        if (m.backend().folds_groups(launch)) plan.segment = std::min(lanes, kMaxPartialLanes);
        else launch.group_folds.clear();
    }
    if (!l.reductions.empty() && plan.segment > kMaxPartialLanes) return scalar(LoopScalarReason::TooManyLanes);
    plan.partial_sets = plan.plain == nullptr && plan.segment < plan.lanes ? 2 : 1;
    for (std::size_t set = 0; set < plan.partial_sets; ++set)
        for (std::size_t j = 0; j < l.args.size(); ++j) {
            if (l.args[j].kind != LoopArg::Kind::Partials) continue;
            launch.args[j].data = plan.partials.emplace_back(new std::uint64_t[plan.segment]).get();
            launch.args[j].length = plan.segment;
        }
    return true;
}

bool run_loop_launch(Machine& m, LoopLaunch& plan, Trap* trap) {
    const Module& mod = m.module();
    const LoopKernel& l = mod.loop_kernels[plan.entry];
    const RegisterFile& regs = m.state().regs;
    // 6. Each reduction folds its lanes in lane order, from the register's
    // value; a last value comes from the last lane whose mask bit says it
    // wrote it (a lane of a later segment wins).
    std::vector<Fold> folds;
    std::vector<std::optional<std::uint64_t>> last(l.reductions.size());
    for (const LoopReduction& r : l.reductions)
        folds.emplace_back(r.op, r.is_float ? std::bit_cast<std::uint64_t>(regs.f[r.reg]) : static_cast<std::uint64_t>(regs.r[r.reg]));
    std::vector<std::size_t> reduction_of, partial_args;  // per partials buffer: its reduction, its argument
    std::size_t mask_buffer = l.args.size();
    for (std::size_t j = 0; j < l.args.size(); ++j) {
        const LoopArg& a = l.args[j];
        if (a.kind != LoopArg::Kind::Partials) continue;
        if (l.reductions[a.index].op == ReduceOp::LastMask) mask_buffer = reduction_of.size();
        reduction_of.push_back(a.index);
        partial_args.push_back(j);
    }
    // `earlier`: these lanes come before every lane folded so far (a last
    // value found already stays).
    // `set`: the partials' set the segment wrote; `grouped`: the backend
    // folded them in groups (KernelLaunch::group_folds).
    auto fold_segment = [&](std::uint64_t n, bool earlier, std::size_t set, bool grouped = false) {
        const auto* partials = plan.partials.data() + set * reduction_of.size();  // none without reductions
        const std::uint64_t* mask = mask_buffer < reduction_of.size() ? partials[mask_buffer].get() : nullptr;
        unsigned last_bit = 0;
        for (std::size_t k = 0; k < reduction_of.size(); ++k) {
            const std::size_t j = reduction_of[k];
            const ReduceOp op = l.reductions[j].op;
            if (op == ReduceOp::LastMask) continue;
            if (op != ReduceOp::Last) {
                if (grouped) folds[j].add_groups(partials[k].get(), n);
                else folds[j].add(partials[k].get(), n);
                continue;
            }
            const std::uint64_t bit = std::uint64_t{1} << last_bit++;
            if (earlier && last[j]) continue;
            for (std::uint64_t g = n; g-- > 0;)
                if (mask != nullptr && (mask[g] & bit)) {
                    last[j] = partials[k][g];
                    break;
                }
        }
    };
    auto every_last_found = [&] {
        for (std::size_t j = 0; j < l.reductions.size(); ++j)
            if (l.reductions[j].op == ReduceOp::Last && !last[j]) return false;
        return true;
    };

    // 5. kloop is E_SYNC: the long operations before it are done first.
    Backend& backend = m.backend();
    backend.wait_all();
    KernelLaunch& launch = plan.launch;
    const Kernel* recording = launch.kernel;
    LoopLaunchSpan span{launch, std::chrono::steady_clock::now(), {}};
    span.launch.count = span.launch.end = plan.lanes;  // the trace shows the whole loop as one launch
    // Lanes [first, first + n) of the loop on `kernel`, rebased so that its
    // lane 0 is iteration `first` (i0 + first * step, in range as the last
    // iteration's value is). False with *trap set when a lane faulted.
    auto aim = [&](const Kernel* kernel, std::uint64_t first, std::uint64_t n) {
        launch.kernel = kernel;
        launch.count = launch.end = n;
        launch.args[plan.start_arg].uniform = static_cast<std::uint64_t>(plan.i0) + first * static_cast<std::uint64_t>(l.step);
    };
    // After a segment ran: true, or false with *trap set when a lane faulted.
    auto ran = [&](const Kernel* kernel, std::uint64_t first, const VectorOpResult& result) {
        if (!result.fault) return true;
        span.end = std::chrono::steady_clock::now();
        m.record_loop_launch(std::move(span));
        const std::uint32_t pc = m.state().pc;
        KernelFault fault = result.fault;
        fault.lane += static_cast<std::uint32_t>(first);
        if (fault.kind == KernelFault::Kind::Interrupted) {
            *trap = kernel_trap(mod, *kernel, fault, pc, launch.max_iterations);
        } else {
            *trap = Trap{TrapKind::Unsupported, pc,
                         "loop " + describe_loop(mod, l) + " faulted, which the assembler should have ruled out (run with "
                         "--no-loop-kernels): " + describe_kernel_fault(mod, *kernel, fault, launch.max_iterations)};
        }
        return false;
    };
    auto run_lanes = [&](const Kernel* kernel, std::uint64_t first, std::uint64_t n) {
        aim(kernel, first, n);
        VectorOpResult result;
        if (!backend.run_inline(launch, result)) result = backend.wait(backend.submit(launch));
        return ran(kernel, first, result);
    };
    if (plan.plain == nullptr) {
        // Segment k writes partials set k % 2. One submitted segment may be
        // in flight while kloop folds the one before it, so the backend's
        // threads never wait for the fold; folds stay in segment order.
        struct InFlight {
            Ticket ticket;
            std::uint64_t first, n;
            std::size_t set;
            bool grouped;
        };
        std::optional<InFlight> in_flight;
        auto finish_in_flight = [&] {
            const InFlight f = *in_flight;
            in_flight.reset();
            if (!ran(recording, f.first, backend.wait(f.ticket))) return false;
            fold_segment(f.n, false, f.set, f.grouped);
            return true;
        };
        std::size_t set = 0;
        for (std::uint64_t first = 0; first < plan.lanes; first += plan.segment, set = (set + 1) % plan.partial_sets) {
            const std::uint64_t n = std::min(plan.segment, plan.lanes - first);
            aim(recording, first, n);
            for (std::size_t k = 0; k < reduction_of.size(); ++k)
                launch.args[partial_args[k]].data = plan.partials[set * reduction_of.size() + k].get();
            // Asked again for each launch (its size may route it elsewhere);
            // a no stays no, and folding its lanes' partials gives the same bits.
            if (!launch.group_folds.empty() && !backend.folds_groups(launch)) launch.group_folds.clear();
            const bool grouped = !launch.group_folds.empty();
            VectorOpResult result;
            if (backend.run_inline(launch, result)) {
                if (in_flight && !finish_in_flight()) return false;
                if (!ran(recording, first, result)) return false;
                fold_segment(n, false, set, grouped);
                continue;
            }
            const Ticket ticket = backend.submit(launch);
            if (in_flight && !finish_in_flight()) {
                backend.wait(ticket);  // its lanes come after the fault: not reported
                return false;
            }
            in_flight = InFlight{ticket, first, n, set, grouped};
            if (plan.partial_sets == 1 && !finish_in_flight()) return false;  // one set: folded before the next segment writes it
        }
        if (in_flight && !finish_in_flight()) return false;
    } else {
        // Every lane but a tail records nothing; the tail records; a last
        // value none of the tail wrote comes from earlier lanes, run again
        // (exact: they read nothing the loop writes), last ones first.
        // The plain lanes and the tail go to the backend together: a device
        // makes the tail's pipeline while it runs the plain lanes (the
        // launches touch different elements; the tail's result comes second).
        std::uint64_t first = plan.lanes - std::min(kLastValueTail, plan.lanes);
        std::optional<Ticket> plain_ticket;
        if (first > 0) {
            aim(plan.plain, 0, first);
            VectorOpResult result;
            if (backend.run_inline(launch, result)) {
                if (!ran(plan.plain, 0, result)) return false;
            } else {
                plain_ticket = backend.submit(launch);
            }
        }
        aim(recording, first, plan.lanes - first);
        VectorOpResult tail;
        const bool tail_ran = backend.run_inline(launch, tail);
        const std::optional<Ticket> tail_ticket = tail_ran ? std::nullopt : std::optional<Ticket>(backend.submit(launch));
        if (plain_ticket && !ran(plan.plain, 0, backend.wait(*plain_ticket))) {
            if (tail_ticket) backend.wait(*tail_ticket);  // its lanes come after the fault: not reported
            return false;
        }
        if (tail_ticket) tail = backend.wait(*tail_ticket);
        if (!ran(recording, first, tail)) return false;
        fold_segment(plan.lanes - first, false, 0);
        while (first > 0 && !every_last_found()) {
            const std::uint64_t n = std::min(plan.segment, first);
            first -= n;
            if (!run_lanes(recording, first, n)) return false;
            fold_segment(n, true, 0);
        }
    }
    span.end = std::chrono::steady_clock::now();
    m.record_loop_launch(std::move(span));
    for (std::size_t j = 0; j < l.reductions.size(); ++j) {
        const LoopReduction& r = l.reductions[j];
        if (r.op == ReduceOp::LastMask) continue;
        if (r.op == ReduceOp::Last) {
            if (last[j]) plan.writes.push_back({r.is_float, r.reg, *last[j]});
            continue;  // no lane wrote it: it keeps its value from before the loop
        }
        plan.writes.push_back({r.is_float, r.reg, folds[j].result()});
    }
    // 7. The scalar loop runs the last iteration.
    plan.writes.push_back({false, l.induction, static_cast<std::uint64_t>(plan.last_i)});
    ++m.loop_kernel_stats().kernels;
    m.loop_kernel_stats().iterations += plan.iterations;
    return true;
}

}  // namespace polymer

namespace polymer {

const Kernel* PlainLoopKernels::get(const Module& m, std::uint32_t entry) {
    if (entry >= m.loop_kernels.size()) return nullptr;
    if (made_.size() < m.loop_kernels.size()) {
        made_.resize(m.loop_kernels.size(), false);
        kernels_.resize(m.loop_kernels.size());
    }
    if (!made_[entry]) {
        made_[entry] = true;
        if (std::optional<Kernel> k = plain_loop_kernel(m, m.loop_kernels[entry])) kernels_[entry] = std::make_unique<Kernel>(std::move(*k));
    }
    return kernels_[entry].get();
}

}  // namespace polymer
