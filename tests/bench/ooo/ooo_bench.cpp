// ooo_bench: run time per execution mode (docs/execution.md) of three programs
// on the CPU backend, next to the bound computed from single-op times measured
// in the same run (nothing here is a pass/fail test):
//
//   independent  K pairs `launch work -> y_i; vsum f_i, y_i`, all independent
//   chain        K kernels, each reading the previous one's output
//   matmuls      K independent `vmatmul c_i; vsum` pairs
//   loop         a loop (unrolled twice over two regions) of matrix products
//                whose exit depends on a reduction of what they wrote
//
// The bound: t_k (one kernel) and t_v (one vsum) are measured alone in order.
// A kernel is split over all P backend threads, a vector op runs on one, so
// K independent pairs need at least K * (t_k + t_v / P) of the P threads'
// time, and no program is faster than its critical path (t_k + t_v for a
// pair; K * t_k + t_v for the chain).
//
// The matrix programs use n x n matrices (n = 512: 262,144 elements, enough to
// go to the CPU pool), t_m one product alone; the loop makes K products.
//
// Usage: ooo_bench [K] [lanes] [iterations per lane] [repeats]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "assembler/assembler.h"
#include "isa/verifier.h"
#include "vm/machine.h"

namespace {

using namespace polymer;

std::string prelude(int regions, long lanes, int iterations) {
    std::string s = ".module bench\n.region x f32[" + std::to_string(lanes) + "] range 0, 0.000001\n";
    for (int i = 0; i < regions; ++i) s += ".region y" + std::to_string(i) + " f32[" + std::to_string(lanes) + "]\n";
    s += R"(
.kernel work (in x: f32[i], out y: f32[i])
        gid     r0
        ldf     f0, x[r0]
        lif     f1, 1.0000001
        li      r1, 0
        li      r2, )" + std::to_string(iterations) + R"(
        loop
            eq      r3, r1, r2
            if      r3
                break
            end
            fmul    f0, f0, f1
            addi    r1, r1, 1
        end
        stf     y[r0], f0
.end
.proc main
        li      r1, )" + std::to_string(lanes) + "\n";
    return s;
}

std::string one_kernel(long lanes, int it) { return prelude(1, lanes, it) + "launch work, r1, x, y0\nwait\nhalt\n.end\n"; }
std::string one_vsum(long lanes, int it) { return prelude(1, lanes, it) + "vsum f1, x\nprintf f1\nhalt\n.end\n"; }

std::string independent(int k, long lanes, int it) {
    std::string s = prelude(k, lanes, it);
    for (int i = 0; i < k; ++i) {
        const std::string y = "y" + std::to_string(i);
        s += "launch work, r1, x, " + y + "\nvsum f" + std::to_string(2 + i % 20) + ", " + y + "\n";
        s += "fadd f1, f1, f" + std::to_string(2 + i % 20) + "\n";
    }
    return s + "printf f1\nhalt\n.end\n";
}

// K independent matrix products (n x n): a vector op runs on one backend
// thread, so in order all but one thread idle.
std::string matmul_regions(int k, int n) {
    std::string s = ".module bench\n.region a f32[" + std::to_string(n * n) + "] fill 0.5\n";
    s += ".region b f32[" + std::to_string(n * n) + "] fill 0.25\n";
    for (int i = 0; i < k; ++i) s += ".region c" + std::to_string(i) + " f32[" + std::to_string(n * n) + "]\n";
    return s;
}

std::string matmuls(int k, int n) {
    std::string s = matmul_regions(k, n) + ".proc main\n        li r1, " + std::to_string(n) + "\n";
    for (int i = 0; i < k; ++i) s += "vmatmul c" + std::to_string(i) + ", a, b, r1\nvsum f2, c" + std::to_string(i) + "\nfadd f1, f1, f2\n";
    return s + "printf f1\nhalt\n.end\n";
}

std::string chain(int k, long lanes, int it) {
    std::string s = prelude(k, lanes, it) + "launch work, r1, x, y0\n";
    for (int i = 1; i < k; ++i) s += "launch work, r1, y" + std::to_string(i - 1) + ", y" + std::to_string(i) + "\n";
    return s + "vsum f1, y" + std::to_string(k - 1) + "\nprintf f1\nhalt\n.end\n";
}

// A loop (unrolled twice over c0 and c1) that multiplies until the running
// total of the products' sums reaches k products' worth: the exit branch
// waits for a reduction, so ooo stops issuing there and spec predicts it.
std::string loop(int k, int n) {
    std::string s = matmul_regions(2, n) + ".proc main\n        li r1, " + std::to_string(n) + "\n";
    s += "lif f8, " + std::to_string(static_cast<double>(k) * n * n * (n * 0.125)) + "\nlif f4, 0.0\n";
    s += R"(top:
        vmatmul c0, a, b, r1
        vsum    f1, c0
        fadd    f4, f4, f1
        flt     r3, f4, f8
        bz      r3, done
        vmatmul c1, a, b, r1
        vsum    f2, c1
        fadd    f4, f4, f2
        flt     r3, f4, f8
        bnz     r3, top
done:   printf  f4
        halt
.end
)";
    return s;
}

