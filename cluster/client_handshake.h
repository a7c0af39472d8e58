// The client's side of a connection to a node (docs/protocol.md, "Handshake"
// and "TLS"), shared by the home (node_client.cpp) and by a node that fetches
// halos from another node (peer_link.cpp): the TLS tunnel with --tls, then
// hello, challenge, response and welcome on a started Connection. Coroutines
// on the connection's io thread.
#pragma once

#include <asio.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "cluster/auth.h"
#include "cluster/connection.h"
#include "cluster/messages.h"
#include "cluster/tls.h"
#include "cluster/tls_tunnel.h"
#include "isa/result.h"

namespace polymer::cluster {

// --tls: puts a TLS tunnel keyed by `secret` on `socket` and replaces it with
// the tunnel's plaintext end; `peer` becomes the TCP peer's "ADDR:PORT".
// Why it failed, or an empty string. The side that dialled is the TLS
// client. `tunnel`, when given, keeps the tunnel (to close it early).
asio::awaitable<std::string> secure_socket(asio::ip::tcp::socket& socket, std::span<const std::uint8_t> secret,
                                           TlsSide side, std::chrono::milliseconds timeout, std::string& peer,
                                           std::shared_ptr<TlsTunnel>* tunnel = nullptr);

// Sends `hello`, answers the challenge with this side's proof, and checks
// the node's: the node's capabilities, or why not, starting with `where`
// ("node HOST:PORT"). `failure`, when given, names why the connection was
// closed under the handshake (a watchdog's reason) instead of the bare read
// error. `limits`, when given, bounds the frames read.
//
// Callers pass named objects, not temporaries: GCC 12 destroys a temporary
// bound to a coroutine's reference parameter twice (found by a crash here).
asio::awaitable<Result<Capabilities>> client_handshake(Connection& conn, std::span<const std::uint8_t> secret,
                                                       const Hello& hello, Dialler dialler, const std::string& where,
                                                       const std::function<std::string()>* failure = nullptr,
                                                       const ReadLimits* limits = nullptr);

}  // namespace polymer::cluster
