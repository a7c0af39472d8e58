#include "cluster/tls_tunnel.h"

#include <sys/socket.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include "cluster/connection.h"
#include "cluster/frame.h"
#include "cluster/messages.h"
#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {

// Bytes moved per read: a few TLS records (16 KiB each) at a time.
constexpr std::size_t kRelayPiece = 64u << 10;

// What a polymer frame starts with: the magic's first byte. A TLS
// ClientHello starts with 0x16 (a handshake record).
constexpr std::uint8_t kFrameFirstByte = kFrameMagic & 0xFF;

}  // namespace

Result<std::shared_ptr<TlsTunnel>> TlsTunnel::make(asio::ip::tcp::socket tcp, std::shared_ptr<TlsContext> context) {
    int pair[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0)
        return Error{cat("TLS: no socket pair for the relay: ", std::strerror(errno))};
    std::error_code ec;
    asio::local::stream_protocol::socket relay_end(tcp.get_executor());
    relay_end.assign(asio::local::stream_protocol(), pair[0], ec);
    if (ec) {
        ::close(pair[0]);
        ::close(pair[1]);
        return Error{cat("TLS: relay socket: ", ec.message())};
    }
    std::shared_ptr<TlsTunnel> t(new TlsTunnel(std::move(tcp), std::move(context), pair[1]));
    t->relay_end_ = std::move(relay_end);
    if (!t->plain_.is_open()) return Error{"TLS: the relay's plaintext socket could not be set up"};
    return t;
}

TlsTunnel::TlsTunnel(asio::ip::tcp::socket tcp, std::shared_ptr<TlsContext> context, int plain_fd)
    : context_(std::move(context)),
      stream_(std::move(tcp), context_->ssl),
      relay_end_(stream_.get_executor()),
      plain_(stream_.get_executor()),
      timer_(stream_.get_executor()) {
    std::error_code ec;
    // The Connection's sockets are TCP ones; to its system calls a stream
    // socket is a stream socket (it never asks this one for its peer).
    plain_.assign(asio::ip::tcp::v4(), plain_fd, ec);
    if (ec) ::close(plain_fd);
    auto& tcp_socket = stream_.next_layer();
    tcp_socket.set_option(asio::ip::tcp::no_delay(true), ec);
    auto ep = tcp_socket.remote_endpoint(ec);
    peer_ = ec ? std::string("unknown peer") : cat(ep.address().to_string(), ":", ep.port());
}

TlsTunnel::~TlsTunnel() = default;

asio::ip::tcp::socket TlsTunnel::take_plain() { return std::move(plain_); }

void TlsTunnel::close() {
    if (closed_) return;
    closed_ = true;
    std::error_code ec;
    stream_.next_layer().close(ec);
    relay_end_.close(ec);
    plain_.close(ec);  // not taken yet: nobody else has it
    timer_.cancel();
}

asio::awaitable<std::string> TlsTunnel::handshake(std::chrono::milliseconds timeout) {
    auto self = shared_from_this();
    timer_.expires_after(timeout);
    timer_.async_wait([self](std::error_code ec) {
        if (ec || self->closed_ || self->handshake_over_) return;  // a cancel can come after the expiry was queued
        self->timed_out_ = true;
        self->close();
    });
    std::error_code ec;
    auto& tcp = stream_.next_layer();
    const bool server = context_->side == TlsSide::Server;
    if (server) {
        // The first byte says which it is; peeking leaves it for OpenSSL.
        co_await tcp.async_wait(asio::socket_base::wait_read, asio::redirect_error(asio::use_awaitable, ec));
        std::array<std::uint8_t, 1> first{};
        std::size_t n = 0;
        if (!ec) n = tcp.receive(asio::buffer(first), asio::socket_base::message_peek, ec);
        if (!ec && n == 0) ec = asio::error::eof;
        if (!ec && first[0] == kFrameFirstByte) {
            co_await refuse_plain_client();
            handshake_over_ = true;
            close();
            co_return timed_out_ ? cat("a plain client (without --tls) did not hang up within ", timeout.count(), " ms")
                                : std::string("refused a plain client (without --tls): this node accepts only TLS");
        }
    }
    if (!ec) co_await stream_.async_handshake(server ? asio::ssl::stream_base::server : asio::ssl::stream_base::client,
                                              asio::redirect_error(asio::use_awaitable, ec));
    handshake_over_ = true;
    const bool was_closed = closed_;
    timer_.cancel();
    if (timed_out_) co_return cat("TLS handshake not finished within ", timeout.count(), " ms; closing");
    if (was_closed) co_return "closed during the TLS handshake";
    if (!ec) co_return std::string();
    close();
    co_return explain_tls_failure(ec, context_->side);
}

