// loops_bench: loops become kernels, measured as a user gets them
// (docs/loop-kernels.md, "Speed"). Each program in this folder is a plain
// scalar loop over large regions (saxpy over 32M floats, two dot products,
// a Mandelbrot picture) with a `-kernel` twin doing the same work as a
// hand-written kernel. In one run, through polymer-run processes with
// default options, each is run three ways:
//   scalar        polymer-run --no-loop-kernels PROG.pasm
//   loop kernels  polymer-run PROG.pasm                 (the default)
//   hand-written  polymer-run PROG-kernel.pasm
// the last two on the default backend and on --backend cpu, round robin,
// the median of --runs; the three must print the same output. Times are
// polymer-run's own `--stats` run time (the program's run: not assembling,
// loading the regions or starting Vulkan), and the whole process beside it.
// Not a test: it asserts no speed. `--smoke` runs tiny sizes (each
// `.equ NAME, V ; smoke: S` line takes S) once and fails only when an output
// differs or a run fails.
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;

struct Bench {
    const char* name;
    const char* what;
    bool memory_bound;  // the target: >= 10x over scalar (all: within 1.3x of the hand-written kernel)
};

// Each NAME has NAME.pasm (the scalar loop) and NAME-kernel.pasm here.
constexpr Bench kBenches[] = {
    {"saxpy", "y[i] := a*x[i] + y[i], 32M f32", true},
    {"dot-int", "sum of x[i]*y[i], 32M i32 into a 64-bit register", true},
    {"dot-f64", "sum of x[i]*y[i], 32M f64, .reassociate", true},
    {"mandel", "768 x 640 Mandelbrot, at most 256 steps a pixel", false},
};

