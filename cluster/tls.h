// TLS 1.3 for cluster connections (--tls), keyed by the shared token: an
// external pre-shared key HKDF-derived from it, so the one-token set-up
// needs no certificates (docs/security.md, "Encryption"). Contexts accept
// nothing but TLS 1.3 with TLS_AES_128_GCM_SHA256, the PSK with (EC)DHE
// (forward secrecy), no session tickets (nothing to resume, no 0-RTT data
// to replay) and no certificates.
#pragma once

#include <asio.hpp>
#include <asio/ssl.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "isa/result.h"

namespace polymer::cluster {

enum class TlsSide { Client, Server };

struct TlsContext {
    TlsContext(asio::ssl::context::method method, TlsSide s) : ssl(method), side(s) {}
    asio::ssl::context ssl;
    TlsSide side;
    std::array<std::uint8_t, 32> psk{};  // read by the PSK callbacks (the context's ex data)
};

// The PSK both sides derive: HKDF-SHA-256 of the token (docs/protocol.md).
std::array<std::uint8_t, 32> tls_psk(std::span<const std::uint8_t> secret);

Result<std::shared_ptr<TlsContext>> make_tls_context(std::span<const std::uint8_t> secret, TlsSide side);

// A failed TLS handshake, said for the person who runs the tools: a wrong
// token and a peer without --tls are told apart from other failures.
std::string explain_tls_failure(const std::error_code& ec, TlsSide side);

}  // namespace polymer::cluster
