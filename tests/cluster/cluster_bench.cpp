// Not a test: loopback figures for docs/protocol.md. Starts one polymer-node
// and measures, from this process:
//   - region-put throughput (256 MiB in 16 MiB slices) next to a raw TCP
//     stream between two threads of this process;
//   - the round trip of a have-module request and of a one-lane launch next to
//     a raw 8-byte TCP ping-pong;
//   - launches per second with 64 in flight.
// Usage: cluster_bench   (build-net/bin/cluster_bench)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "assembler/assembler.h"
#include "cluster/node_client.h"
#include "isa/module_io.h"
#include "node_process.h"

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

// Raw TCP between two threads of this process: stream throughput and ping-pong.
void raw_tcp(std::size_t bytes, int pings, double& gbit, double& rtt_us) {
    asio::io_context io;
    asio::ip::tcp::acceptor acc(io, {asio::ip::make_address("127.0.0.1"), 0});
    std::thread server([&] {
        asio::ip::tcp::socket s(io);
        acc.accept(s);
        s.set_option(asio::ip::tcp::no_delay(true));
        std::vector<std::uint8_t> buf(1 << 20);
        std::size_t got = 0;
        while (got < bytes) got += s.read_some(asio::buffer(buf));
        asio::write(s, asio::buffer(buf.data(), 1));
        std::uint8_t p[8];
        for (int i = 0; i < pings; ++i) {
            asio::read(s, asio::buffer(p));
            asio::write(s, asio::buffer(p));
        }
    });
    asio::ip::tcp::socket c(io);
    c.connect(acc.local_endpoint());
    c.set_option(asio::ip::tcp::no_delay(true));
    std::vector<std::uint8_t> chunk(kMaxSliceBytes, 0x5A);
    auto t = Clock::now();
    for (std::size_t sent = 0; sent < bytes; sent += chunk.size()) asio::write(c, asio::buffer(chunk));
    std::uint8_t ack;
    asio::read(c, asio::buffer(&ack, 1));
    gbit = bytes * 8 / seconds_since(t) / 1e9;
    std::vector<double> rtts;
    std::uint8_t p[8] = {};
    for (int i = 0; i < pings; ++i) {
        auto t0 = Clock::now();
        asio::write(c, asio::buffer(p));
        asio::read(c, asio::buffer(p));
        rtts.push_back(seconds_since(t0) * 1e6);
    }
    server.join();
    rtt_us = median(rtts);
}

}  // namespace

int main() {
    const std::size_t total = 256u << 20;
    const int pings = 2000;
    double raw_gbit = 0, raw_rtt = 0;
    raw_tcp(total, pings, raw_gbit, raw_rtt);

    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "1G", "--log-level", "warn"});
    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
    if (!c) {
        std::fprintf(stderr, "%s\n", c.error().c_str());
        return 1;
    }
    NodeClient& client = *c.value();

    std::vector<std::uint8_t> data(total, 0x33);
    auto t = Clock::now();
    auto put = client.put_region(1, 1, total, 0, data);
    const double put_gbit = total * 8 / seconds_since(t) / 1e9;
    if (!put) return std::fprintf(stderr, "%s\n", put.error().c_str()), 1;
    t = Clock::now();
    auto got = client.get_region(1, 1, 0, total);
    const double get_gbit = total * 8 / seconds_since(t) / 1e9;
    if (!got) return std::fprintf(stderr, "%s\n", got.error().c_str()), 1;

    std::vector<double> rtts;
    for (int i = 0; i < pings; ++i) {
        auto t0 = Clock::now();
        client.have_module(Sha256{});
        rtts.push_back(seconds_since(t0) * 1e6);
    }
    const double have_rtt = median(rtts);

    AssembleResult a = assemble(".module k\n.kernel one (out z: f32[i])\n gid r0\n.end\n.proc main\n halt\n.end\n");
    if (!a.ok()) return std::fprintf(stderr, "assemble failed\n"), 1;
    auto uploaded = client.upload_module(write_module(*a.module));
    if (!uploaded) return std::fprintf(stderr, "%s\n%s", uploaded.error().c_str(), node.log().c_str()), 1;
    const Sha256 hash = uploaded.value();
    client.put_region(2, 1, 4, 0, Bytes(4));
    LaunchChunk l;
    l.module = hash;
    l.count = 1;
    l.end = 1;
    l.args = {Binding{Binding::Kind::Region, 2, 1, 0}};
    rtts.clear();
    for (int i = 0; i < pings; ++i) {
        auto t0 = Clock::now();
        if (auto r = client.launch(l); !r) return std::fprintf(stderr, "%s\n%s", r.error().c_str(), node.log().c_str()), 1;
        rtts.push_back(seconds_since(t0) * 1e6);
    }
    const double launch_rtt = median(rtts);

    const int chunks = 5000, window = 64;
    std::vector<std::uint64_t> ids;
    int failed = 0;
    t = Clock::now();
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

    std::printf("raw TCP stream (this process, 2 threads)  %8.2f Gbit/s\n", raw_gbit);
    std::printf("region-put 256 MiB                         %8.2f Gbit/s (%.0f%% of raw)\n", put_gbit, 100 * put_gbit / raw_gbit);
    std::printf("region-get 256 MiB                         %8.2f Gbit/s (%.0f%% of raw)\n", get_gbit, 100 * get_gbit / raw_gbit);
    std::printf("raw 8-byte ping-pong, median               %8.1f us\n", raw_rtt);
    std::printf("have-module round trip, median             %8.1f us (%.2fx raw)\n", have_rtt, have_rtt / raw_rtt);
    std::printf("one-lane launch round trip, median         %8.1f us (%.2fx raw)\n", launch_rtt, launch_rtt / raw_rtt);
    std::printf("one-lane launches/s, 64 in flight, 1 node  %8.0f (5000 launches)\n", chunks_per_s);
    return 0;
}
