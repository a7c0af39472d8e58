// Not a test: message round trips between procedures on nodes, for
// docs/benchmarks.md ("Procedures on nodes"). Starts three polymer-node
// processes (two with --raw-reference); this process is the home (a Machine
// with AwayNodes, as polymer-run --local-nodes 3 has). In interleaved rounds
// it measures, each as the mean over many round trips:
//   - raw: an 8-byte TCP ping-pong between this process and node 1, the
//     same with node 2, and the two in turn (which costs more on loopback
//     than the two alone: the floor for a message through the home is their
//     sum);
//   - a message round trip (send, then recv of the answer) between a
//     procedure here and one on node 1;
//   - the same between procedures on node 1 and node 2, whose channels the
//     home hands to the nodes (the default), again with the keepers lending
//     no credits (AwayNodes::set_channel_credits(false)), and again with
//     every channel kept at the home (AwayNodes::set_direct_channels(false));
//   - a barrier of four procedures: one here and one on each of three nodes;
//   - Open MPI over TCP doing the ping-pong (-np 2) and a barrier (-np 4),
//     when the build has MPI (mpi_reference.cpp, under mpirun).
// A round trip's time is (run of N_BIG - run of N_SMALL) / (N_BIG - N_SMALL),
// so spawning, joining and the machine's set-up cancel out.
// Usage: procedure_bench [pinned] [ROUNDS]   (pinned: this process and both
// nodes on CPU 0, where a wake-up costs no idle core's exit: the raw
// ping-pong's other setting, as in cluster_bench)
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

#include "assembler/assembler.h"
#include "cluster/away_nodes.h"
#include "node_process.h"
#include "raw_reference_client.h"
#include "vm/machine.h"
#include "vm/output.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kBig = 4000, kSmall = 400;

// main: argument 0 the round trips, 1 where the pinger runs (0: in main
// itself), 2 where the ponger runs.
const char* const kPingPong = R"(
.channel pings 1
.channel pongs 1
.proc ponger
next:   recv    r2, pings
        bz      r2, done
        send    pongs, r2
        jmp     next
done:   ret
.end
.proc pinger
        li      r2, 1
round:  send    pings, r2
        recv    r3, pongs
        addi    r2, r2, 1
        bge     r4, r2, round
        li      r0, 0
        send    pings, r0
        ret
.end
.proc main
        li      r0, 0
        argi    r4, r0
        li      r0, 1
        argi    r5, r0
        li      r0, 2
        argi    r6, r0
        spawn   r9, ponger, r6
        bz      r5, here
        spawn   r10, pinger, r5
        join    r1, f1, r10
        jmp     over
here:   call    pinger
over:   join    r1, f1, r9
        halt
.end
)";

// Four procedures meet at one barrier ROUNDS times: main here and three
// parties at the placements its arguments give (argument 0 the rounds).
const char* const kBarrier = R"(
.barrier step 4
.proc party
        li      r2, 0
again:  barrier step
        addi    r2, r2, 1
        blt     r2, r4, again
        ret
.end
.proc main
        li      r0, 0
        argi    r4, r0
        li      r0, 1
        argi    r5, r0
        spawn   r10, party, r5
        li      r0, 2
        argi    r5, r0
        spawn   r11, party, r5
        li      r0, 3
        argi    r5, r0
        spawn   r12, party, r5
        call    party
        join    r1, f1, r10
        join    r1, f1, r11
        join    r1, f1, r12
        halt
.end
)";

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::uint16_t raw_port(NodeProcess& node) {
    const std::string marker = "raw TCP reference on 127.0.0.1:";
    if (!node.wait_for_log(marker)) {
        std::fprintf(stderr, "no raw reference port\n%s", node.log().c_str());
        std::exit(1);
    }
    const std::string log = node.log();
    return static_cast<std::uint16_t>(std::stoi(log.substr(log.find(marker) + marker.size())));
}

