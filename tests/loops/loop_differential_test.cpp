// Loops become kernels, checked against the scalar loops they came from
// (docs/loop-kernels.md). Random loop programs (loop_program.h), generated
// from the opcode table, run through polymer-run with `--no-loop-kernels`
// and with the default, in every execution mode, on the CPU backend and on
// Vulkan: stdout (the program's output, then every register and region as
// the run left them, trap or not), the trap message and the exit status must
// be those of the scalar in-order run. And `polymer-as --report-loops` must
// say one thing about each loop: never "turned into kernel" for a loop that
// holds what a kernel cannot do, and "turned into kernel" for most of the
// loops that could be.
//
// A fixed list of seeds keeps a run short; for a longer hunt by hand:
//     loop_differential_test --seed 1000 --count 200 --gtest_filter='*cpu'
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <iterator>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "assembler/assembler.h"
#include "isa/formats.h"
#include "loop_program.h"

namespace polymer::test {
namespace {

namespace fs = std::filesystem;

std::uint64_t g_first_seed = 1;
int g_count = 8;

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A loop kernel can contain `op` when a wide kernel with it assembles (the
// row's own example), or when it loads a constant from the module's pool
// (`liw`, `lif`: the kernel gets the constant as a uniform).
bool kernel_can_run(Op op) {
    const OpInfo& info = op_info(op);
    const FormatInfo& f = format_info(info.format);
    for (std::size_t k = 0; k < f.count; ++k)
        if (f.operands[k].kind == OperandKind::IntConst || f.operands[k].kind == OperandKind::FloatConst) return true;
    const std::string source = ".kernel probe (out z: i32[i])\n        .wide\n        " + std::string(info.example) +
                               "\n.end\n.proc main\n        halt\n.end\n";
    return assemble(source, {.filename = "probe.pasm"}).ok();
}

LoopProgram program(std::uint64_t seed) { return random_loop_program(seed, kernel_can_run); }

struct Outcome {
    int status = -1;
    std::string out, err;
};

// A folder for one test's programs, and polymer-as and polymer-run on them.
class LoopFiles : public ::testing::Test {
protected:
    void SetUp() override {
        std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
        std::replace(name.begin(), name.end(), '/', '_');
        dir_ = fs::temp_directory_path() / ("polymer_loops_" + std::to_string(::getpid()) + "_" + name);
        fs::create_directories(dir_);
    }
    void TearDown() override {
        if (!HasFailure()) fs::remove_all(dir_);
        else std::cerr << "the programs are kept in " << dir_ << "\n";
    }

    fs::path write(std::uint64_t seed, const LoopProgram& p) {
        const fs::path file = dir_ / ("loops" + std::to_string(seed) + ".pasm");
        std::ofstream(file, std::ios::binary) << p.source;
        return file;
    }

    Outcome run(const std::string& command) {
        const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
        const int raw = std::system((command + " >" + out.string() + " 2>" + err.string()).c_str());
        return {WIFEXITED(raw) ? WEXITSTATUS(raw) : -1, slurp(out), slurp(err)};
    }

    Outcome polymer_run(const fs::path& file, const LoopProgram& p, const std::string& options) {
        std::string command = std::string(POLYMER_RUN) + " " + options + " --dump-registers";
        for (const std::string& r : p.regions) command += " --dump-region " + r;
        return run(command + " " + file.string());
    }

    fs::path dir_;
};

class LoopKernels : public LoopFiles, public ::testing::WithParamInterface<std::string> {};
using LoopReport = LoopFiles;

// The first line where two texts differ, for a message that fits a screen.
std::string first_difference(const std::string& want, const std::string& got) {
    std::istringstream a(want), b(got);
    std::string la, lb;
    for (int n = 1;; ++n) {
        const bool ha = static_cast<bool>(std::getline(a, la)), hb = static_cast<bool>(std::getline(b, lb));
        if (!ha && !hb) return "(the same)";
        if (!ha || !hb || la != lb) {
            auto cut = [](const std::string& s) { return s.size() > 300 ? s.substr(0, 300) + "..." : s; };
            return "line " + std::to_string(n) + ":\n  scalar:  " + (ha ? cut(la) : "(none)") +
                   "\n  this run: " + (hb ? cut(lb) : "(none)");
        }
    }
}

TEST_P(LoopKernels, EveryModeGivesTheScalarLoopsResults) {
    const std::string backend = GetParam();
    std::uint64_t kernel_runs = 0, trapped = 0;
    for (std::uint64_t seed = g_first_seed; seed < g_first_seed + static_cast<std::uint64_t>(g_count); ++seed) {
        const LoopProgram p = program(seed);
        const fs::path file = write(seed, p);
        const Outcome scalar = polymer_run(file, p, "--backend cpu --exec in-order --no-loop-kernels");
        // It ran: it halted, or trapped where it was meant to.
        ASSERT_TRUE(scalar.status == 0 || scalar.status == 2) << file << ": status " << scalar.status << "\n" << scalar.err;
        if (!p.trap.empty() && !p.trap_may_not_fire) {
            ASSERT_EQ(scalar.status, 2) << file << " was meant to trap";
        }
        if (scalar.status == 2) {
            ASSERT_FALSE(p.trap.empty()) << file << " trapped: " << scalar.err;
            ASSERT_NE(scalar.err.find(p.trap), std::string::npos) << file << ": " << scalar.err;
            ++trapped;
        } else {
            ASSERT_EQ(scalar.err, "") << file;
        }
        for (const char* mode : {"in-order", "frames", "ooo", "spec"})
            for (const bool kernels : {true, false}) {
                if (!kernels && backend == "cpu" && std::string(mode) == "in-order") continue;  // the reference
                const std::string options = "--backend " + backend + " --exec " + mode + (kernels ? "" : " --no-loop-kernels");
                const Outcome r = polymer_run(file, p, options);
                EXPECT_EQ(r.status, scalar.status) << file << " " << options << "\n" << r.err;
                EXPECT_EQ(r.err, scalar.err) << file << " " << options;
                EXPECT_TRUE(r.out == scalar.out) << file << " " << options << ": stdout differs at "
                                                 << first_difference(scalar.out, r.out);
                if (r.status != scalar.status || r.err != scalar.err || r.out != scalar.out) return;
            }
        // The default did run loops as kernels (kloop did not just fall through).
        const Outcome stats = run(std::string(POLYMER_RUN) + " --backend " + backend + " --stats " + file.string());
        std::smatch m;
        static const std::regex kLine(R"(loop kernels: (\d+) loops? run as (a )?kernels?)");
        // No line: the assembler turned none of this program's loops (the
        // report test checks which it should have).
        if (std::regex_search(stats.err, m, kLine)) kernel_runs += std::stoull(m[1]);
    }
    RecordProperty("loops_run_as_kernels", static_cast<int>(kernel_runs));
    RecordProperty("programs_trapped", static_cast<int>(trapped));
    EXPECT_GT(kernel_runs, static_cast<std::uint64_t>(g_count)) << "too few loops ran as kernels";
}

// `polymer-as --report-loops`: one line per loop, in the loop's lines.
TEST_F(LoopReport, SaysWhichLoopsBecameKernels) {
    int eligible = 0, turned = 0;
    std::string missed;
    static const std::regex kLine(R"(^loops\d+\.pasm:(\d+): (loop turned into kernel (\S+) \((.*)\)|not turned into a kernel: (.+))$)");
    for (std::uint64_t seed = g_first_seed; seed < g_first_seed + static_cast<std::uint64_t>(g_count); ++seed) {
        const LoopProgram p = program(seed);
        const fs::path file = write(seed, p);
        const Outcome r = run("cd " + dir_.string() + " && " + POLYMER_AS + " --report-loops " + file.filename().string() +
                          " -o " + (dir_ / "out.pbc").string());
        ASSERT_EQ(r.status, 0) << file << "\n" << r.err;
        std::map<std::size_t, int> lines_per_loop;
        std::istringstream in(r.err);
        for (std::string text; std::getline(in, text);) {
            std::smatch m;
            if (text.find(": warning: ") != std::string::npos) continue;
            ASSERT_TRUE(std::regex_match(text, m, kLine)) << file << ": a report line of an unknown form: " << text;
            const int at = std::stoi(m[1]);
            std::size_t k = 0;
            while (k < p.loops.size() && !(p.loops[k].first_line <= at && at <= p.loops[k].last_line)) ++k;
            ASSERT_LT(k, p.loops.size()) << file << ": a report line outside every loop: " << text;
            ++lines_per_loop[k];
            const PlannedLoop& loop = p.loops[k];
            const bool kernel = m[3].matched;
            if (kernel) {
                EXPECT_EQ(m[3].str(), "main.loop" + m[1].str()) << text;
            }
            if (loop.expect == LoopExpect::Scalar) {
                EXPECT_FALSE(kernel) << file << ": loop at lines " << loop.first_line << "-" << loop.last_line
                                     << " has " << loop.what << ", yet: " << text;
            }
            if (loop.expect == LoopExpect::Kernel) {
                ++eligible;
                if (kernel) ++turned;
                else missed += "\n  " + file.filename().string() + " (" + loop.what + "): " + text;
            }
        }
        for (std::size_t k = 0; k < p.loops.size(); ++k)
            EXPECT_EQ(lines_per_loop[k], 1) << file << ": loop at lines " << p.loops[k].first_line << "-"
                                            << p.loops[k].last_line << " has " << lines_per_loop[k] << " report lines";
    }
    RecordProperty("eligible", eligible);
    RecordProperty("turned", turned);
    ASSERT_GT(eligible, 0);
    EXPECT_GE(turned * 4, eligible * 3) << turned << " of " << eligible
                                        << " loops that could be kernels became kernels; the others:" << missed;
}

// Every program the generator makes assembles (what the process runs rely on).
TEST(LoopPrograms, AssembleAndHoldLoopsOfEveryKind) {
    std::map<LoopExpect, int> kinds;
    int traps = 0;
    for (std::uint64_t seed = g_first_seed; seed < g_first_seed + static_cast<std::uint64_t>(g_count) * 4; ++seed) {
        const LoopProgram p = program(seed);
        const AssembleResult r = assemble(p.source, {.filename = "loops" + std::to_string(seed) + ".pasm"});
        std::string errors;
        for (const Diagnostic& d : r.diagnostics) errors += d.message + "\n";
        ASSERT_TRUE(r.ok()) << "seed " << seed << ":\n" << errors;
        for (const PlannedLoop& l : p.loops) ++kinds[l.expect];
        traps += !p.trap.empty();
    }
    EXPECT_GT(kinds[LoopExpect::Kernel], kinds[LoopExpect::Scalar]);
    EXPECT_GT(kinds[LoopExpect::Scalar], 0);
    EXPECT_GT(traps, 0);
}

INSTANTIATE_TEST_SUITE_P(Backends, LoopKernels, ::testing::Values("cpu", "vulkan"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace polymer::test

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    CLI::App app{"loop_differential_test: the loop-kernel differential test (and the gtest options)"};
    app.add_option("--seed", polymer::test::g_first_seed, "the first seed")->capture_default_str();
    app.add_option("--count", polymer::test::g_count, "how many programs (seeds from --seed on)")
        ->check(CLI::Range(1, 1000000))
        ->capture_default_str();
    std::optional<std::uint64_t> show;
    app.add_option("--show", show, "print the program of this seed and what each loop holds, and run no test");
    CLI11_PARSE(app, argc, argv);
    if (show) {
        const polymer::test::LoopProgram p = polymer::test::program(*show);
        std::cout << p.source;
        for (const polymer::test::PlannedLoop& l : p.loops)
            std::cout << "; lines " << l.first_line << "-" << l.last_line << ": "
                      << (l.expect == polymer::test::LoopExpect::Kernel   ? "kernel"
                          : l.expect == polymer::test::LoopExpect::Scalar ? "scalar"
                                                                          : "either")
                      << ": " << l.what << "\n";
        if (!p.trap.empty()) std::cout << "; traps " << p.trap << (p.trap_may_not_fire ? " (perhaps)" : "") << "\n";
        return 0;
    }
    return RUN_ALL_TESTS();
}
