// The stencil benchmark (docs/benchmarks.md, "Stencil"; issue 17, item 8b
// and 8c): what a user gets from real polymer-run and polymer-node processes
// on jacobi.pasm (50 Jacobi steps on a 4096 x 4096 f32 grid, two 64 MiB
// regions ping-ponged, then the home reads the sum and a few elements),
// against the same program on the home alone and against Dask
// (jacobi_dask.py), all measured in this run.
//
//   jacobi_bench [--rounds N] [--iterations N] [--polymer-run PATH]
//
// Rows as resident_bench's (bench_runs.h): each round runs every row once, a
// row's time is the median of its rounds' wall times (whole processes, node
// start-up included), a ratio the median of the rounds' ratios. Where
// jacobi.pasm's step reads its input through a window (`in x:
// f32[i-W..i+W]`), a copy with a whole-buffer input (`in x: f32[]`, sent
// whole to every node every launch) is measured beside it.
//
// Bytes per iteration: each Polymer row also runs the same program with no
// steps (the first launch, the sum and the reads: what does not grow with
// the iterations), and (bytes of the run - bytes of the stepless run) /
// iterations is the traffic an iteration costs, from --stats (bytes out and
// in per node, plus node-to-node bytes where the nodes report them). Its
// reference is the halo: with the grid cut in row blocks over P nodes, each
// of the P - 1 internal boundaries needs one row of W f32 sent each way,
//   halo bytes per iteration = (P - 1) x 2 x W x 4 = 64 KiB for P = 3.
// Every run must print the home alone's output, and Dask the same elements
// and a sum within 1e-9 relative (Dask sums in NumPy's order, Polymer's vsum
// in binary64 blocks): else MISMATCH, status 1. Dask is Debian's under
// $PYTHON, default /usr/bin/python3; without it the Dask rows are skipped
// with a line saying so.
#include <CLI/CLI.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "bench_runs.h"

namespace {

using namespace cluster_bench;

constexpr int kSide = 4096;
constexpr int kNodes = 3;
constexpr double kHaloBytes = (kNodes - 1) * 2.0 * kSide * 4;
constexpr double kSumTolerance = 1e-9;  // relative: the two sums' orders differ, their elements do not
const std::string kLoopCount = "li      r11, 25";  // jacobi.pasm's pairs of steps
const std::string kWindowed = "in x: f32[i-W..i+W]", kWhole = "in x: f32[]";

struct Row {
    std::string name, args;
    std::string program, stepless;  // the program, and its copy with no steps
    std::vector<double> seconds, seconds0, bytes, bytes0, peer, peer0;
};

// What jacobi.pasm printed: the sum, and each printed element as
// (index, value) read back as binary32.
struct Answer {
    std::optional<double> sum;
    std::vector<std::pair<long, float>> elements;
};
std::optional<float> as_float(const std::string& s) {
    float v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return v;
}
Answer polymer_answer(const std::string& out) {
    Answer a;
    std::smatch m;
    if (std::regex_search(out, m, std::regex("sum of a = (\\S+)"))) a.sum = number(m[1]);
    const std::regex line("a\\[(\\d+)\\.\\.\\] = \\[([^\\]]*)\\]");
    for (auto it = std::sregex_iterator(out.begin(), out.end(), line); it != std::sregex_iterator(); ++it) {
        const long at = std::stol((*it)[1]);
        std::istringstream values(std::regex_replace((*it)[2].str(), std::regex(","), " "));
        long k = 0;
        for (std::string v; values >> v; ++k) a.elements.push_back({at + k, as_float(v).value_or(NAN)});
    }
    return a;
}
// jacobi_dask.py's "sum S" and "at IDX v v v v" lines.
Answer dask_answer(const std::string& out) {
    Answer a;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
        std::istringstream words(line);
        std::string key, w;
        words >> key;
        if (key == "sum" && words >> w) a.sum = number(w);
        if (key != "at" || !(words >> w)) continue;
        const long at = std::stol(w);
        for (long k = 0; words >> w; ++k) a.elements.push_back({at + k, as_float(w).value_or(NAN)});
    }
    return a;
}
bool agree(const Answer& polymer, const Answer& dask) {
    if (!polymer.sum || !dask.sum || polymer.elements.empty() || polymer.elements != dask.elements) return false;
    return std::fabs(*polymer.sum - *dask.sum) <= kSumTolerance * std::fabs(*polymer.sum);
}

// Per round: (a[i] - a0[i]) / iterations.
std::vector<double> per_iteration(const std::vector<double>& a, const std::vector<double>& a0, int iterations) {
    std::vector<double> r;
    for (std::size_t i = 0; i < a.size() && i < a0.size(); ++i) r.push_back((a[i] - a0[i]) / iterations);
    return r;
}