// Seconds one run of the program takes with `rounds` round trips (or
// barriers), its procedures at `places`.
double run_seconds(const Module& m, AwayNodes& nodes, int rounds, std::vector<int> places) {
    std::string out;
    OutputBuffer buffer(&out);
    MachineOptions o;
    o.procedure_nodes = &nodes;
    o.args = {std::to_string(rounds)};
    for (int p : places) o.args.push_back(std::to_string(p));
    auto machine = Machine::create(m, buffer, o);
    if (!machine) {
        std::fprintf(stderr, "%s\n", machine.error().c_str());
        std::exit(1);
    }
    const auto t = Clock::now();
    const RunResult r = machine.value()->run(*machine.value()->find_proc("main"));
    const double s = std::chrono::duration<double>(Clock::now() - t).count();
    if (r.status != RunStatus::Halted) {
        std::fprintf(stderr, "the ping-pong did not halt: %s\n", r.trap ? r.trap->detail.c_str() : "?");
        std::exit(1);
    }
    return s;
}

double round_trip_us(const Module& m, AwayNodes& nodes, std::vector<int> places) {
    const double small = run_seconds(m, nodes, kSmall, places);
    const double big = run_seconds(m, nodes, kBig, places);
    return (big - small) / (kBig - kSmall) * 1e6;
}

// Open MPI over TCP doing the same (mpi_reference.cpp): microseconds per
// round trip (or barrier), or nothing in a build without MPI.
std::optional<double> mpi_us(const char* what, int ranks) {
#if defined(POLYMER_MPI_REFERENCE)
    const std::string command = std::string(POLYMER_MPIEXEC) +
                                " --allow-run-as-root --oversubscribe --mca btl tcp,self -np " + std::to_string(ranks) + " " +
                                POLYMER_MPI_REFERENCE + " " + what + " 20000 2>/dev/null";
    FILE* p = popen(command.c_str(), "r");
    if (p == nullptr) return std::nullopt;
    char line[256] = {};
    const bool got = std::fgets(line, sizeof line, p) != nullptr;
    pclose(p);
    const char* space = got ? std::strchr(line, ' ') : nullptr;
    if (space == nullptr) return std::nullopt;
    return std::atof(space + 1);
#else
    (void)what, (void)ranks;
    return std::nullopt;
#endif
}

double raw_us(std::vector<RawReference*> to) {
    const auto t = Clock::now();
    for (int i = 0; i < kBig; ++i)
        for (RawReference* r : to) r->ping_us();
    return std::chrono::duration<double>(Clock::now() - t).count() / kBig * 1e6;
}

}  // namespace

