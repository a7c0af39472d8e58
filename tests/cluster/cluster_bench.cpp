// Not a test: loopback figures for docs/benchmarks.md. Starts one polymer-node
// (with --raw-reference) and measures, from this process:
//   - region-put throughput (256 MiB in 16 MiB slices) next to a raw TCP
//     stream between the same two processes;
//   - the round trip of a have-module request and of a one-lane launch next to
//     a raw 8-byte TCP ping-pong between the same two processes;
//   - launches per second with 64 in flight;
//   - through ClusterBackend (the home's view, cluster/cluster_backend.h):
//     chunks per second for 5,000 one-lane chunks on two nodes, and saxpy
//     over 32M floats and a mandelbrot launch on 1, 2 and 3 nodes end to
//     end, next to the bound set by the bytes moved and the raw TCP rate.
// Usage: cluster_bench [put|rtt|saxpy|straggler|pinned|split]   (straggler:
// only the stopped-node figure, which the full run prints last; put: only region puts,
// 40 x 256 MiB, to profile them; rtt: only one-lane launches, 100,000 one at
// a time, bench and node on CPU 0, to profile them; saxpy: only saxpy on one
// node, 5 times, to profile it (its bound assumes 25 Gbit/s); pinned: bench
// and node on CPU 0; split: bench on CPU 0, node on CPU 1; those two skip
// the cluster figures)
#include <sched.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "assembler/assembler.h"
#include "cluster/cluster_backend.h"
#include "cluster/node_client.h"
#include "isa/byte_io.h"
#include "isa/module_io.h"
#include "node_process.h"
#include "raw_reference_client.h"
#include "test_kernels.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

std::unique_ptr<ClusterBackend> cluster_of(const Module& m, Backend& local, const std::vector<std::unique_ptr<NodeProcess>>& nodes,
                                           std::size_t count, std::uint64_t min_lanes, unsigned per_node, bool one_grain_claims = false) {
    ClusterOptions o;
    for (std::size_t i = 0; i < count; ++i) o.nodes.push_back({"127.0.0.1", nodes[i]->port()});
    o.secret = bytes_of(kSecret);
    o.local_work = false;
    o.min_chunk_lanes = min_lanes;
    o.grains_per_participant = per_node;
    if (one_grain_claims) o.max_claim_grains = 1;
    auto b = ClusterBackend::create(m, local, o);
    if (!b) {
        std::fprintf(stderr, "%s\n", b.error().c_str());
        std::exit(1);
    }
    return std::move(b).value();
}

// Lesson 16's source (its mandelbrot kernel); empty when it cannot be read.
std::string lesson_16() {
    std::FILE* f = std::fopen(POLYMER_SAMPLES_DIR "/16-cluster.pasm", "rb");
    std::string src;
    char buf[4096];
    for (std::size_t r; f && (r = std::fread(buf, 1, sizeof buf, f)) > 0;) src.append(buf, r);
    if (f) std::fclose(f);
    return src;
}

std::uint64_t bytes_moved(const ClusterBackend& b) {
    std::uint64_t n = 0;
    for (const ParticipantStats& p : b.participant_stats()) n += p.bytes_in + p.bytes_out;
    return n;
}

