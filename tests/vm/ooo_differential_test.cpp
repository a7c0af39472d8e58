// The execution-mode invariant (docs/execution.md): every mode prints the same
// output, stops the same way (halt, or the same trap at the same pc) after the
// same number of instructions, and leaves the same registers and regions as
// in-order. Thousands of random programs (ooo_random_program.cpp) on the CPU
// backend, with ROB sizes from 1 up; a few dozen on lavapipe.
//
// POLYMER_OOO_PROGRAMS=N runs N programs instead of the default (for longer
// local runs, e.g. POLYMER_OOO_PROGRAMS=100000); POLYMER_OOO_SEED=S starts at
// seed S. A failure prints the seed and the program.
#include <gtest/gtest.h>

#include <bit>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "assembler/assembler.h"
#include "isa/verifier.h"
#include "mode_runner.h"
#include "ooo_random_program.h"
#include "vm/backend_chooser.h"
#include "vm/machine.h"

namespace polymer {
namespace {

std::uint64_t env_number(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    return v != nullptr && *v != '\0' ? std::strtoull(v, nullptr, 10) : fallback;
}

using test::difference;
using test::Outcome;
using test::run_mode;

// Compares one mode's outcome with in-order's; returns false on a difference.
bool same(const Outcome& ref, const Outcome& got, const char* mode, std::uint64_t seed, const std::string& proc,
          const std::string& source) {
    const std::string d = difference(ref, got);
    EXPECT_TRUE(d.empty()) << "mode " << mode << ", seed " << seed << ", procedure " << proc << ": " << d
                           << "\nprogram:\n" << source;
    return d.empty();
}

std::optional<Module> assemble_program(const std::string& source) {
    AssembleOptions ao;
    ao.filename = "random.pasm";
    AssembleResult assembled = assemble(source, ao);
    std::string diagnostics;
    for (const Diagnostic& d : assembled.diagnostics)
        if (d.severity == Diagnostic::Severity::Error) diagnostics += format_diagnostic(d);
    EXPECT_TRUE(assembled.ok()) << diagnostics << "\nin:\n" << source;
    if (!assembled.ok()) return std::nullopt;
    Result<Verified> verified = verify_module(*assembled.module);
    EXPECT_TRUE(verified.ok()) << (verified.ok() ? "" : verified.error()) << "\nin:\n" << source;
    if (!verified.ok()) return std::nullopt;
    return std::move(*assembled.module);
}

// Runs `count` programs from `first_seed` in every mode on `backend` (null:
// each machine's own CpuBackend). Stops at the first program that differs.
void run_programs(std::uint64_t first_seed, std::uint64_t count, Backend* backend) {
    static constexpr std::uint32_t kRobSizes[] = {1, 2, 3, 8, 64};
    static constexpr int kProcs = 20;  // programs per module
    std::uint64_t traps = 0, halts = 0, predictions = 0, squashed = 0;
    for (std::uint64_t seed = first_seed; seed < first_seed + (count + kProcs - 1) / kProcs; ++seed) {
        const std::string source = test::random_program(seed, kProcs);
        std::optional<Module> m = assemble_program(source);
        if (!m) return;
        for (int i = 0; i < kProcs; ++i) {
            const std::string proc = "main" + std::to_string(i);
            const Outcome ref = run_mode(*m, proc, ExecMode::InOrder, 0, backend);
            (ref.trap ? traps : halts)++;
            const std::uint32_t rob = kRobSizes[(seed + i) % std::size(kRobSizes)];
            // Every instruction through the ROB (the hand-off off), with ROBs from 1 to 64 entries.
            if (!same(ref, run_mode(*m, proc, ExecMode::Frames, rob, backend), "frames", seed, proc, source)) return;
            if (!same(ref, run_mode(*m, proc, ExecMode::Ooo, rob, backend), "ooo", seed, proc, source)) return;
            Outcome spec = run_mode(*m, proc, ExecMode::Spec, rob, backend);
            predictions += spec.stats.predictions;
            squashed += spec.stats.squashed;
            if (!same(ref, spec, "spec", seed, proc, source)) return;
            // The default set-up: ROB 64, scalar stretches and small long ops on the interpreter.
            for (ExecMode mode : {ExecMode::Frames, ExecMode::Ooo, ExecMode::Spec}) {
                const std::string name = std::string(exec_mode_name(mode)) + "/64 with the hand-off";
                if (!same(ref, run_mode(*m, proc, mode, 64, backend, true), name.c_str(), seed, proc, source)) return;
            }
        }
    }
    // The generator must exercise both endings, or the test proves little.
    if (count >= 200) {
        EXPECT_GT(traps, count / 50) << "too few trapping programs";
        EXPECT_GT(halts, count / 2) << "too few halting programs";
        // and spec must really speculate and squash.
        EXPECT_GT(predictions, count) << "too few predicted branches";
        EXPECT_GT(squashed, count) << "too few squashed instructions";
    }
}

TEST(OooDifferential, RandomProgramsOnTheCpuBackend) {
    run_programs(env_number("POLYMER_OOO_SEED", 1), env_number("POLYMER_OOO_PROGRAMS", 1500), nullptr);
}

TEST(OooDifferential, RandomProgramsOnLavapipe) {
    auto chosen = choose_backend(BackendKind::Vulkan, 0);
    if (!chosen) GTEST_SKIP() << "no Vulkan device: " << chosen.error();
    const std::uint64_t count = std::max<std::uint64_t>(1, env_number("POLYMER_OOO_PROGRAMS", 1500) / 50);
    run_programs(env_number("POLYMER_OOO_SEED", 1) + 1'000'000, count, chosen.value().backend.get());
}

}  // namespace
}  // namespace polymer