int main(int argc, char** argv) {
    const bool pinned = argc > 1 && std::string(argv[1]) == "pinned";
    const int rounds_at = pinned ? 2 : 1;
    const int rounds = argc > rounds_at ? std::max(1, std::atoi(argv[rounds_at])) : 7;
    std::vector<std::string> prefix;
    if (pinned) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(0, &one);
        if (sched_setaffinity(0, sizeof one, &one) != 0) return std::perror("sched_setaffinity"), 1;
        prefix = {"taskset", "-c", "0"};
    }
    AssembleResult a = assemble(kPingPong), b = assemble(kBarrier);
    if (!a.ok() || !b.ok()) {
        std::fprintf(stderr, "%s\n", format_diagnostic((a.ok() ? b : a).diagnostics[0]).c_str());
        return 1;
    }
    const Module& m = *a.module;
    const Module& barrier = *b.module;
    TempTokenFile token(kSecret);
    NodeProcess one(token.path(), {"--raw-reference", "--name", "n1"}, prefix), two(token.path(), {"--raw-reference", "--name", "n2"}, prefix),
        three(token.path(), {"--name", "n3"}, prefix);
    RawReference raw1(raw_port(one)), raw2(raw_port(two));
    AwayNodes nodes({{"127.0.0.1", one.port()}, {"127.0.0.1", two.port()}, {"127.0.0.1", three.port()}}, bytes_of(kSecret),
                    ClientOptions{});
    run_seconds(m, nodes, 100, {1, 2});  // connects and uploads the programs
    run_seconds(barrier, nodes, 100, {1, 2, 3});
    std::vector<double> raw, raw2s, raw_both, home_node, node_node, node_node_no_credits, credit_gain, node_node_home, kept_gain, home_ratio, node_ratio, node_both_ratio, barriers, mpi_pp, mpi_barrier,
        home_mpi_ratio, node_mpi_ratio, barrier_mpi_ratio;
    for (int r = 0; r < rounds; ++r) {
        raw.push_back(raw_us({&raw1}));
        raw2s.push_back(raw_us({&raw2}));
        raw_both.push_back(raw_us({&raw1, &raw2}));
        home_node.push_back(round_trip_us(m, nodes, {0, 1}));
        node_node.push_back(round_trip_us(m, nodes, {1, 2}));
        nodes.set_channel_credits(false);  // the same, every send waiting for its acceptance
        node_node_no_credits.push_back(round_trip_us(m, nodes, {1, 2}));
        nodes.set_channel_credits(true);
        credit_gain.push_back(node_node.back() / node_node_no_credits.back());
        nodes.set_direct_channels(false);  // the same, every channel kept at the home
        node_node_home.push_back(round_trip_us(m, nodes, {1, 2}));
        nodes.set_direct_channels(true);
        kept_gain.push_back(node_node.back() / node_node_home.back());
        barriers.push_back(round_trip_us(barrier, nodes, {1, 2, 3}));
        home_ratio.push_back(home_node.back() / raw.back());
        node_ratio.push_back(node_node.back() / raw.back());
        node_both_ratio.push_back(node_node.back() / (raw.back() + raw2s.back()));
        if (auto pp = mpi_us("pingpong", 2), bar = mpi_us("barrier", 4); pp && bar) {
            mpi_pp.push_back(*pp);
            mpi_barrier.push_back(*bar);
            home_mpi_ratio.push_back(home_node.back() / *pp);
            node_mpi_ratio.push_back(node_node.back() / *pp);
            barrier_mpi_ratio.push_back(barriers.back() / *bar);
        }
    }
    std::printf("%d rounds, interleaved%s; medians of the round means (%d - %d round trips per figure)\n", rounds,
                pinned ? ", all on CPU 0" : "", kBig, kSmall);
    std::printf("raw 8-byte ping-pong, home <-> node 1             %7.1f us\n", median(raw));
    std::printf("raw 8-byte ping-pong, home <-> node 2             %7.1f us\n", median(raw2s));
    // (Alternating the two raw ping-pongs costs far more than the two alone
    // on loopback, so their sum is the floor for a message through the home.)
    std::printf("raw ping-pong to node 1, then to node 2, in turn  %7.1f us\n", median(raw_both));
    std::printf("message round trip, procedure here <-> node 1     %7.1f us: %.2fx raw\n", median(home_node), median(home_ratio));
    // The rounds' spread too: on a shared machine one run's rounds differ.
    std::printf("message round trip, node 1 <-> node 2             %7.1f us: %.2fx raw (rounds %.2f-%.2fx), %.2fx the two raw added\n",
                median(node_node), median(node_ratio), *std::min_element(node_ratio.begin(), node_ratio.end()),
                *std::max_element(node_ratio.begin(), node_ratio.end()), median(node_both_ratio));
    std::printf("  the same, keepers lending no credits            %7.1f us: with credits takes %.2fx its time\n",
                median(node_node_no_credits), median(credit_gain));
    std::printf("  the same, channels kept at the home             %7.1f us: kept on the nodes takes %.2fx its time\n",
                median(node_node_home), median(kept_gain));
    std::printf("barrier of 4 procedures (here, nodes 1, 2, 3)     %7.1f us\n", median(barriers));
    if (mpi_pp.empty()) {
        std::printf("Open MPI reference: not built (no MPI) or mpirun failed\n");
    } else {
        std::printf("Open MPI over TCP, 8-byte ping-pong (-np 2)       %7.1f us: node 1 <-> node 2 takes %.2fx it, home <-> node 1 %.2fx\n",
                    median(mpi_pp), median(node_mpi_ratio), median(home_mpi_ratio));
        std::printf("Open MPI over TCP, MPI_Barrier (-np 4)            %7.1f us: the 4-procedure barrier is %.2fx it\n",
                    median(mpi_barrier), median(barrier_mpi_ratio));
    }
    return 0;
}
