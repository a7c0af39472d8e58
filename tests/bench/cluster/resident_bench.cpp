// The resident-data benchmark (docs/benchmarks.md, "Resident data"; issue 17,
// item 8a and 8c): what a user gets from real polymer-run and polymer-node
// processes on resident.pasm (50 launches of y := a*x + y over two 16 MiB
// regions, then the home reads y), against the same program on the home
// alone and against Dask (resident_dask.py), all measured in this run; and
// the nodes' row again with --no-launch-rounds (the loop launch by launch,
// as before loops of launches ran as rounds: docs/execution.md).
//
//   resident_bench [--rounds N] [--launches N] [--polymer-run PATH]
//
// Each round runs every row once. A row's time is the median of its rounds'
// wall times, whole processes (node start-up included: what a user waits
// for with --local-nodes), but for one row run against two polymer-node
// daemons started before the first round (--nodes: what a home lab running
// them under systemd waits for, and what Dask's rows measure, its cluster
// up); a ratio is the median of the rounds' ratios, both from one round. Bytes moved are the sum over
// the nodes of --stats' "bytes out N in M" (and node-to-node bytes, where a
// node reports them: bench_runs.h). Every run must print the home
// alone's output, and Dask its sum and last elements: else MISMATCH, status 1.
// Dask is Debian's (python3-distributed, python3-dask, python3-numpy) under $PYTHON, default
// /usr/bin/python3 (a python3 earlier on PATH, pyenv's say, lacks it); without
// it the Dask rows are skipped with a line saying so.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "bench_runs.h"

namespace {

using namespace cluster_bench;

constexpr double kDataBytes = 2.0 * 4 * 4194304;  // x and y: two 16 MiB regions

struct Row {
    std::string name, args;
    std::vector<double> seconds, bytes;
};

// "sum of y = S" and "y[...] = [a, b, c, d]" of resident.pasm, as "S" and
// "a b c d", to hold Dask's answer against.
std::pair<std::string, std::string> polymer_answer(const std::string& out) {
    std::smatch sum, tail;
    std::regex_search(out, sum, std::regex("sum of y = (-?\\d+)"));
    std::regex_search(out, tail, std::regex("\\] = \\[([^\\]]*)\\]"));
    std::string t = tail.size() > 1 ? tail[1].str() : "";
    t = std::regex_replace(t, std::regex(", "), " ");
    return {sum.size() > 1 ? sum[1].str() : "", t};
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"resident_bench: resident data on local nodes against the home alone, --data-at-home and Dask"};
    int rounds = 5;
    std::string polymer_run = POLYMER_RUN_PATH, program = RESIDENT_PASM;
    app.add_option("--rounds", rounds, "rounds, round robin over every row; each figure is the median")
        ->check(CLI::Range(1, 99))
        ->capture_default_str();
    int launches = 50;
    app.add_option("--launches", launches, "axpy launches (iterations) instead of resident.pasm's 50")
        ->check(CLI::Range(1, 100000))
        ->capture_default_str();
    app.add_option("--polymer-run", polymer_run, "the polymer-run to measure")->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (launches != 50) {
        if (auto copy = with_replaced(program, "li      r11, 50", "li      r11, " + std::to_string(launches), "resident"))
            program = *copy;
        else return std::fprintf(stderr, "resident_bench: %s has no `li r11, 50` (the loop count) to change\n", program.c_str()), 1;
    }
    const char* py_env = std::getenv("PYTHON");
    const std::string python = py_env != nullptr ? py_env : "/usr/bin/python3";
    const std::string prefix = polymer_run + " --backend cpu --stats ";
    const std::string polymer_node = polymer_run.substr(0, polymer_run.rfind('/') + 1) + "polymer-node";
    const RunningNodes daemons(polymer_node, 2);
    if (daemons.args().empty()) return std::fprintf(stderr, "resident_bench: %s did not start\n", polymer_node.c_str()), 1;

    std::vector<Row> rows = {
        {"home alone (--backend cpu)", ""},
        {"2 nodes, --no-local-work (resident)", "--local-nodes 2 --no-local-work"},
        {"2 running nodes, --no-local-work (resident)", daemons.args() + " --no-local-work"},
        {"2 nodes, --no-local-work --no-launch-rounds", "--local-nodes 2 --no-local-work --no-launch-rounds"},
        {"2 nodes, --no-local-work --data-at-home", "--local-nodes 2 --no-local-work --data-at-home"},
        {"home + 2 nodes (resident)", "--local-nodes 2"},
    };
    std::vector<double> dask_each, dask_once, dask_start;
    bool dask_missing = false;
    std::string expected;  // the home alone's output, from the warm-up

