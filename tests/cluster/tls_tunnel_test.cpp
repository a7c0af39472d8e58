// The TLS tunnel (cluster/tls_tunnel.h) on a loopback TCP pair: bytes cross
// both ways and an end of stream passes through; a wrong token fails the
// handshake on both sides as a wrong token; a plain polymer client is told
// with an error frame that the node wants --tls; a silent peer is dropped at
// the handshake deadline.
#include <gtest/gtest.h>

#include <asio.hpp>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <string>
#include <thread>

#include "cluster/frame.h"
#include "cluster/messages.h"
#include "cluster/tls_tunnel.h"

using namespace polymer::cluster;
using namespace std::chrono_literals;

namespace {

std::vector<std::uint8_t> key(const std::string& s) { return {s.begin(), s.end()}; }
const std::string kToken = "correct horse battery staple 0123";

// A TCP pair on loopback, an io thread, and helpers to run a tunnel's handshake on it.
struct Loopback {
    asio::io_context io;
    asio::executor_work_guard<asio::io_context::executor_type> work = asio::make_work_guard(io);
    asio::ip::tcp::socket client{io}, server{io};
    std::thread thread;

    Loopback() {
        asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
        client.connect(acceptor.local_endpoint());
        server = acceptor.accept();
        thread = std::thread([this] { io.run(); });
    }
    ~Loopback() {
        work.reset();
        io.stop();
        thread.join();
    }
    // Makes a tunnel over `socket` with a context for `token`, and starts its handshake.
    std::pair<std::shared_ptr<TlsTunnel>, std::future<std::string>> handshake(asio::ip::tcp::socket& socket, TlsSide side,
                                                                             const std::string& token,
                                                                             std::chrono::milliseconds timeout = 5000ms) {
        auto context = make_tls_context(key(token), side);
        EXPECT_TRUE(context) << context.error();
        auto tunnel = TlsTunnel::make(std::move(socket), context.value());
        EXPECT_TRUE(tunnel) << tunnel.error();
        auto t = tunnel.value();
        std::promise<std::string> done;
        auto result = done.get_future();
        asio::co_spawn(io, t->handshake(timeout), [t, done = std::move(done)](std::exception_ptr, std::string why) mutable {
            if (why.empty()) t->start();
            done.set_value(why);
        });
        return {t, std::move(result)};
    }
};

// The plaintext end, out of asio: the test reads and writes it with plain calls.
int plain_fd(TlsTunnel& t) {
    asio::ip::tcp::socket s = t.take_plain();
    return s.release();
}

void write_all(int fd, const std::vector<std::uint8_t>& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        ASSERT_GT(n, 0);
        done += static_cast<std::size_t>(n);
    }
}

std::vector<std::uint8_t> read_n(int fd, std::size_t n) {
    std::vector<std::uint8_t> got(n);
    std::size_t done = 0;
    while (done < n) {
        const ssize_t r = ::read(fd, got.data() + done, n - done);
        if (r <= 0) break;
        done += static_cast<std::size_t>(r);
    }
    got.resize(done);
    return got;
}

}  // namespace

TEST(TlsTunnel, BytesCrossBothWaysAndAnEndOfStreamPassesThrough) {
    Loopback lo;
    auto [server, server_done] = lo.handshake(lo.server, TlsSide::Server, kToken);
    auto [client, client_done] = lo.handshake(lo.client, TlsSide::Client, kToken);
    ASSERT_EQ(client_done.get(), "");
    ASSERT_EQ(server_done.get(), "");
    const int c = plain_fd(*client), s = plain_fd(*server);
    std::vector<std::uint8_t> big(3u << 20);  // many TLS records and relay pieces
    for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<std::uint8_t>(i * 131 + (i >> 11));
    std::thread writer([&] { write_all(c, big); });
    EXPECT_TRUE(read_n(s, big.size()) == big);
    writer.join();
    const std::vector<std::uint8_t> back = {1, 2, 3, 4, 5};
    write_all(s, back);
    EXPECT_TRUE(read_n(c, back.size()) == back);
    ::shutdown(c, SHUT_WR);  // the home's FIN reaches the node's Connection as an end of stream
    std::uint8_t byte = 0;
    EXPECT_EQ(::read(s, &byte, 1), 0);
    write_all(s, back);  // the other direction still works after a half-close
    EXPECT_TRUE(read_n(c, back.size()) == back);
    ::close(c);
    ::close(s);
}

TEST(TlsTunnel, AWrongTokenFailsTheHandshakeOnBothSides) {
    Loopback lo;
    auto [server, server_done] = lo.handshake(lo.server, TlsSide::Server, kToken);
    auto [client, client_done] = lo.handshake(lo.client, TlsSide::Client, "another token of enough length");
    const std::string client_why = client_done.get(), server_why = server_done.get();
    EXPECT_NE(client_why.find("wrong token"), std::string::npos) << client_why;
    EXPECT_NE(server_why.find("wrong token"), std::string::npos) << server_why;
}

TEST(TlsTunnel, APlainClientGetsAnErrorFrameSayingTheNodeWantsTls) {
    Loopback lo;
    auto [server, server_done] = lo.handshake(lo.server, TlsSide::Server, kToken);
    const Bytes hello = encode_frame(Frame{MsgType::Hello, 0, encode(Hello{kProtocolVersion, "plain home"})});
    const int fd = lo.client.native_handle();
    write_all(fd, hello);
    std::array<std::uint8_t, kFrameHeaderSize> header{};
    const auto head = read_n(fd, header.size());
    ASSERT_EQ(head.size(), header.size());
    std::copy(head.begin(), head.end(), header.begin());
    const HeaderCheck check = decode_header(header);
    ASSERT_EQ(check.fault, FrameFault::None) << check.message;
    EXPECT_EQ(check.header.type, MsgType::Error);
    const auto payload = read_n(fd, check.header.payload_length);
    auto error = decode_error(payload);
    ASSERT_TRUE(error) << error.error();
    EXPECT_NE(error.value().message.find("--tls"), std::string::npos) << error.value().message;
    std::uint8_t byte = 0;
    EXPECT_EQ(::read(fd, &byte, 1), 0);  // then the node's FIN
    ::shutdown(fd, SHUT_WR);             // our hang-up ends its wait
    EXPECT_NE(server_done.get().find("plain client"), std::string::npos);
}

TEST(TlsTunnel, ASilentPeerIsDroppedAtTheHandshakeDeadline) {
    Loopback lo;
    auto [server, server_done] = lo.handshake(lo.server, TlsSide::Server, kToken, 200ms);
    ASSERT_EQ(server_done.wait_for(5s), std::future_status::ready);
    EXPECT_NE(server_done.get().find("not finished within 200 ms"), std::string::npos);
    std::uint8_t byte = 0;
    EXPECT_EQ(::read(lo.client.native_handle(), &byte, 1), 0);  // closed
}