// Cluster figures through ClusterBackend, printed as table rows.
// `saxpy_only`: only the saxpy rows, on 1 node, 5 times (to profile them).
void cluster_figures(double raw_gbit, bool saxpy_only = false) {
    TempTokenFile token(kSecret);
    std::vector<std::unique_ptr<NodeProcess>> nodes;
    for (int i = 0; i < 3; ++i)
        nodes.push_back(std::make_unique<NodeProcess>(token.path(), std::vector<std::string>{"--max-memory", "4G", "--log-level", "warn"}));
    CpuBackend local;

    // 5,000 one-lane chunks on two nodes.
    AssembleResult one = assemble(".module k\n.kernel one (out z: f32[i])\n gid r0\n.end\n.proc main\n halt\n.end\n");
    std::vector<float> z(5000);
    if (!saxpy_only) {
        auto b = cluster_of(*one.module, local, nodes, 2, 1, 2500, true);  // 5,000 grains, each its own chunk
        KernelLaunch l;
        l.kernel = &one.module->kernels[0];
        l.count = l.end = z.size();
        l.args = {KernelArg{z.data(), z.size(), ElemType::F32, 0}};
        b->wait(b->submit(l));  // warm: module upload, regions
        auto t = Clock::now();
        b->wait(b->submit(l));
        const double per_s = 5000 / seconds_since(t);
        std::printf("cluster: 5000 one-lane chunks, 2 nodes       %8.0f chunks/s (%.1fx Dask's 620/s)\n", per_s, per_s / 620);
    }

    // saxpy over 32M floats: 2 x 128 MiB in, 128 MiB out.
    const std::size_t n = 32u << 20;
    AssembleResult sax = assemble(kSaxpy);
    std::vector<float> x(n, 1.5f), y(n, 0.25f), out(n);
    for (std::size_t k = 1; k <= 3; k += saxpy_only ? 0 : 1) {
        static int runs = 0;
        if (saxpy_only && runs++ == 5) return;
        auto b = cluster_of(*sax.module, local, nodes, k, 1 << 16, 8);
        KernelLaunch l;
        l.kernel = &sax.module->kernels[0];
        l.count = l.end = n;
        l.args = {KernelArg{x.data(), n, ElemType::F32, 0}, KernelArg{y.data(), n, ElemType::F32, 0},
                  KernelArg{out.data(), n, ElemType::F32, 0}, KernelArg{nullptr, 0, ElemType::F32, bits(2.0f)}};
        auto t = Clock::now();
        b->wait(b->submit(l));
        const double s = seconds_since(t);
        const double bound = static_cast<double>(bytes_moved(*b)) * 8 / (raw_gbit * 1e9);
        std::printf("cluster: saxpy 32M floats, %zu node(s)         %8.3f s (bytes-moved bound %.3f s: %.0f%%)\n", k, s, bound,
                    100 * bound / s);
    }

    // Mandelbrot (lesson 16's kernel), 96 x 2000 points, 200 iterations.
    AssembleResult mb = assemble(lesson_16());
    if (!mb.ok()) return;
    const std::size_t lanes = 96 * 2000;
    std::vector<std::int32_t> it(lanes), ch(lanes);
    for (std::size_t k = 1; k <= 3; ++k) {
        auto b = cluster_of(*mb.module, local, nodes, k, 1024, 16);
        KernelLaunch l;
        l.kernel = &mb.module->kernels[0];
        l.count = l.end = lanes;
        l.args = {KernelArg{it.data(), lanes, ElemType::I32, 0}, KernelArg{ch.data(), lanes, ElemType::I32, 0},
                  KernelArg{nullptr, 0, ElemType::I32, 96}, KernelArg{nullptr, 0, ElemType::I32, 200}};
        auto t = Clock::now();
        b->wait(b->submit(l));
        const double s = seconds_since(t);
        const double bound = static_cast<double>(bytes_moved(*b)) * 8 / (raw_gbit * 1e9);
        std::printf("cluster: mandelbrot 96x2000, %zu node(s)       %8.3f s (bytes-moved bound %.4f s)\n", k, s, bound);
    }
}

