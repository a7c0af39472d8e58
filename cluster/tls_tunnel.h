// TLS in front of a Connection (--tls). The Connection keeps working on a
// kernel socket, as its fast paths need (a sendmsg from the sender's own
// thread, leave_io's poll): it gets one end of a socketpair, and the tunnel
// relays between the other end and the TLS stream on the TCP socket, on the
// socket's io thread. The TLS layer sits under the frames, so it works
// whichever side dialled: the side that connected is the TLS client.
//
// Ends: an end-of-stream on one side half-closes the other (FIN); a failure
// on either closes both; after a half-close the tunnel closes both within
// Connection::kLinger, as the Connection does.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <chrono>
#include <memory>
#include <string>

#include "cluster/tls.h"
#include "isa/result.h"

namespace polymer::cluster {

class TlsTunnel : public std::enable_shared_from_this<TlsTunnel> {
public:
    // Makes the socketpair; fails when there is no descriptor for it.
    static Result<std::shared_ptr<TlsTunnel>> make(asio::ip::tcp::socket tcp, std::shared_ptr<TlsContext> context);
    ~TlsTunnel();

    // The plaintext end, for the Connection (once).
    asio::ip::tcp::socket take_plain();
    // "ADDR:PORT" of the TCP peer.
    const std::string& peer() const { return peer_; }

    // The TLS handshake, as the context's side, within `timeout`: empty when
    // it succeeded, else why (and the tunnel is closed). The server side
    // first looks at the peer's first byte: a plain polymer client gets a
    // plain `error` frame saying the node needs --tls, so it fails with that
    // message instead of a broken stream.
    asio::awaitable<std::string> handshake(std::chrono::milliseconds timeout);
    // After a successful handshake: relays until both directions end.
    void start();
    // Closes both ends now (an evicted or timed-out peer). Io thread.
    void close();

private:
    TlsTunnel(asio::ip::tcp::socket tcp, std::shared_ptr<TlsContext> context, int plain_fd);
    asio::awaitable<void> tls_to_plain();
    asio::awaitable<void> plain_to_tls();
    asio::awaitable<void> refuse_plain_client();
    void direction_ended();

    std::shared_ptr<TlsContext> context_;  // outlives stream_'s SSL object
    asio::ssl::stream<asio::ip::tcp::socket> stream_;
    asio::local::stream_protocol::socket relay_end_;  // ours of the pair
    asio::ip::tcp::socket plain_;                     // the Connection's, until taken
    asio::steady_timer timer_;                        // handshake deadline, then the linger
    std::string peer_;
    bool handshake_over_ = false, timed_out_ = false;
    int directions_running_ = 0;
    bool closed_ = false;
};

}  // namespace polymer::cluster
