#include "cluster/client_handshake.h"

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

asio::awaitable<std::string> secure_socket(asio::ip::tcp::socket& socket, std::span<const std::uint8_t> secret,
                                           TlsSide side, std::chrono::milliseconds timeout, std::string& peer,
                                           std::shared_ptr<TlsTunnel>* tunnel) {
    auto context = make_tls_context(secret, side);
    if (!context) co_return context.error();
    auto made = TlsTunnel::make(std::move(socket), std::move(context).value());
    if (!made) co_return made.error();
    if (tunnel) *tunnel = made.value();
    std::string why = co_await made.value()->handshake(timeout);
    if (!why.empty()) co_return why;
    peer = made.value()->peer();
    socket = made.value()->take_plain();
    made.value()->start();
    co_return std::string();
}

namespace {

// The next handshake frame; an error frame becomes its message.
asio::awaitable<Result<Frame>> handshake_frame(Connection& conn, MsgType want, const std::string& where,
                                               const std::function<std::string()>* failure, const ReadLimits* limits) {
    ReadOutcome r = co_await conn.read_frame(nullptr, limits);
    if (!r.frame) {
        const std::string why = failure ? (*failure)() : std::string();
        co_return Error{cat(where, ": handshake failed: ", why.empty() ? r.message : why)};
    }
    if (r.frame->type == MsgType::Error) {
        auto e = decode_error(r.frame->payload);
        co_return Error{cat(where, ": handshake refused: ",
                            e ? cat(error_code_name(e.value().code), ": ", e.value().message) : e.error())};
    }
    if (r.frame->type != want)
        co_return Error{cat(where, ": handshake failed: got ", msg_type_name(r.frame->type), ", expected ", msg_type_name(want))};
    co_return std::move(*r.frame);
}

}  // namespace

asio::awaitable<Result<Capabilities>> client_handshake(Connection& conn, std::span<const std::uint8_t> secret,
                                                       const Hello& hello, Dialler dialler, const std::string& where,
                                                       const std::function<std::string()>* failure, const ReadLimits* limits) {
    conn.send(MsgType::Hello, 0, encode(hello));
    auto challenge_frame = co_await handshake_frame(conn, MsgType::Challenge, where, failure, limits);
    if (!challenge_frame) co_return Error{challenge_frame.error()};
    auto challenge = decode_challenge(challenge_frame.value().payload);
    if (!challenge) co_return Error{cat(where, ": ", challenge.error())};
    auto nonce = random_nonce();
    if (!nonce) co_return Error{nonce.error()};
    conn.send(MsgType::Response, 0,
              encode(Response{client_proof(secret, challenge.value().node_nonce, nonce.value(), dialler), nonce.value()}));
    auto welcome_frame = co_await handshake_frame(conn, MsgType::Welcome, where, failure, limits);
    if (!welcome_frame) co_return Error{welcome_frame.error()};
    auto welcome = decode_welcome(welcome_frame.value().payload);
    if (!welcome) co_return Error{cat(where, ": ", welcome.error())};
    if (!macs_equal(welcome.value().proof, node_proof(secret, challenge.value().node_nonce, nonce.value(), dialler)))
        co_return Error{cat(where, ": the node could not prove it knows the token; not trusting it")};
    co_return std::move(welcome.value().caps);
}

}  // namespace polymer::cluster