// A node stopped (SIGSTOP) while it runs its first claims of a Mandelbrot
// launch (lesson 16's kernel, 512 x 2000 points, 4000 iterations) over the
// home and two nodes with polymer-run's defaults, against the same launch
// with every node well, in the same run. The stopped node is dropped only
// after the heartbeat timeout (5 s); its claims should get backups long before.
void straggler_figures() {
    AssembleResult mb = assemble(lesson_16());
    if (!mb.ok()) return void(std::fprintf(stderr, "lesson 16 does not assemble\n"));
    const std::size_t width = 512, lanes = width * 2000;
    std::vector<std::int32_t> it(lanes), ch(lanes), well_it;
    CpuBackend local;
    auto run = [&](bool stop) {
        TempTokenFile token(kSecret);
        std::vector<std::unique_ptr<NodeProcess>> nodes;
        for (int i = 0; i < 2; ++i)
            nodes.push_back(std::make_unique<NodeProcess>(token.path(), std::vector<std::string>{"--log-level", "error"}));
        ClusterOptions o;  // polymer-run's defaults, home included
        for (auto& n : nodes) o.nodes.push_back({"127.0.0.1", n->port()});
        o.secret = bytes_of(kSecret);
        auto b = ClusterBackend::create(*mb.module, local, o);
        if (!b) return std::fprintf(stderr, "%s\n", b.error().c_str()), -1.0;
        KernelLaunch l;
        l.kernel = &mb.module->kernels[0];
        l.count = l.end = lanes;
        l.args = {KernelArg{it.data(), lanes, ElemType::I32, 0}, KernelArg{ch.data(), lanes, ElemType::I32, 0},
                  KernelArg{nullptr, 0, ElemType::I32, static_cast<std::uint32_t>(width)}, KernelArg{nullptr, 0, ElemType::I32, 4000}};
        std::fill(it.begin(), it.end(), 0);
        auto t = Clock::now();
        const Ticket ticket = b.value()->submit(l);
        if (stop) {
            std::this_thread::sleep_for(std::chrono::milliseconds(50));  // it has its claims by now
            nodes[0]->signal(SIGSTOP);
        }
        b.value()->wait(ticket);
        const double s = seconds_since(t);
        if (stop) nodes[0]->signal(SIGCONT);
        return s;
    };
    run(false);  // warm-up: page cache, CPU frequency
    well_it = it;
    // Rounds alternate the two, so a change in machine load moves both.
    std::vector<double> well, stopped, ratio;
    bool same = true;
    for (int round = 0; round < 3; ++round) {
        well.push_back(run(false));
        stopped.push_back(run(true));
        same = same && it == well_it;
        ratio.push_back(stopped.back() / well.back());
    }
    std::printf("straggler: mandelbrot 512x2000x4000, home + 2 nodes   %6.3f s, one node stopped 50 ms in %6.3f s: "
                "%.2fx [%.2f..%.2f] (medians of 3 rounds)%s\n",
                median(well), median(stopped), median(ratio), *std::min_element(ratio.begin(), ratio.end()),
                *std::max_element(ratio.begin(), ratio.end()), same ? "" : " (DIFFERENT RESULT)");
}

void pin(pid_t pid, int cpu) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (sched_setaffinity(pid, sizeof one, &one) != 0) std::perror("sched_setaffinity"), std::exit(1);
}

