#include "cluster/raw_reference.h"

#include <memory>
#include <vector>

#include "cluster/node_store.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

namespace {

// One buffer for every connection that asks for its stream to be kept
// (they come one at a time): like a region, already faulted in once reused.
std::vector<std::uint8_t>& kept() {
    static std::vector<std::uint8_t> bytes;
    return bytes;
}

asio::awaitable<void> serve_one(asio::ip::tcp::socket socket) {
    std::error_code ec;
    socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto ok = asio::redirect_error(asio::use_awaitable, ec);
    std::uint8_t request[16];
    co_await asio::async_read(socket, asio::buffer(request), ok);
    if (ec) co_return;
    std::uint64_t left = 0, keep = 0;
    for (int i = 7; i >= 0; --i) left = left << 8 | request[i];
    for (int i = 15; i >= 8; --i) keep = keep << 8 | request[i];
    std::vector<std::uint8_t> sink(1u << 20);  // what a plain receiver would use: one buffer, reused
    if (keep == 1 && kept().size() < left) kept().resize(left);
    // keep == 2: new storage, as a new region gets it (a fresh mapping, its
    // pages mapped in 1 MiB at a time as they are about to be filled).
    RegionBytes fresh(keep == 2 ? static_cast<std::size_t>(left) : 0);
    constexpr std::uint64_t kMapIn = 1u << 20;
    for (std::uint64_t at = 0; at < left;) {
        std::size_t n = 0;
        if (keep == 2 && fresh.data()) {
            const std::uint64_t piece = std::min(left - at, kMapIn - at % kMapIn);
            if (at % kMapIn == 0) map_in_fresh_pages(fresh.data() + at, static_cast<std::size_t>(std::min(left - at, kMapIn)));
            n = co_await socket.async_read_some(asio::buffer(fresh.data() + at, piece), ok);
        } else if (keep == 1) {
            n = co_await socket.async_read_some(asio::buffer(kept().data() + at, left - at), ok);
        } else {
            n = co_await socket.async_read_some(asio::buffer(sink.data(), std::min<std::uint64_t>(left - at, sink.size())), ok);
        }
        if (ec) co_return;
        at += n;
    }
    co_await asio::async_write(socket, asio::buffer(sink.data(), 1), ok);
    std::uint8_t ping[8];
    while (!ec) {
        co_await asio::async_read(socket, asio::buffer(ping), ok);
        if (!ec) co_await asio::async_write(socket, asio::buffer(ping), ok);
    }
}

asio::awaitable<void> accept_loop(std::shared_ptr<asio::ip::tcp::acceptor> acceptor) {
    for (;;) {
        std::error_code ec;
        asio::ip::tcp::socket socket = co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;
        asio::co_spawn(acceptor->get_executor(), serve_one(std::move(socket)), asio::detached);
    }
}

}  // namespace

Result<std::uint16_t> serve_raw_reference(asio::io_context& io, const std::string& address) {
    std::error_code ec;
    auto ip = asio::ip::make_address(address, ec);
    if (ec) return Error{pbc::cat("raw reference: '", address, "' is not an IP address")};
    auto acceptor = std::make_shared<asio::ip::tcp::acceptor>(io);
    asio::ip::tcp::endpoint ep(ip, 0);
    acceptor->open(ep.protocol(), ec);
    if (!ec) acceptor->bind(ep, ec);
    if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return Error{pbc::cat("raw reference: cannot listen on ", address, ": ", ec.message())};
    const std::uint16_t port = acceptor->local_endpoint().port();
    asio::co_spawn(io, accept_loop(acceptor), asio::detached);
    return port;
}

}  // namespace polymer::cluster
