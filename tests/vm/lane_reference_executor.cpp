// The first CPU kernel executor, one lane at a time over the IR with control
// flow resolved to jump targets: kept as the tests' reference for the block
// interpreter (vm/cpu_kernels/block_interpreter.h), which must agree with it
// bit for bit. Test code only; single-threaded.
#include "tests/vm/lane_reference_executor.h"

#include <algorithm>

#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "isa/encoding.h"
#include "isa/opcodes.h"

namespace polymer {
namespace {

// jump[pc]: where If (when false), Else, Break, Continue and loop End go.
std::vector<std::uint32_t> resolve_jumps(const std::vector<Word>& code) {
    std::vector<std::uint32_t> jump(code.size(), 0);
    struct Open { KOp op; std::uint32_t pc; std::uint32_t else_pc; };
    std::vector<Open> open;
    std::vector<std::vector<std::uint32_t>> loop_breaks;
    const auto n = static_cast<std::uint32_t>(code.size());
    for (std::uint32_t pc = 0; pc < n; ++pc) {
        const auto op = static_cast<KOp>(word_op(code[pc]));
        switch (kop_effect(op)) {
        case KEffect::Pure: case KEffect::Uniform: case KEffect::Length: case KEffect::Load: case KEffect::Store:
        case KEffect::Atomic: case KEffect::Exit:
            break;
        case KEffect::If: open.push_back({op, pc, n}); break;
        case KEffect::Loop: open.push_back({op, pc, n}); loop_breaks.emplace_back(); break;
        case KEffect::Else:
            if (!open.empty()) { jump[open.back().pc] = pc + 1; open.back().else_pc = pc; }
            break;
        case KEffect::Break: case KEffect::Continue: {
            // The innermost loop.
            for (auto it = open.rbegin(); it != open.rend(); ++it)
                if (it->op == KOp::Loop) {
                    if (op == KOp::Continue) jump[pc] = it->pc + 1;
                    else loop_breaks.back().push_back(pc);
                    break;
                }
            break;
        }
        case KEffect::End:
            if (open.empty()) break;
            if (open.back().op == KOp::If) {
                if (open.back().else_pc < n) jump[open.back().else_pc] = pc + 1;
                else jump[open.back().pc] = pc + 1;
            } else {
                jump[pc] = open.back().pc + 1;
                for (auto b : loop_breaks.back()) jump[b] = pc + 1;
                loop_breaks.pop_back();
            }
            open.pop_back();
            break;
        }
    }
    return jump;
}

float bits_to_float(std::uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

std::int32_t ftoi_saturating(float f) {
    if (std::isnan(f)) return 0;
    if (f >= 2147483648.0f) return std::numeric_limits<std::int32_t>::max();
    if (f < -2147483648.0f) return std::numeric_limits<std::int32_t>::min();
    return static_cast<std::int32_t>(f);
}

std::int32_t wrap(std::int64_t v) { return static_cast<std::int32_t>(static_cast<std::uint32_t>(v)); }
std::uint32_t u(std::int32_t v) { return static_cast<std::uint32_t>(v); }

}  // namespace

namespace {

// The kernel contract checked on every access, with no proof: an [i]
// buffer at the lane's own element only, a whole one inside its length.
// Lanes run in order, so the first fault is the lowest lane's.
KernelFault run_lanes(const KernelLaunch& launch, const std::vector<std::uint32_t>& jump, std::uint64_t first,
                      std::uint64_t last) {
    const Kernel& k = *launch.kernel;
    const auto& code = k.code;
    const auto n = static_cast<std::uint32_t>(code.size());
    const auto& args = launch.args;
    KernelFault fault;
    for (std::uint64_t lane = first; lane < last; ++lane) {
        std::int32_t r[kKernelIntRegisters] = {};
        float f[kKernelFloatRegisters] = {};
        std::uint64_t iterations = 0;
        for (std::uint32_t pc = 0; pc < n;) {
            const Word w = code[pc];
            const std::uint8_t a = word_a(w) & 31, b = word_b(w) & 31, c = word_c(w);
            const std::uint8_t c5 = c & 31;
            const std::int32_t imm = word_imm(w);
            std::uint32_t next = pc + 1;
            const KOp op = static_cast<KOp>(word_op(w));
            const KEffect effect = kop_effect(op);
            if (reads_buffer(effect) || writes_buffer(effect)) {
                const std::uint64_t length = c < args.size() && args[c].data != nullptr ? args[c].length : 0;
                const bool element = c < k.params.size() && k.params[c].indexing == Indexing::Element;
                const bool window = c < k.params.size() && k.params[c].indexing == Indexing::Window;
                const std::int64_t offset = std::int64_t{r[b]} - static_cast<std::int64_t>(lane);
                const bool ok = r[b] >= 0 && static_cast<std::uint64_t>(r[b]) < length &&
                                (!element || static_cast<std::uint64_t>(r[b]) == lane) &&
                                (!window || (offset >= k.params[c].window_lo && offset <= k.params[c].window_hi));
                if (!ok) {
                    if (!fault) fault = {KernelFault::Kind::BadIndex, static_cast<std::uint32_t>(lane), pc, c, r[b], length};
                    break;
                }
            }
            // An iteration starts at `loop`, and where `end` or `continue` goes back.
            if (op == KOp::Loop || op == KOp::Continue || (op == KOp::End && jump[pc] != 0)) {
                if (++iterations > launch.max_iterations) {
                    const std::uint32_t loop_pc = op == KOp::Loop ? pc : jump[pc] - 1;
                    if (!fault) fault = {KernelFault::Kind::StepBudget, static_cast<std::uint32_t>(lane), loop_pc, 0, 0, 0};
                    break;
                }
            }
            switch (op) {
            case KOp::Nop: break;
            case KOp::Gid: r[a] = static_cast<std::int32_t>(lane); break;
            case KOp::Count: r[a] = static_cast<std::int32_t>(launch.count); break;
            case KOp::Li: r[a] = imm; break;
            case KOp::Lif: f[a] = bits_to_float(static_cast<std::uint32_t>(imm)); break;
            case KOp::Mov: r[a] = r[b]; break;
            case KOp::Fmov: f[a] = f[b]; break;
            case KOp::Add: r[a] = wrap(std::int64_t{r[b]} + r[c5]); break;
            case KOp::Sub: r[a] = wrap(std::int64_t{r[b]} - r[c5]); break;
            case KOp::Mul: r[a] = wrap(std::int64_t{r[b]} * r[c5]); break;
            case KOp::Div:
                r[a] = r[c5] == 0 ? 0 : (r[c5] == -1 ? wrap(-std::int64_t{r[b]}) : r[b] / r[c5]);
                break;
            case KOp::Rem: r[a] = (r[c5] == 0 || r[c5] == -1) ? 0 : r[b] % r[c5]; break;
            case KOp::Divu: r[a] = r[c5] == 0 ? 0 : static_cast<std::int32_t>(u(r[b]) / u(r[c5])); break;
            case KOp::Remu: r[a] = r[c5] == 0 ? 0 : static_cast<std::int32_t>(u(r[b]) % u(r[c5])); break;
            case KOp::And: r[a] = r[b] & r[c5]; break;
            case KOp::Or: r[a] = r[b] | r[c5]; break;
            case KOp::Xor: r[a] = r[b] ^ r[c5]; break;
            case KOp::Shl: r[a] = static_cast<std::int32_t>(static_cast<std::uint32_t>(r[b]) << (r[c5] & 31)); break;
            case KOp::Shr: r[a] = static_cast<std::int32_t>(static_cast<std::uint32_t>(r[b]) >> (r[c5] & 31)); break;
            case KOp::Sar: r[a] = r[b] >> (r[c5] & 31); break;
            case KOp::Min: r[a] = std::min(r[b], r[c5]); break;
            case KOp::Max: r[a] = std::max(r[b], r[c5]); break;
            case KOp::Neg: r[a] = wrap(-std::int64_t{r[b]}); break;
            case KOp::Not: r[a] = ~r[b]; break;
            case KOp::Addi: r[a] = wrap(std::int64_t{r[b]} + imm); break;
            case KOp::Muli: r[a] = wrap(std::int64_t{r[b]} * imm); break;
            case KOp::Andi: r[a] = r[b] & imm; break;
            case KOp::Ori: r[a] = r[b] | imm; break;
            case KOp::Xori: r[a] = r[b] ^ imm; break;
            case KOp::Shli: r[a] = static_cast<std::int32_t>(u(r[b]) << imm); break;
            case KOp::Shri: r[a] = static_cast<std::int32_t>(u(r[b]) >> imm); break;
            case KOp::Sari: r[a] = r[b] >> imm; break;
            case KOp::Eq: r[a] = r[b] == r[c5]; break;
            case KOp::Ne: r[a] = r[b] != r[c5]; break;
            case KOp::Lt: r[a] = r[b] < r[c5]; break;
            case KOp::Le: r[a] = r[b] <= r[c5]; break;
            case KOp::Ltu: r[a] = u(r[b]) < u(r[c5]); break;
            case KOp::Leu: r[a] = u(r[b]) <= u(r[c5]); break;
            case KOp::Fadd: f[a] = f[b] + f[c5]; break;
            case KOp::Fsub: f[a] = f[b] - f[c5]; break;
            case KOp::Fmul: f[a] = f[b] * f[c5]; break;
            case KOp::Fdiv: f[a] = f[b] / f[c5]; break;
            // GLSL min/max: min(x, y) = y < x ? y : x.
            case KOp::Fmin: f[a] = f[c5] < f[b] ? f[c5] : f[b]; break;
            case KOp::Fmax: f[a] = f[b] < f[c5] ? f[c5] : f[b]; break;
            case KOp::Fpow: f[a] = std::pow(f[b], f[c5]); break;
            case KOp::Ffma: f[a] = std::fma(f[b], f[c5], f[imm & 31]); break;
            case KOp::Fneg: f[a] = -f[b]; break;
            case KOp::Fabs: f[a] = std::fabs(f[b]); break;
            case KOp::Fsqrt: f[a] = std::sqrt(f[b]); break;
            case KOp::Ffloor: f[a] = std::floor(f[b]); break;
            case KOp::Fsin: f[a] = std::sin(f[b]); break;
            case KOp::Fcos: f[a] = std::cos(f[b]); break;
            case KOp::Fexp: f[a] = std::exp(f[b]); break;
            case KOp::Flog: f[a] = std::log(f[b]); break;
            case KOp::Feq: r[a] = f[b] == f[c5]; break;
            case KOp::Flt: r[a] = f[b] < f[c5]; break;
            case KOp::Fle: r[a] = f[b] <= f[c5]; break;
            case KOp::Itof: f[a] = static_cast<float>(r[b]); break;
            case KOp::Ftoi: r[a] = ftoi_saturating(f[b]); break;
            case KOp::Ld: r[a] = static_cast<const std::int32_t*>(args[c].data)[r[b]]; break;
            case KOp::Ldf: f[a] = static_cast<const float*>(args[c].data)[r[b]]; break;
            case KOp::St: static_cast<std::int32_t*>(args[c].data)[r[b]] = r[a]; break;
            case KOp::Stf: static_cast<float*>(args[c].data)[r[b]] = f[a]; break;
            case KOp::AtAdd: {
                auto* p = static_cast<std::uint32_t*>(args[c].data) + r[b];
                std::atomic_ref<std::uint32_t>(*p).fetch_add(static_cast<std::uint32_t>(r[a]), std::memory_order_relaxed);
                break;
            }
            case KOp::Ldp: r[a] = word_b(w) < args.size() ? static_cast<std::int32_t>(args[word_b(w)].uniform) : 0; break;
            case KOp::Ldpf: f[a] = word_b(w) < args.size() ? bits_to_float(static_cast<std::uint32_t>(args[word_b(w)].uniform)) : 0.0f; break;
            case KOp::Blen:
                r[a] = word_b(w) < args.size() ? static_cast<std::int32_t>(args[word_b(w)].length) : 0;
                break;
            case KOp::If: if (r[a] == 0) next = jump[pc]; break;
            case KOp::Else: case KOp::Break: case KOp::Continue: next = jump[pc]; break;
            case KOp::End: if (jump[pc] != 0) next = jump[pc]; break;
            case KOp::Loop: break;
            case KOp::Exit: next = n; break;
            }
            pc = next;
        }
    }
    return fault;
}

}  // namespace

KernelFault run_kernel_launch_lane_by_lane(const KernelLaunch& launch) {
    if (launch.kernel == nullptr || launch.end <= launch.begin) return {};
    return run_lanes(launch, resolve_jumps(launch.kernel->code), launch.begin, launch.end);
}

}  // namespace polymer