// Everything between this process and one node: transfers, round trips,
// launches per second. Its node, client and buffers are gone when it
// returns, so the cluster figures start from a clean machine (with this
// node's 2.3 GB of regions still held, saxpy on one node took 2-3x longer).
// The iperf-style rate's median goes to `raw_median`; an exit status.
int one_node_figures(bool puts_only, bool rtt_only, bool pinned, bool split, double& raw_median) {
    // Rounds alternate the raw reference with the cluster's own figure, so a
    // change in machine load mid-run moves both; ratios are per round.
    const std::size_t total = 256u << 20;
    const int rounds = 9, pings = 400;
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "4G", "--raw-reference"});
    if (split) pin(node.pid(), 1);  // its io thread, which does all the work measured here
    const std::string marker = "raw TCP reference on 127.0.0.1:";
    if (!node.wait_for_log(marker)) return std::fprintf(stderr, "no raw reference port\n%s", node.log().c_str()), 1;
    const std::string log = node.log();
    RawReference raw(static_cast<std::uint16_t>(std::stoi(log.substr(log.find(marker) + marker.size()))));

    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
    if (!c) return std::fprintf(stderr, "%s\n", c.error().c_str()), 1;
    NodeClient& client = *c.value();
    AssembleResult a = assemble(".module k\n.kernel one (out z: f32[i])\n gid r0\n.end\n.proc main\n halt\n.end\n");
    if (!a.ok()) return std::fprintf(stderr, "assemble failed\n"), 1;
    auto uploaded = client.upload_module(write_module(*a.module));
    if (!uploaded) return std::fprintf(stderr, "%s\n%s", uploaded.error().c_str(), node.log().c_str()), 1;
    client.put_region(2, 1, 4, 0, Bytes(4));
    LaunchChunk l;
    l.module = uploaded.value();
    l.count = 1;
    l.end = 1;
    l.args = {Binding{Binding::Kind::Region, 2, 1, 0}};

    for (int i = 0; rtt_only && i < 100000; ++i)
        if (auto res = client.launch(l); !res) return std::fprintf(stderr, "%s\n", res.error().c_str()), 1;
    if (rtt_only) return 0;

    std::vector<std::uint8_t> data(total);
    for (std::size_t i = 0; i < total; ++i) data[i] = static_cast<std::uint8_t>(i * 131 + (i >> 20));
    std::vector<double> raw_gbit, raw_region_gbit, put_gbit, next_gbit, get_gbit, put_ratio, next_ratio, get_ratio;
    std::vector<double> put_region_ratio, next_region_ratio, raw_new_gbit;
    std::vector<double> raw_rtt, have_rtt, launch_rtt, have_ratio, launch_ratio;
    for (int i = 0; puts_only && i < 40; ++i)
        if (auto put = client.put_region(1, 1 + i, total, 0, data); !put) return std::fprintf(stderr, "%s\n", put.error().c_str()), 1;
    if (puts_only) return 0;
    for (int round = 0; round < rounds; ++round) {
        const std::uint64_t id = 10 + round;  // a new region: fresh storage on the node
        raw_gbit.push_back(raw.stream_gbit(total));
        raw_region_gbit.push_back(raw.stream_gbit(data, RawReference::Into::Reused));
        raw_new_gbit.push_back(raw.stream_gbit(data, RawReference::Into::New));
        auto t = Clock::now();
        auto put = client.put_region(id, 1, total, 0, data);
        put_gbit.push_back(total * 8 / seconds_since(t) / 1e9);
        if (!put) return std::fprintf(stderr, "%s\n", put.error().c_str()), 1;
        t = Clock::now();
        put = client.put_region(id, 2, total, 0, data);  // its next version: the program's next iteration
        next_gbit.push_back(total * 8 / seconds_since(t) / 1e9);
        if (!put) return std::fprintf(stderr, "%s\n", put.error().c_str()), 1;
        t = Clock::now();
        auto got = client.get_region(id, 2, 0, total);
        get_gbit.push_back(total * 8 / seconds_since(t) / 1e9);
        if (!got) return std::fprintf(stderr, "%s\n", got.error().c_str()), 1;
        if (got.value() != data) return std::fprintf(stderr, "region-get returned other bytes than were put\n"), 1;
        put_ratio.push_back(put_gbit.back() / raw_gbit.back());
        next_ratio.push_back(next_gbit.back() / raw_gbit.back());
        get_ratio.push_back(get_gbit.back() / raw_gbit.back());
        put_region_ratio.push_back(put_gbit.back() / raw_new_gbit.back());
        next_region_ratio.push_back(next_gbit.back() / raw_region_gbit.back());

        std::vector<double> r, h, la;
        for (int i = 0; i < pings; ++i) {
            r.push_back(raw.ping_us());
            auto t0 = Clock::now();
            client.have_module(Sha256{});
            h.push_back(seconds_since(t0) * 1e6);
            t0 = Clock::now();
            if (auto res = client.launch(l); !res) return std::fprintf(stderr, "%s\n%s", res.error().c_str(), node.log().c_str()), 1;
            la.push_back(seconds_since(t0) * 1e6);
        }
        raw_rtt.push_back(median(r));
        have_rtt.push_back(median(h));
        launch_rtt.push_back(median(la));
        have_ratio.push_back(have_rtt.back() / raw_rtt.back());
        launch_ratio.push_back(launch_rtt.back() / raw_rtt.back());
    }

    const int chunks = 5000, window = 64;
    std::vector<std::uint64_t> ids;
    int failed = 0;
    auto t = Clock::now();
    for (int i = 0; i < chunks; ++i) {
        ids.push_back(client.start_launch(l));
        if (ids.size() == window) {
            for (auto id : ids) {
                auto r = client.wait_launch(id);
                if (!r && failed++ == 0) std::fprintf(stderr, "%s\n", r.error().c_str());
            }
            ids.clear();
        }
    }
    for (auto id : ids) failed += client.wait_launch(id) ? 0 : 1;
    if (failed != 0) return std::fprintf(stderr, "%d launches failed\n%s", failed, node.log().c_str()), 1;
    const double chunks_per_s = chunks / seconds_since(t);

    auto range = [](std::vector<double> v, double scale) {
        std::sort(v.begin(), v.end());
        char text[64];
        std::snprintf(text, sizeof text, scale == 100 ? "[%.0f..%.0f]" : "[%.2f..%.2f]", v.front() * scale, v.back() * scale);
        return std::string(text);
    };
    std::printf("%d rounds%s; figures are medians, ratios the median of the rounds' ratios [min..max]\n", rounds,
                pinned ? ", bench and node pinned to CPU 0" : split ? ", bench on CPU 0, node on CPU 1" : "");
    std::printf("raw TCP stream, hot 16 MiB buffer -> sink  %8.2f Gbit/s (bench -> node process, iperf-style)\n", median(raw_gbit));
    std::printf("raw TCP stream, the region's 256 MiB       %8.2f Gbit/s (into one reused 256 MiB buffer)\n",
                median(raw_region_gbit));
    std::printf("raw TCP stream, the region's 256 MiB, new  %8.2f Gbit/s (into new storage, mapped in as a new region's)\n",
                median(raw_new_gbit));
    std::printf("region-put 256 MiB, new region             %8.2f Gbit/s: %3.0f%% of raw %s, %3.0f%% of raw new %s\n",
                median(put_gbit), 100 * median(put_ratio), range(put_ratio, 100).c_str(), 100 * median(put_region_ratio),
                range(put_region_ratio, 100).c_str());
    std::printf("region-put 256 MiB, its next version       %8.2f Gbit/s: %3.0f%% of raw %s, %3.0f%% of raw region %s\n",
                median(next_gbit), 100 * median(next_ratio), range(next_ratio, 100).c_str(), 100 * median(next_region_ratio),
                range(next_region_ratio, 100).c_str());
    std::printf("region-get 256 MiB                         %8.2f Gbit/s: %3.0f%% of raw %s\n", median(get_gbit),
                100 * median(get_ratio), range(get_ratio, 100).c_str());
    std::printf("raw 8-byte ping-pong (bench <-> node)      %8.1f us\n", median(raw_rtt));
    std::printf("have-module round trip                     %8.1f us: %.2fx raw %s\n", median(have_rtt), median(have_ratio),
                range(have_ratio, 1).c_str());
    std::printf("one-lane launch round trip                 %8.1f us: %.2fx raw %s\n", median(launch_rtt), median(launch_ratio),
                range(launch_ratio, 1).c_str());
    std::printf("one-lane launches/s, 64 in flight, 1 node  %8.0f (5000 launches)\n", chunks_per_s);
    std::fflush(stdout);
    raw_median = median(raw_gbit);
    return 0;
}

