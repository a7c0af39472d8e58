#include "vm/launch_rounds.h"

#include <algorithm>
#include <optional>

#include "isa/encoding.h"
#include "isa/loop_trip.h"
#include "vm/backend.h"
#include "vm/interrupt.h"
#include "vm/machine.h"

namespace polymer {

namespace {

// The loop's test as compare(counter, bound), from `b<op> A, B` where one of
// A and B is the counter; nothing for a branch that is no such test.
std::optional<LoopCompare> counter_test(Op op, bool counter_first) {
    switch (op) {
    case Op::Blt: return counter_first ? LoopCompare::Lt : LoopCompare::Gt;
    case Op::Bge: return counter_first ? LoopCompare::Ge : LoopCompare::Le;
    case Op::Bltu: return counter_first ? LoopCompare::Ltu : LoopCompare::Gtu;
    case Op::Bgeu: return counter_first ? LoopCompare::Geu : LoopCompare::Leu;
    case Op::Bne: return LoopCompare::Ne;
    default: return std::nullopt;
    }
}

bool reads_int_register(const Module& m, const DecodedInsn& launch, unsigned reg) {
    if (launch.a == reg) return true;  // the lane count
    for (const LaunchArg& a : m.launches.at(static_cast<std::uint32_t>(launch.imm)).args) {
        if (a.kind == LaunchArg::Kind::IntReg && a.index == reg) return true;
        if (a.kind == LaunchArg::Kind::Region && is_handle_operand(a.index) && handle_register(a.index) == reg) return true;
    }
    return false;
}


// The buffer arguments of `body`, each call with the parameter it fills.
template <class Each>
void for_each_buffer(std::span<const KernelLaunch> body, Each each) {
    for (const KernelLaunch& l : body)
        for (std::size_t i = 0; i < l.args.size() && i < l.kernel->params.size(); ++i)
            if (l.kernel->params[i].kind == ParamKind::Buffer && l.args[i].data != nullptr) each(l.args[i], l.kernel->params[i]);
}

}  // namespace

std::vector<LaunchLoop> find_launch_loops(const Module& m, const std::vector<DecodedInsn>& code) {
    std::vector<LaunchLoop> loops;
    for (std::size_t i = 1; i + 1 < code.size(); ++i) {
        const DecodedInsn& step = code[i];
        const DecodedInsn& branch = code[i + 1];
        if (step.op != Op::Addi || step.a != step.b || step.imm == 0) continue;
        const bool counter_first = branch.a == step.a;
        if (!counter_first && branch.b != step.a) continue;
        if (branch.a == branch.b) continue;
        const std::optional<LoopCompare> compare = counter_test(branch.op, counter_first);
        if (!compare || branch.imm < 0 || static_cast<std::size_t>(branch.imm) >= i) continue;
        const auto head = static_cast<std::uint32_t>(branch.imm);
        bool body_is_launches = true;
        for (std::size_t j = head; j < i && body_is_launches; ++j)
            body_is_launches = code[j].op == Op::Launch && !reads_int_register(m, code[j], step.a);
        if (!body_is_launches) continue;
        loops.push_back(LaunchLoop{head, static_cast<std::uint32_t>(i - head), step.a,
                                   counter_first ? branch.b : branch.a, step.imm, *compare});
    }
    return loops;  // ascending: each loop's head is below its step, and the steps ascend
}

bool run_launch_rounds(Machine& m, LaunchLoop& loop, std::uint64_t& steps, bool& trapped) {
    MachineState& st = m.state();
    const std::int64_t counter = st.regs.r[loop.counter];
    const std::optional<std::uint64_t> rounds =
        loop_trip_count(loop.compare, /*tested_first=*/false, loop.step, counter, st.regs.r[loop.bound]);
    if (!rounds || *rounds < 2) return false;
    std::vector<KernelLaunch> body(loop.launches);
    for (std::uint32_t j = 0; j < loop.launches; ++j)
        if (!m.launch_args(m.code()[loop.head + j], st.regs, body[j], nullptr)) return false;

    const std::optional<RoundsResult> taken = m.backend().run_rounds(body, *rounds);
    LaunchRoundStats& stats = m.launch_round_stats();
    if (!taken) {
        loop.declined = true;
        ++stats.declined;
        return false;
    }
    const RoundsResult& r = *taken;
    const std::uint64_t launched = r.launches_run(loop.launches, *rounds);
    ++stats.loops;
    stats.rounds += r.fault ? r.rounds_done + 1 : *rounds;
    stats.launches += launched;
    m.count_launch(launched);
    const std::uint64_t words = loop.launches + 2;  // a round's: the launches, the step, the branch
    if (r.fault) {
        // As the loop run word by word stands at launch `r.launch` of round `rounds_done`.
        st.regs.r[loop.counter] = counter + static_cast<std::int64_t>(r.rounds_done) * loop.step;
        steps += r.rounds_done * words + r.launch;
        st.pc = loop.head + r.launch;
        const KernelLaunch& l = body[r.launch];
        m.raised_trap() = kernel_trap(m.module(), *l.kernel, r.fault, st.pc, l.max_iterations);
        trapped = true;
        return true;
    }
    st.regs.r[loop.counter] = counter + static_cast<std::int64_t>(*rounds) * loop.step;
    steps += *rounds * words - 1;  // the head's launch was counted at its dispatch
    st.pc = loop.head + loop.launches + 2;
    trapped = false;
    return true;
}

bool rounds_run_by_pieces(std::span<const KernelLaunch> body) {
    if (body.empty()) return false;
    for (const KernelLaunch& l : body)
        if (l.kernel == nullptr || l.begin != body[0].begin || l.end != body[0].end || l.count != body[0].count ||
            !l.group_folds.empty())
            return false;
    std::vector<const void*> written;
    for_each_buffer(body, [&](const KernelArg& a, const KernelParam& p) {
        if (p.access != Access::In) written.push_back(a.data);
    });
    bool by_pieces = true;
    for_each_buffer(body, [&](const KernelArg& a, const KernelParam& p) {
        if (p.indexing != Indexing::Element && std::find(written.begin(), written.end(), a.data) != written.end())
            by_pieces = false;
    });
    return by_pieces;
}

std::uint64_t element_bytes_per_lane(std::span<const KernelLaunch> body) {
    std::vector<const void*> seen;
    std::uint64_t bytes = 0;
    for_each_buffer(body, [&](const KernelArg& a, const KernelParam& p) {
        if (p.indexing != Indexing::Element || std::find(seen.begin(), seen.end(), a.data) != seen.end()) return;
        seen.push_back(a.data);
        bytes += elem_size(p.type);
    });
    return bytes;
}

std::string launch_round_stats_text(const LaunchRoundStats& s) {
    return std::to_string(s.loops) + (s.loops == 1 ? " loop" : " loops") + " ran as rounds on the backend (" +
           std::to_string(s.rounds) + " rounds, " + std::to_string(s.launches) + " launches); " + std::to_string(s.declined) +
           " declined by it, run word by word";
}

RoundsResult run_rounds_one_by_one(Backend& backend, std::span<const KernelLaunch> body, std::uint64_t rounds) {
    RoundsResult r;
    for (; r.rounds_done < rounds; ++r.rounds_done) {
        for (r.launch = 0; r.launch < body.size(); ++r.launch) {
            const KernelLaunch& l = body[r.launch];
            if (interrupt_requested()) {
                r.fault.kind = KernelFault::Kind::Interrupted;
                return r;
            }
            if (l.count == 0) continue;
            VectorOpResult result;
            if (!backend.run_inline(l, result)) result = backend.wait(backend.submit(l));
            if (result.fault) {
                r.fault = result.fault;
                return r;
            }
        }
    }
    r.launch = 0;
    return r;
}

}  // namespace polymer