    std::printf("resident_bench: %s, %d launches, %d rounds, round robin (a warm-up round first, untimed)\n", program.c_str(),
                launches, rounds);
    for (int round = -1; round < rounds; ++round) {
        for (Row& r : rows) {
            const Outcome o = run(prefix + r.args + " " + program);
            if (o.status != 0) {
                std::fprintf(stderr, "resident_bench: '%s' failed (status %d):\n%s%s", r.name.c_str(), o.status, o.out.c_str(),
                             o.err.c_str());
                return 1;
            }
            if (expected.empty()) expected = o.out;
            if (o.out != expected) {
                std::fprintf(stderr, "resident_bench: MISMATCH: '%s' printed\n%sthe home alone\n%s", r.name.c_str(), o.out.c_str(),
                             expected.c_str());
                return 1;
            }
            if (round < 0) continue;
            r.seconds.push_back(o.seconds);
            r.bytes.push_back(traffic(o.err).total());
        }
        if (dask_missing || round < 0) continue;
        // One Dask round per Polymer round (its own warm-up inside), so a
        // change in the machine's load moves both alike.
        const Outcome d = run(python + " " + RESIDENT_DASK + " 1 " + std::to_string(launches));
        if (d.status == 3 || d.status == 127) {  // no Dask; no such interpreter
            dask_missing = true;
            std::printf("resident_bench: no Dask rows: %s", d.err.c_str());
            continue;
        }
        auto f = fields(d.out);
        const auto [sum, tail] = polymer_answer(expected);
        std::string dask_tail;
        for (const std::string& w : f["tail"]) dask_tail += (dask_tail.empty() ? "" : " ") + w;
        if (d.status != 0 || f["sum"].size() != 1 || f["sum"][0] != sum || dask_tail != tail) {
            std::fprintf(stderr, "resident_bench: MISMATCH or failure: Dask (status %d) printed\n%s%swhere Polymer's sum is %s, last %s\n",
                         d.status, d.out.c_str(), d.err.c_str(), sum.c_str(), tail.c_str());
            return 1;
        }
        auto first = [&](const char* key) { return f[key].empty() ? std::nullopt : number(f[key][0]); };
        if (!first("each_s") || !first("once_s") || !first("cluster_start_s")) {
            std::fprintf(stderr, "resident_bench: Dask's figures unreadable:\n%s", d.out.c_str());
            return 1;
        }
        dask_each.push_back(*first("each_s"));
        dask_once.push_back(*first("once_s"));
        dask_start.push_back(*first("cluster_start_s"));
    }

    std::printf("every run printed the same output:\n%s", expected.c_str());
    const bool dask = !dask_each.empty();
    std::printf("\nratios: median of the rounds' ratios [range] (each round runs every row once, so load moves both alike)\n");
    std::printf("\n| run | wall s, median [range] | time / home alone | bytes moved, median [range] | bytes / data (32 MiB) |%s\n",
                dask ? " time / Dask, persist each | time / Dask, persist once |" : "");
    std::printf("| --- | ---: | ---: | ---: | ---: |%s\n", dask ? " ---: | ---: |" : "");
    auto line = [&](const std::string& name, const std::vector<double>& s, const std::vector<double>& bytes) {
        std::printf("| %s | %.3f %s | %s | ", name.c_str(), median(s), range(s, "%.3f").c_str(), ratio(s, rows[0].seconds).c_str());
        if (!bytes.empty()) {
            std::vector<double> mb;
            for (double b : bytes) mb.push_back(b / 1e6);
            std::printf("%.1f MB %s | %.2fx |", median(mb), range(mb, "%.1f").c_str(), median(bytes) / kDataBytes);
        } else {
            std::printf("- | - |");
        }
        if (dask) std::printf(" %s | %s |", ratio(s, dask_each).c_str(), ratio(s, dask_once).c_str());
        std::printf("\n");
    };
    for (const Row& r : rows) line(r.name, r.seconds, &r == &rows[0] ? std::vector<double>{} : r.bytes);
    if (dask) {
        line("Dask, 2 workers x 1 thread, y persisted each iteration", dask_each, {});
        line("Dask, 2 workers x 1 thread, y persisted once at the end", dask_once, {});
        std::printf("(Dask's times start with its cluster up: LocalCluster start-up, median %.2f s, is not in them; "
                    "Polymer's include starting its nodes, but for the running nodes' row: two polymer-node daemons "
                    "started before the first round, as under systemd)\n",
                    median(dask_start));
    }

    const Row& kept = rows[1];
    const Row& running = rows[2];
    const double kept_bytes = median(kept.bytes) / kDataBytes, kept_time = ratios(kept.seconds, rows[0].seconds);
    if (launches != 50) std::remove(program.c_str());
    std::printf("\ntargets (issue 17, 8a and 8c, set for 50 launches; this run: %d), 2 nodes --no-local-work, resident:\n", launches);
    std::printf("  bytes moved <= 3x the data:       %.2fx  %s\n", kept_bytes, kept_bytes <= 3 ? "met" : "NOT MET");
    std::printf("  wall time <= 2x the home alone:   %.2fx  %s\n", kept_time, kept_time <= 2 ? "met" : "NOT MET");
    if (dask) {
        const double each = ratios(kept.seconds, dask_each), once = ratios(kept.seconds, dask_once);
        std::printf("  faster than Dask, persist each:   %.2fx  %s\n", each, each < 1 ? "met" : "NOT MET");
        std::printf("  faster than Dask, persist once:   %.2fx  %s\n", once, once < 1 ? "met" : "NOT MET");
        const double each_running = ratios(running.seconds, dask_each), once_running = ratios(running.seconds, dask_once);
        std::printf("  the same with the nodes running (no start-up, as Dask's rows):\n");
        std::printf("  faster than Dask, persist each:   %.2fx  %s\n", each_running, each_running < 1 ? "met" : "NOT MET");
        std::printf("  faster than Dask, persist once:   %.2fx  %s\n", once_running, once_running < 1 ? "met" : "NOT MET");
    }
    return 0;
}