// "12.0 KiB [11.5..13.0]", in MiB from 1 MiB on.
std::string kib(const std::vector<double>& bytes) {
    const bool mib = median(bytes) >= 1024 * 1024;
    std::vector<double> k;
    for (double b : bytes) k.push_back(b / (mib ? 1024 * 1024 : 1024));
    char m[32];
    std::snprintf(m, sizeof m, "%.1f %s ", median(k), mib ? "MiB" : "KiB");
    return m + range(k, "%.1f");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"jacobi_bench: a Jacobi stencil on 3 local nodes against the home alone, --data-at-home and Dask"};
    int rounds = 3, iterations = 50;
    std::string polymer_run = POLYMER_RUN_PATH, program = JACOBI_PASM;
    app.add_option("--rounds", rounds, "rounds, round robin over every row; each figure is the median")
        ->check(CLI::Range(1, 99))
        ->capture_default_str();
    app.add_option("--iterations", iterations, "Jacobi steps instead of jacobi.pasm's 50 (even: the regions ping-pong)")
        ->check(CLI::Range(2, 100000))
        ->check([](const std::string& s) { return std::stoi(s) % 2 == 0 ? "" : "must be even"; })
        ->capture_default_str();
    app.add_option("--polymer-run", polymer_run, "the polymer-run to measure")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    const char* py_env = std::getenv("PYTHON");
    const std::string python = py_env != nullptr ? py_env : "/usr/bin/python3";
    const std::string prefix = polymer_run + " --backend cpu --stats ";

    // The programs: jacobi.pasm (or its copy with `iterations` steps), with
    // its window or without, each also with no steps.
    struct Temps {  // the copies, removed however main returns
        std::vector<std::string> paths;
        ~Temps() {
            for (const std::string& p : paths) std::remove(p.c_str());
        }
    } temps;
    auto copy = [&](const std::string& from, const std::string& what, const std::string& to, const std::string& tag) {
        auto path = with_replaced(from, what, to, tag);
        if (!path) {
            std::fprintf(stderr, "jacobi_bench: %s has no `%s` to change\n", from.c_str(), what.c_str());
            return std::string();
        }
        temps.paths.push_back(*path);
        return *path;
    };
    const bool windowed = read_file(program).find(kWindowed) != std::string::npos;
    const std::string program0 = copy(program, kLoopCount, "li      r11, 0", "none");
    if (iterations != 50) program = copy(program, kLoopCount, "li      r11, " + std::to_string(iterations / 2), "steps");
    const std::string whole = windowed ? copy(program, kWindowed, kWhole, "whole") : program;
    const std::string whole0 = windowed ? copy(program0, kWindowed, kWhole, "whole-none") : program0;
    if (program0.empty() || program.empty() || whole.empty() || whole0.empty()) return 1;

    const std::string nodes = "--local-nodes " + std::to_string(kNodes) + " --no-local-work";
    std::vector<Row> rows = {{"home alone (--backend cpu)", "", program, program0}};
    if (windowed) rows.push_back({"3 nodes, --no-local-work, windowed input (resident)", nodes, program, program0});
    rows.push_back({"3 nodes, --no-local-work, whole-buffer input (resident)", nodes, whole, whole0});
    rows.push_back({std::string("3 nodes, --no-local-work --data-at-home, ") + (windowed ? "windowed" : "whole-buffer") + " input",
                    nodes + " --data-at-home", program, program0});
    Row& kept = rows[1];
    std::vector<double> dask_each, dask_once, dask_start;
    bool dask_missing = false;
    std::string expected, expected0, dask_out;  // the home alone's outputs, from the warm-up

    std::printf("jacobi_bench: %s, %d iterations, %d rounds, round robin (a warm-up round first, untimed)%s\n", JACOBI_PASM, iterations,
                rounds, windowed ? "" : "\njacobi_bench: jacobi.pasm's step takes a whole-buffer input (no window in it): no windowed row");
    for (int round = -1; round < rounds; ++round) {
        for (Row& r : rows) {
            for (const bool steps : {true, false}) {
                const Outcome o = run(prefix + r.args + " " + (steps ? r.program : r.stepless));
                std::string& want = steps ? expected : expected0;
                if (o.status != 0) {
                    std::fprintf(stderr, "jacobi_bench: '%s'%s failed (status %d):\n%s%s", r.name.c_str(), steps ? "" : " with no steps",
                                 o.status, o.out.c_str(), o.err.c_str());
                    return 1;
                }
                if (want.empty()) want = o.out;
                if (o.out != want) {
                    std::fprintf(stderr, "jacobi_bench: MISMATCH: '%s'%s printed\n%sthe home alone\n%s", r.name.c_str(),
                                 steps ? "" : " with no steps", o.out.c_str(), want.c_str());
                    return 1;
                }
                if (round < 0) continue;
                const Traffic t = traffic(o.err);
                (steps ? r.seconds : r.seconds0).push_back(o.seconds);
                (steps ? r.bytes : r.bytes0).push_back(t.total());
                (steps ? r.peer : r.peer0).push_back(t.peer);
            }
        }
        if (dask_missing || round < 0) continue;
        // One Dask round per Polymer round (its own warm-up inside), so a
        // change in the machine's load moves both alike.
        const Outcome d = run(python + " " + JACOBI_DASK + " 1 " + std::to_string(iterations));
        if (d.status == 3 || d.status == 127) {  // no Dask; no such interpreter
            dask_missing = true;
            std::printf("jacobi_bench: no Dask rows: %s", d.err.c_str());
            continue;
        }
        auto f = fields(d.out);
        if (d.status != 0 || !agree(polymer_answer(expected), dask_answer(d.out))) {
            std::fprintf(stderr, "jacobi_bench: MISMATCH or failure: Dask (status %d) printed\n%s%swhere Polymer printed\n%s", d.status,
                         d.out.c_str(), d.err.c_str(), expected.c_str());
            return 1;
        }
        auto first = [&](const char* key) { return f[key].empty() ? std::nullopt : number(f[key][0]); };
        if (!first("each_s") || !first("once_s") || !first("cluster_start_s")) {
            std::fprintf(stderr, "jacobi_bench: Dask's figures unreadable:\n%s", d.out.c_str());
            return 1;
        }
        dask_out = d.out;
        dask_each.push_back(*first("each_s"));
        dask_once.push_back(*first("once_s"));
        dask_start.push_back(*first("cluster_start_s"));
    }

    std::printf("every run printed the same output:\n%s", expected.c_str());
    const bool dask = !dask_each.empty();
    if (dask) {
        const Answer p = polymer_answer(expected), d = dask_answer(dask_out);
        std::printf("Dask printed the same %zu elements, and a sum %.1e relative from Polymer's (%.17g)\n", p.elements.size(),
                    std::fabs(*p.sum - *d.sum) / std::fabs(*p.sum), *d.sum);
    }
    std::printf("\nratios: median of the rounds' ratios [range] (each round runs every row once, so load moves both alike)\n"
                "per iteration: (the run - the same program with no steps) / %d, per round; halo: %d boundaries x 2 x %d x 4 bytes = %.0f KiB\n",
                iterations, kNodes - 1, kSide, kHaloBytes / 1024);
    std::printf("\n| run | wall s, median [range] | time / home alone | s per iteration | bytes moved, whole run | bytes per iteration "
                "| per iteration / halo | node to node per iteration |%s\n",
                dask ? " time / Dask, persist each | time / Dask, persist once |" : "");
    std::printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |%s\n", dask ? " ---: | ---: |" : "");
    auto line = [&](const std::string& name, const std::vector<double>& s, const Row* r) {
        std::printf("| %s | %.3f %s | %s | ", name.c_str(), median(s), range(s, "%.3f").c_str(), ratio(s, rows[0].seconds).c_str());
        if (r != nullptr) {
            const std::vector<double> step = per_iteration(r->seconds, r->seconds0, iterations);
            std::printf("%.4f %s | ", median(step), range(step, "%.4f").c_str());
        } else {
            std::printf("- | ");
        }
        if (r != nullptr && r != &rows[0]) {
            std::vector<double> mb;
            for (double b : r->bytes) mb.push_back(b / 1e6);
            const std::vector<double> each = per_iteration(r->bytes, r->bytes0, iterations);
            std::printf("%.1f MB %s | %s | %.2fx | %s |", median(mb), range(mb, "%.1f").c_str(), kib(each).c_str(),
                        median(each) / kHaloBytes, kib(per_iteration(r->peer, r->peer0, iterations)).c_str());
        } else {
            std::printf("- | - | - | - |");
        }
        if (dask) std::printf(" %s | %s |", ratio(s, dask_each).c_str(), ratio(s, dask_once).c_str());
        std::printf("\n");
    };
    for (const Row& r : rows) line(r.name, r.seconds, &r);
    if (dask) {
        line("Dask, 3 workers x 1 thread, grid persisted each iteration", dask_each, nullptr);
        line("Dask, 3 workers x 1 thread, grid persisted once at the end", dask_once, nullptr);
        std::printf("(Dask's times start with its cluster up: LocalCluster start-up, median %.2f s, is not in them; "
                    "Polymer's include starting its nodes)\n",
                    median(dask_start));
    }

    const double kept_halo = median(per_iteration(kept.bytes, kept.bytes0, iterations)) / kHaloBytes;
    std::printf("\ntargets (issue 17, 8b and 8c, set for 50 iterations; this run: %d), %s:\n", iterations, kept.name.c_str());
    std::printf("  bytes per iteration <= 2x the halo:  %.2fx  %s\n", kept_halo, kept_halo <= 2 ? "met" : "NOT MET");
    if (dask) {
        const double each = ratios(kept.seconds, dask_each), once = ratios(kept.seconds, dask_once);
        std::printf("  faster than Dask, persist each:      %.2fx  %s\n", each, each < 1 ? "met" : "NOT MET");
        std::printf("  faster than Dask, persist once:      %.2fx  %s\n", once, once < 1 ? "met" : "NOT MET");
    }
    return 0;
}
