#include "cluster/node_roster.h"

#include <asio.hpp>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;
using Clock = std::chrono::steady_clock;

Result<std::unique_ptr<NodeRoster>> NodeRoster::start(RosterOptions options) {
    std::unique_ptr<NodeRoster> r(new NodeRoster());
    r->options_ = std::move(options);
    r->options_.client.cancel = &r->stopping_;
    r->slots_.resize(r->options_.nodes.size());
    if (!r->options_.listen_host.empty()) {
        // Bound with asio (address parsing, IPv6), then served with poll():
        // one accept at a time, each handshake bounded by the connect timeout.
        std::error_code ec;
        const auto address = asio::ip::make_address(r->options_.listen_host, ec);
        if (ec) return Error{cat("--listen-nodes: '", r->options_.listen_host, "' is not an IP address")};
        asio::io_context io;
        asio::ip::tcp::acceptor acceptor(io);
        const asio::ip::tcp::endpoint ep(address, r->options_.listen_port);
        acceptor.open(ep.protocol(), ec);
        if (!ec) acceptor.set_option(asio::ip::tcp::acceptor::reuse_address(true), ec);
        if (!ec) acceptor.bind(ep, ec);
        if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
        if (ec)
            return Error{cat("--listen-nodes: cannot listen on ", r->options_.listen_host, ":", r->options_.listen_port, ": ",
                             ec.message())};
        r->bound_port_ = acceptor.local_endpoint().port();
        r->listen_fd_ = acceptor.release(ec);
        if (ec) return Error{cat("--listen-nodes: ", ec.message())};
        r->threads_.emplace_back([p = r.get()] { p->listen_loop(); });
    }
    for (std::size_t i = 0; i < r->slots_.size(); ++i) r->threads_.emplace_back([p = r.get(), i] { p->dial(i); });
    return r;
}

NodeRoster::~NodeRoster() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& t : threads_) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
}

bool NodeRoster::stopped_during(std::chrono::milliseconds d) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, d, [&] { return stopping_.load(); });
}

void NodeRoster::dial(std::size_t slot) {
    const NodeAddress& a = options_.nodes[slot];
    auto backoff = options_.first_backoff;
    bool warned = false;  // once per outage
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            changed_.wait(lock, [&] { return stopping_.load() || slots_[slot].wanted; });
            if (stopping_) return;
        }
        auto c = NodeClient::connect(a.host, a.port, options_.secret, options_.client);
        if (stopping_) return;
        std::unique_lock lock(mutex_);
        slots_[slot].tried = true;
        if (c) {
            slots_[slot].wanted = false;
            slots_[slot].refused = false;
            slots_[slot].why.clear();
            arrivals_.push_back(Arrival{slot, std::move(c).value(), format_address(a)});
            ++arrived_;
            backoff = options_.first_backoff;
            warned = false;
            changed_.notify_all();
            continue;
        }
        slots_[slot].why = c.error();
        const std::string& e = c.error();
        slots_[slot].refused = e.find(": cannot connect: ") == std::string::npos &&
                               e.find(": cannot resolve: ") == std::string::npos &&
                               e.find(": no answer within ") == std::string::npos;
        if (!warned) options_.say(LogLevel::Warn, c.error() + "; redialling it in the background");
        warned = true;
        changed_.notify_all();  // wait_for counts the tries
        const auto pause = backoff;
        backoff = std::min(backoff * 2, options_.longest_backoff);
        lock.unlock();
        if (stopped_during(pause)) return;
    }
}

void NodeRoster::listen_loop() {
    while (!stopping_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        sockaddr_storage from{};
        socklen_t len = sizeof from;
        const int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&from), &len, SOCK_CLOEXEC);
        if (fd < 0) {
            if (stopped_during(std::chrono::milliseconds(50))) return;  // e.g. out of descriptors: do not spin
            continue;
        }
        char host[64] = "?";
        std::uint16_t port = 0;
        if (from.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&from);
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
            port = ntohs(in->sin_port);
        } else if (from.ss_family == AF_INET6) {
            const auto* in = reinterpret_cast<const sockaddr_in6*>(&from);
            inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof host);
            port = ntohs(in->sin6_port);
        }
        const std::string address = format_address({host, static_cast<std::uint16_t>(port)});
        auto c = NodeClient::accept_joined(fd, "node " + address, options_.secret, options_.client);
        if (stopping_) return;
        if (!c) {
            options_.say(LogLevel::Warn, "a node that dialled from " + address + " was not admitted: " + c.error());
            continue;
        }
        std::lock_guard lock(mutex_);
        arrivals_.push_back(Arrival{Arrival::kJoined, std::move(c).value(), address});
        ++arrived_;
        changed_.notify_all();
    }
}

std::size_t NodeRoster::wait_for(std::size_t min, Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    changed_.wait_until(lock, deadline, [&] {
        if (!std::all_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.tried; })) return false;
        if (arrived_ >= min) return true;
        // Nothing left to wait for: every missing node refused us, and none may dial in.
        const bool may_come = listen_fd_ >= 0 || std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) {
                                  return s.wanted && !s.refused;
                              });
        return !may_come;
    });
    return arrived_;
}

std::vector<Arrival> NodeRoster::take() {
    std::lock_guard lock(mutex_);
    std::vector<Arrival> out;
    while (!arrivals_.empty()) {
        out.push_back(std::move(arrivals_.front()));
        arrivals_.pop_front();
    }
    return out;
}

void NodeRoster::lost(std::size_t slot) {
    if (slot >= slots_.size()) return;
    std::lock_guard lock(mutex_);
    slots_[slot].wanted = true;
    changed_.notify_all();
}

std::string NodeRoster::why_missing(std::size_t slot) const {
    std::lock_guard lock(mutex_);
    return slot < slots_.size() ? slots_[slot].why : std::string();
}

}  // namespace polymer::cluster