// A plain client sent a hello and waits for a challenge: it gets a plain
// error frame instead. Then FIN, and we wait for its hang-up (reading what
// it sent) before closing: a close with its hello unread here would reset
// the stream and lose the error frame. The handshake deadline bounds it.
asio::awaitable<void> TlsTunnel::refuse_plain_client() {
    const Bytes payload = encode(ErrorMsg{ErrorCode::AuthFailed,
                                          "this node accepts only TLS connections (it was started with --tls): give the "
                                          "home --tls too"});
    const auto header = encode_header(MsgType::Error, 0, payload);
    auto& tcp = stream_.next_layer();
    std::error_code ec;
    co_await asio::async_write(tcp, std::array{asio::buffer(header), asio::buffer(payload)},
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    tcp.shutdown(asio::socket_base::shutdown_send, ec);
    std::array<std::uint8_t, 4096> sink{};
    while (!ec) co_await tcp.async_read_some(asio::buffer(sink), asio::redirect_error(asio::use_awaitable, ec));
}

void TlsTunnel::start() {
    directions_running_ = 2;
    auto self = shared_from_this();
    asio::co_spawn(stream_.get_executor(), [self] { return self->tls_to_plain(); }, asio::detached);
    asio::co_spawn(stream_.get_executor(), [self] { return self->plain_to_tls(); }, asio::detached);
}

void TlsTunnel::direction_ended() {
    if (--directions_running_ == 0) {
        close();
        return;
    }
    if (closed_) return;
    // Half-closed: the other direction gets as long as a Connection lingers.
    timer_.expires_after(Connection::kLinger);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
        if (!ec) self->close();
    });
}

asio::awaitable<void> TlsTunnel::tls_to_plain() {
    std::vector<std::uint8_t> piece(kRelayPiece);
    for (;;) {
        std::error_code ec;
        const std::size_t n = co_await stream_.async_read_some(asio::buffer(piece), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            // The peer's FIN, with or without close_notify (frames carry their
            // own lengths, so a cut stream shows as a cut frame): pass it on.
            // Anything else (a record that fails its tag) ends the connection.
            if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) relay_end_.shutdown(asio::socket_base::shutdown_send, ec);
            else close();
            break;
        }
        co_await asio::async_write(relay_end_, asio::buffer(piece.data(), n), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            close();
            break;
        }
    }
    direction_ended();
}

asio::awaitable<void> TlsTunnel::plain_to_tls() {
    std::vector<std::uint8_t> piece(kRelayPiece);
    for (;;) {
        std::error_code ec;
        const std::size_t n = co_await relay_end_.async_read_some(asio::buffer(piece), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            if (ec == asio::error::eof) stream_.next_layer().shutdown(asio::socket_base::shutdown_send, ec);
            else close();
            break;
        }
        co_await asio::async_write(stream_, asio::buffer(piece.data(), n), asio::redirect_error(asio::use_awaitable, ec));
        if (ec) {
            close();
            break;
        }
    }
    direction_ended();
}

}  // namespace polymer::cluster
