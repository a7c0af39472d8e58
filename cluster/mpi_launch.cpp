#include "cluster/mpi_launch.h"

#include <mpi.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include <asio.hpp>

#include "cluster/auth.h"
#include "cluster/log.h"
#include "cluster/node_server.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {

// What rank 0 broadcasts first: the token and the host it runs on (so a node
// on the same host listens on loopback). Fixed sizes: one MPI_Bcast.
struct Bootstrap {
    std::array<char, kFreshTokenChars + 1> token{};  // NUL-terminated, as every text here
    std::array<char, 256> home_host{};
    char ok = 0;  // 0: rank 0 has no token; the node ranks only wait for the stop
};
// What each node rank answers: "host:port", or "!why" when its node did not start.
using AddressText = std::array<char, 320>;

constexpr auto kPoll = std::chrono::milliseconds(20);

template <std::size_t N>
void copy_text(std::array<char, N>& to, const std::string& from) {
    std::memcpy(to.data(), from.data(), std::min(from.size(), N - 1));
}

// Waits for a nonblocking MPI request by polling: a blocking MPI call spins a
// core (Open MPI busy-waits), which a node rank's chunks need. `give_up`
// ends the wait early (false returned).
template <class GiveUp>
bool wait_polling(MPI_Request& request, GiveUp give_up) {
    for (;;) {
        int done = 0;
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (done) return true;
        if (give_up()) return false;
        std::this_thread::sleep_for(kPoll);
    }
}

// An address of this host that the home's host can reach: loopback on the
// same host, else the local address of the route towards the home (a UDP
// socket "connected" to it sends nothing, it only picks the route).
Result<std::string> reachable_address(const std::string& home_host) {
    if (home_host == host_name()) return std::string("127.0.0.1");
    asio::io_context io;
    asio::ip::udp::resolver resolver(io);
    std::error_code ec;
    const auto found = resolver.resolve(home_host, std::to_string(kDefaultPort), ec);
    if (ec) return Error{cat("cannot resolve the home's host name '", home_host, "': ", ec.message())};
    for (const auto& entry : found) {
        asio::ip::udp::socket probe(io);
        probe.open(entry.endpoint().protocol(), ec);
        if (!ec) probe.connect(entry.endpoint(), ec);
        if (ec) continue;
        const asio::ip::address local = probe.local_endpoint(ec).address();
        if (ec || local.is_loopback()) continue;
        return local.to_string();
    }
    return Error{cat("no route from this host to the home's host '", home_host,
                     "' (it resolves to no address or only to loopback here)")};
}

// Sets up this rank's node and listens; returns what rank 0 gathers:
// "host:port", or "!why" (then `server` stays empty).
std::string start_node(const Bootstrap& b, const NodeSetup& setup, asio::io_context& io,
                       std::unique_ptr<NodeServer>& server) {
    if (b.ok == 0) return "!rank 0 made no token";
    auto address = reachable_address(std::string(b.home_host.data()));
    if (!address) return "!" + address.error();
    auto config = node_config(setup);
    if (!config) return "!" + config.error();
    config.value().address = address.value();
    config.value().port = 0;
    const std::string token(b.token.data());
    config.value().secret.assign(token.begin(), token.end());
    auto node = std::make_unique<NodeServer>(io, std::move(config).value());
    auto port = node->listen();
    if (!port) return "!" + port.error();
    server = std::move(node);
    return format_address({address.value(), port.value()});
}

}  // namespace

