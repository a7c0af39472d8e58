// Bench helper: the client side of polymer-node --raw-reference
// (cluster/raw_reference.h), raw TCP between the bench and a node process
// with no protocol, the reference the cluster's own figures are put next to
// (cluster_bench, procedure_bench).
#pragma once

#include <asio.hpp>

#include <chrono>
#include <cstdint>
#include <span>
#include <vector>

#include "cluster/frame.h"

namespace polymer::cluster::testing {

// Raw TCP between this process and the node process (polymer-node
// --raw-reference, cluster/raw_reference.h): a stream, and a ping-pong.
class RawReference {
public:
    using Clock = std::chrono::steady_clock;
    explicit RawReference(std::uint16_t port) : port_(port), pinger_(io_) {
        open(pinger_, 0, 0);  // no stream: straight to the echo
    }
    // iperf-style: one hot 16 MiB buffer sent again and again into the node's
    // reused 1 MiB sink.
    double stream_gbit(std::size_t bytes) {
        const std::vector<std::uint8_t> chunk(kMaxSliceBytes, 0x5A);
        asio::ip::tcp::socket c(io_);
        auto t = Clock::now();
        open(c, bytes, 0);
        for (std::size_t sent = 0; sent < bytes; sent += chunk.size()) asio::write(c, asio::buffer(chunk));
        return finish(c, bytes, t);
    }
    // A region's bytes, with no protocol: sent from where they lie, kept in
    // one (reused) buffer of their size on the node, or in new storage.
    enum class Into { Reused = 1, New = 2 };
    double stream_gbit(std::span<const std::uint8_t> bytes, Into into) {
        asio::ip::tcp::socket c(io_);
        auto t = Clock::now();
        open(c, bytes.size(), static_cast<std::uint8_t>(into));
        asio::write(c, asio::buffer(bytes.data(), bytes.size()));
        return finish(c, bytes.size(), t);
    }
    double ping_us() {
        std::uint8_t p[8] = {};
        auto t0 = Clock::now();
        asio::write(pinger_, asio::buffer(p));
        asio::read(pinger_, asio::buffer(p));
        return std::chrono::duration<double>(Clock::now() - t0).count() * 1e6;
    }

private:
    void open(asio::ip::tcp::socket& s, std::uint64_t stream_bytes, std::uint8_t keep) {
        s.connect({asio::ip::make_address("127.0.0.1"), port_});
        s.set_option(asio::ip::tcp::no_delay(true));
        std::uint8_t request[16] = {};
        for (int i = 0; i < 8; ++i) request[i] = static_cast<std::uint8_t>(stream_bytes >> (8 * i));
        request[8] = keep;
        asio::write(s, asio::buffer(request));
        if (stream_bytes == 0) {
            std::uint8_t ack;
            asio::read(s, asio::buffer(&ack, 1));
        }
    }
    static double finish(asio::ip::tcp::socket& c, std::size_t bytes, Clock::time_point t) {
        std::uint8_t ack;
        asio::read(c, asio::buffer(&ack, 1));
        return bytes * 8 / std::chrono::duration<double>(Clock::now() - t).count() / 1e9;
    }
    std::uint16_t port_;
    asio::io_context io_;
    asio::ip::tcp::socket pinger_;
};

}  // namespace polymer::cluster::testing