Module assemble_or_die(const std::string& source) {
    AssembleResult a = assemble(source);
    for (const Diagnostic& d : a.diagnostics) std::fputs(format_diagnostic(d).c_str(), stderr);
    if (!a.ok() || !verify_module(*a.module)) {
        std::fprintf(stderr, "ooo_bench: the generated program does not assemble\n");
        std::exit(1);
    }
    return std::move(*a.module);
}

struct Timing {
    double seconds = 0;
    std::string output;
};

// Best of `repeats` runs of main (assembly and set-up not timed).
Timing time_run(const Module& m, ExecMode mode, int repeats, std::uint32_t rob = kDefaultRobSize) {
    Timing best{1e30, ""};
    for (int r = 0; r < repeats; ++r) {
        std::string text;
        OutputBuffer out(&text);
        CpuBackend backend;
        MachineOptions o;
        o.exec = mode;
        o.rob_size = rob;
        if (std::getenv("OOO_NO_HANDOFF")) o.interpret_when_idle = false;
        o.backend = &backend;
        auto machine = Machine::create(m, out, o);
        if (!machine) std::exit(1);
        const auto start = std::chrono::steady_clock::now();
        RunResult result = machine.value()->run(*machine.value()->find_proc("main"));
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        out.flush();
        if (result.trap) {
            std::fprintf(stderr, "ooo_bench: trap: %s\n", result.trap->detail.c_str());
            std::exit(1);
        }
        if (s < best.seconds) best = {s, text};
    }
    return best;
}

void row(const char* name, const Module& m, double bound, int repeats) {
    std::printf("%-12s", name);
    std::string reference;
    double in_order = 0;
    for (ExecMode mode : {ExecMode::InOrder, ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec}) {
        Timing t = time_run(m, mode, repeats);
        if (mode == ExecMode::InOrder) reference = t.output, in_order = t.seconds;
        if (t.output != reference) std::printf("(output differs!) ");
        std::printf(" %9.2f", t.seconds * 1e3);
    }
    std::printf(" %9.2f", bound * 1e3);
    (void)in_order;
    std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
    const int k = argc > 1 ? std::atoi(argv[1]) : 8;
    const long lanes = argc > 2 ? std::atol(argv[2]) : 1 << 20;
    const int iterations = argc > 3 ? std::atoi(argv[3]) : 8;
    const int repeats = argc > 4 ? std::atoi(argv[4]) : 5;
    const unsigned threads = CpuBackend().threads();
    const double t_k = time_run(assemble_or_die(one_kernel(lanes, iterations)), ExecMode::InOrder, repeats).seconds;
    const double t_v = time_run(assemble_or_die(one_vsum(lanes, iterations)), ExecMode::InOrder, repeats).seconds;
    std::printf("ooo_bench: K = %d, %ld lanes, %d iterations a lane, best of %d; CPU backend, %u threads\n", k, lanes,
                iterations, repeats, threads);
    std::printf("one kernel t_k = %.2f ms, one vsum t_v = %.2f ms (in order)\n\n", t_k * 1e3, t_v * 1e3);
    std::printf("%-12s %9s %9s %9s %9s %9s   (ms)\n", "program", "in-order", "frames", "ooo", "spec", "bound");
    const double pair_work = k * (t_k + t_v / threads);
    row("independent", assemble_or_die(independent(k, lanes, iterations)), std::max(t_k + t_v, pair_work), repeats);
    const int n = 512;  // 262,144 elements: large enough to go to the CPU pool
    const double t_m = time_run(assemble_or_die(matmuls(1, n)), ExecMode::InOrder, repeats).seconds;
    row("matmuls", assemble_or_die(matmuls(k, n)), std::max(t_m, k * t_m / threads), repeats);
    row("chain", assemble_or_die(chain(k, lanes, iterations)), k * t_k + t_v, repeats);
    row("loop", assemble_or_die(loop(k, n)), std::max(t_m, k * t_m / threads), repeats);

    std::printf("\nROB size, independent program, ooo:");
    const Module ind = assemble_or_die(independent(k, lanes, iterations));
    for (std::uint32_t rob : {2u, 4u, 8u, 16u, 32u, 64u, 128u})
        std::printf("  %u: %.2f ms", rob, time_run(ind, ExecMode::Ooo, repeats, rob).seconds * 1e3);
    std::printf("\n");
}