Result<std::unique_ptr<MpiLaunch>> MpiLaunch::init(int& argc, char**& argv) {
    int provided = 0;
    if (MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return Error{"--mpi: MPI_Init_thread failed"};
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    return std::unique_ptr<MpiLaunch>(new MpiLaunch(rank, size));
}

MpiLaunch::~MpiLaunch() {
    if (!finished_ && is_home()) finish(1);
}

Result<LaunchedNodes> MpiLaunch::gather_nodes() {
    Bootstrap b;
    auto token = fresh_token();
    if (token) {
        copy_text(b.token, token.value());
        copy_text(b.home_host, host_name());
        b.ok = 1;
    }
    MPI_Bcast(&b, sizeof b, MPI_BYTE, 0, MPI_COMM_WORLD);
    AddressText mine{};
    std::vector<AddressText> all(static_cast<std::size_t>(size_));
    MPI_Gather(mine.data(), mine.size(), MPI_CHAR, all.data(), mine.size(), MPI_CHAR, 0, MPI_COMM_WORLD);
    if (!token) return Error{"--mpi: " + token.error()};
    LaunchedNodes out;
    std::string failed;
    for (int r = 1; r < size_; ++r) {
        const std::string text(all[static_cast<std::size_t>(r)].data());
        if (text.empty() || text.front() == '!') {
            failed += cat(failed.empty() ? "" : "; ", "rank ", r, ": ", text.empty() ? "no answer" : text.substr(1));
            continue;
        }
        auto address = parse_host_port(text);
        if (!address) {
            failed += cat(failed.empty() ? "" : "; ", "rank ", r, ": ", address.error());
            continue;
        }
        out.nodes.push_back(address.value());
    }
    if (!failed.empty()) return Error{"--mpi: node ranks did not start: " + failed};
    out.secret.assign(token.value().begin(), token.value().end());
    return out;
}

int MpiLaunch::serve_as_node(NodeSetup setup) {
    finished_ = true;  // this rank finalizes here
    set_log_name(cat("polymer-run[rank ", rank_, "]"));
    set_log_level(LogLevel::Warn);  // as --local-nodes' nodes: rank 0's stderr is the user's
    Bootstrap b;
    MPI_Bcast(&b, sizeof b, MPI_BYTE, 0, MPI_COMM_WORLD);
    if (setup.name.empty()) setup.name = cat("rank-", rank_, "@", host_name());
    asio::io_context io;
    std::unique_ptr<NodeServer> server;
    const std::string answer = start_node(b, setup, io, server);
    if (answer.front() == '!') log(LogLevel::Error, answer.substr(1));
    AddressText mine{};
    copy_text(mine, answer);
    MPI_Gather(mine.data(), mine.size(), MPI_CHAR, nullptr, mine.size(), MPI_CHAR, 0, MPI_COMM_WORLD);

    std::atomic<bool> io_ended{false};
    std::thread io_thread;
    if (server) {
        server->start();
        io_thread = std::thread([&] {
            io.run();
            io_ended = true;
        });
    }
    // Serve until rank 0 says stop. A node stopped by a signal (SIGTERM from
    // the launcher ending the job) leaves without MPI_Finalize: the job is
    // being torn down already.
    char stop = 0;
    MPI_Request request;
    MPI_Ibcast(&stop, 1, MPI_CHAR, 0, MPI_COMM_WORLD, &request);
    const bool told = wait_polling(request, [&] { return io_ended.load(); });
    io.stop();
    if (io_thread.joinable()) io_thread.join();
    server.reset();
    if (!told) return 1;
    MPI_Ibarrier(MPI_COMM_WORLD, &request);
    wait_polling(request, [] { return false; });
    MPI_Finalize();
    return answer.front() == '!' ? 1 : 0;
}

int MpiLaunch::finish(int status) {
    if (finished_ || !is_home()) return status;
    finished_ = true;
    char stop = 1;
    MPI_Request requests[2];
    MPI_Ibcast(&stop, 1, MPI_CHAR, 0, MPI_COMM_WORLD, &requests[0]);
    MPI_Ibarrier(MPI_COMM_WORLD, &requests[1]);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kStopTimeoutMs);
    for (;;) {
        int done = 0;
        MPI_Testall(2, requests, &done, MPI_STATUSES_IGNORE);
        if (done) break;
        if (std::chrono::steady_clock::now() > deadline) {
            // A node rank that is stopped or hung would hold MPI_Finalize up for ever.
            std::fprintf(stderr, "polymer-run: warning: --mpi: a node rank did not stop within %d ms; ending the job "
                                 "with MPI_Abort (status %d)\n",
                         kStopTimeoutMs, status);
            std::fflush(nullptr);
            MPI_Abort(MPI_COMM_WORLD, status);
            return status;
        }
        std::this_thread::sleep_for(kPoll);
    }
    MPI_Finalize();
    return status;
}

}  // namespace polymer::cluster