std::string slurp(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// `.equ NAME, V ; smoke: S` -> `.equ NAME, S`.
std::string smoke_sized(const std::string& source) {
    static const std::regex kEqu(R"((\.equ\s+\w+,\s*)\S+(\s*;\s*smoke:\s*(\S+)))");
    return std::regex_replace(source, kEqu, "$1$3");
}

struct Run {
    bool ok = false;
    std::string out, err;
    double run_s = 0, process_s = 0;  // --stats' run time, the whole process
};

class Runner {
public:
    Runner(std::string polymer_run, fs::path dir) : polymer_run_(std::move(polymer_run)), dir_(std::move(dir)) {}

    Run operator()(const std::string& options, const fs::path& program) const {
        const fs::path out = dir_ / "stdout", err = dir_ / "stderr";
        const std::string command =
            polymer_run_ + " --stats " + options + " " + program.string() + " >" + out.string() + " 2>" + err.string();
        const auto t0 = std::chrono::steady_clock::now();
        const int raw = std::system(command.c_str());
        Run r;
        r.process_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        r.out = slurp(out);
        r.err = slurp(err);
        static const std::regex kStats(R"(polymer-run: \d+ instructions in ([0-9.]+) s)");
        std::smatch m;
        r.ok = WIFEXITED(raw) && WEXITSTATUS(raw) == 0 && std::regex_search(r.err, m, kStats);
        if (r.ok) r.run_s = std::stod(m[1]);
        return r;
    }

private:
    std::string polymer_run_;
    fs::path dir_;
};

// One way of running one program, over the rounds.
struct Column {
    std::string label, options;
    fs::path program;
    std::vector<Run> runs;

    double median(double Run::*field) const {
        std::vector<double> v;
        for (const Run& r : runs) v.push_back(r.*field);
        std::sort(v.begin(), v.end());
        return v.empty() ? 0 : v[v.size() / 2];
    }
};

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// The `loop kernels:` line of --stats, if polymer-run prints one.
std::string loop_kernels_line(const std::string& err) {
    static const std::regex kLine(R"(loop kernels: [^\n]*)");
    std::smatch m;
    return std::regex_search(err, m, kLine) ? m[0].str() : "(no `loop kernels:` line in --stats)";
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"loops_bench: scalar loops with and without loop kernels, next to hand-written kernels"};
    int runs = 3;
    bool smoke = false;
    std::vector<std::string> only;
    std::string polymer_run = POLYMER_RUN;
    fs::path programs = LOOPS_DIR;
    app.add_option("--runs", runs, "rounds; each figure is the median")->check(CLI::Range(1, 99))->capture_default_str();
    app.add_flag("--smoke", smoke, "tiny sizes, one round: check that the three ways print the same");
    app.add_option("--only", only, "run only these benchmarks (saxpy, dot-int, dot-f64, mandel)");
    app.add_option("--polymer-run", polymer_run, "the polymer-run to measure")->capture_default_str();
    app.add_option("--programs", programs, "the folder of the .pasm programs")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (smoke) runs = 1;

    const fs::path dir = fs::temp_directory_path() / ("polymer_loops_bench_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const Runner run(polymer_run, dir);
    bool all_same = true;

    std::printf("loops_bench: %s, median of %d; run = polymer-run --stats' run time, process = the whole process\n\n",
                smoke ? "smoke sizes" : "full sizes", runs);
    std::printf("| benchmark | backend | scalar run ms | loop kernels run ms | hand-written run ms | "
                "loop kernels vs scalar | loop kernels vs hand-written | process ms (scalar / loops / hand) |\n");
    std::printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    std::vector<std::string> notes;
    for (const Bench& b : kBenches) {
        if (!only.empty() && std::find(only.begin(), only.end(), b.name) == only.end()) continue;
        // The sources, sized, in the temporary folder.
        fs::path files[2];
        for (int k = 0; k < 2; ++k) {
            const std::string name = std::string(b.name) + (k ? "-kernel" : "") + ".pasm";
            const std::string text = slurp(programs / name);
            if (text.empty()) {
                std::fprintf(stderr, "loops_bench: cannot read %s\n", (programs / name).c_str());
                return 1;
            }
            files[k] = dir / name;
            std::ofstream(files[k], std::ios::binary) << (smoke ? smoke_sized(text) : text);
        }
        // The scalar loop runs no kernel, so its backend does not matter.
        std::vector<Column> columns = {{"scalar", "--no-loop-kernels", files[0], {}}};
        for (const char* backend : {"default", "cpu"}) {
            const std::string opt = std::string(backend) == "default" ? "" : std::string("--backend ") + backend;
            columns.push_back({std::string("loops ") + backend, opt, files[0], {}});
            columns.push_back({std::string("hand ") + backend, opt, files[1], {}});
        }
        for (int round = 0; round < runs; ++round)
            for (Column& c : columns) c.runs.push_back(run(c.options, c.program));
        const Column& scalar = columns[0];
        for (const Column& c : columns)
            for (const Run& r : c.runs) {
                if (!r.ok) {
                    all_same = false;
                    notes.push_back(std::string(b.name) + ", " + c.label + ": the run failed: " + first_line(r.err));
                } else if (r.out != scalar.runs[0].out) {
                    all_same = false;
                    notes.push_back(std::string(b.name) + ", " + c.label + ": output " + first_line(r.out) +
                                    " differs from the scalar loop's " + first_line(scalar.runs[0].out));
                }
            }
        for (std::size_t k = 1; k < columns.size(); k += 2) {
            const Column &loops = columns[k], &hand = columns[k + 1];
            const double s = scalar.median(&Run::run_s), l = loops.median(&Run::run_s), h = hand.median(&Run::run_s);
            std::printf("| %s | %s | %.1f | %.1f | %.1f | %.1fx faster | %.2fx the time |  %.0f / %.0f / %.0f |\n", b.name,
                        loops.label.substr(6).c_str(), s * 1e3, l * 1e3, h * 1e3, l > 0 ? s / l : 0.0,
                        h > 0 ? l / h : 0.0, scalar.median(&Run::process_s) * 1e3,
                        loops.median(&Run::process_s) * 1e3, hand.median(&Run::process_s) * 1e3);
        }
        notes.push_back(std::string(b.name) + " (" + b.what + "; target " +
                        (b.memory_bound ? ">= 10x over scalar, " : "") + "<= 1.3x the hand-written kernel): " +
                        loop_kernels_line(columns[1].runs[0].err));
    }
    std::printf("\n");
    for (const std::string& n : notes) std::printf("- %s\n", n.c_str());
    fs::remove_all(dir);
    if (!all_same) {
        std::fprintf(stderr, "loops_bench: the three ways did not all run and print the same\n");
        return 1;
    }
    return 0;
}