// `cluster_bench tls`: the same transfers and round trips to a plain node
// and to a --tls node (same token, same machine), interleaved round by
// round; ratios are --tls over plain, per round.
int tls_figures() {
    const std::size_t total = 64u << 20;
    const int rounds = 7, pings = 300;
    TempTokenFile token(kSecret);
    NodeProcess plain_node(token.path(), {"--max-memory", "1G"}), tls_node(token.path(), {"--max-memory", "1G", "--tls"});
    ClientOptions with_tls;
    with_tls.tls = true;
    auto plain = NodeClient::connect("127.0.0.1", plain_node.port(), bytes_of(kSecret));
    auto tls = NodeClient::connect("127.0.0.1", tls_node.port(), bytes_of(kSecret), with_tls);
    if (!plain || !tls) return std::fprintf(stderr, "%s\n", (!plain ? plain.error() : tls.error()).c_str()), 1;
    std::vector<std::uint8_t> data(total);
    for (std::size_t i = 0; i < total; ++i) data[i] = static_cast<std::uint8_t>(i * 131 + (i >> 20));
    struct Figures {
        std::vector<double> put_gbit, get_gbit, rtt_us;
    } figures[2];  // plain, tls
    std::vector<double> put_ratio, get_ratio, rtt_ratio;
    for (int round = 0; round < rounds; ++round) {
        for (int k = 0; k < 2; ++k) {
            NodeClient& client = k == 0 ? *plain.value() : *tls.value();
            Figures& f = figures[k];
            auto t = Clock::now();
            if (auto put = client.put_region(1, 1 + round, total, 0, data); !put) return std::fprintf(stderr, "%s\n", put.error().c_str()), 1;
            f.put_gbit.push_back(total * 8 / seconds_since(t) / 1e9);
            t = Clock::now();
            auto got = client.get_region(1, 1 + round, 0, total);
            f.get_gbit.push_back(total * 8 / seconds_since(t) / 1e9);
            if (!got || got.value() != data) return std::fprintf(stderr, "region-get failed or returned other bytes\n"), 1;
            std::vector<double> r;
            for (int i = 0; i < pings; ++i) {
                t = Clock::now();
                client.have_module(Sha256{});
                r.push_back(seconds_since(t) * 1e6);
            }
            f.rtt_us.push_back(median(r));
        }
        put_ratio.push_back(figures[1].put_gbit.back() / figures[0].put_gbit.back());
        get_ratio.push_back(figures[1].get_gbit.back() / figures[0].get_gbit.back());
        rtt_ratio.push_back(figures[1].rtt_us.back() / figures[0].rtt_us.back());
    }
    auto range = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        char text[64];
        std::snprintf(text, sizeof text, "[%.2f..%.2f]", v.front(), v.back());
        return std::string(text);
    };
    std::printf("%d rounds, plain and --tls interleaved; medians, ratios --tls/plain per round [min..max]\n", rounds);
    std::printf("region-put 64 MiB     plain %7.2f Gbit/s   --tls %7.2f Gbit/s   %.2fx %s\n", median(figures[0].put_gbit),
                median(figures[1].put_gbit), median(put_ratio), range(put_ratio).c_str());
    std::printf("region-get 64 MiB     plain %7.2f Gbit/s   --tls %7.2f Gbit/s   %.2fx %s\n", median(figures[0].get_gbit),
                median(figures[1].get_gbit), median(get_ratio), range(get_ratio).c_str());
    std::printf("have-module round trip plain %7.1f us       --tls %7.1f us       %.2fx %s\n", median(figures[0].rtt_us),
                median(figures[1].rtt_us), median(rtt_ratio), range(rtt_ratio).c_str());
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    // `cluster_bench tls`: plain against --tls (tls_figures).
    // `cluster_bench put`: only region puts, over and over (to profile them).
    // `cluster_bench pinned`: this process and the node on CPU 0 only (the
    // issue's second reference point for round trips); `split`: this process
    // on CPU 0, the node on CPU 1 (placement fixed: the unpinned figures
    // move with where the scheduler puts the two). Neither runs the cluster
    // figures, which need every core.
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "tls") return tls_figures();
    if (mode == "saxpy") return cluster_figures(25, true), 0;
    if (mode == "straggler") return straggler_figures(), 0;
    const bool puts_only = mode == "put", rtt_only = mode == "rtt", pinned = mode == "pinned" || rtt_only,
               split = mode == "split";
    if (pinned || split) pin(0, 0);
    double raw_median = 0;
    if (int status = one_node_figures(puts_only, rtt_only, pinned, split, raw_median); status != 0 || puts_only || rtt_only)
        return status;
    if (!pinned && !split) {
        cluster_figures(raw_median);
        straggler_figures();
    }
    return 0;
}
