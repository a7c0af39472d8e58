// HMAC-SHA-256 challenge-response on a shared secret (docs/protocol.md,
// "Handshake"). Both sides prove they know the secret; it never crosses the
// wire, and fresh nonces on both sides make a recorded handshake useless.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "isa/result.h"

namespace polymer::cluster {

inline constexpr std::size_t kNonceSize = 32;
inline constexpr std::size_t kMacSize = 32;
using Nonce = std::array<std::uint8_t, kNonceSize>;
using Mac = std::array<std::uint8_t, kMacSize>;
using Sha256 = std::array<std::uint8_t, 32>;

Mac hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message);
Sha256 sha256(std::span<const std::uint8_t> bytes);
std::string to_hex(std::span<const std::uint8_t> bytes);

// Cryptographically random nonce (OpenSSL RAND_bytes); aborts the handshake
// rather than use a weak one.
Result<Nonce> random_nonce();

// A fresh shared secret for nodes started by this home (--local-nodes, --mpi):
// 64 random bytes as 128 hex digits, so it can also be written to a token file.
inline constexpr std::size_t kFreshTokenChars = 128;
Result<std::string> fresh_token();

// Which side opened the TCP connection. The proofs name it, so a handshake
// relayed between a home that listens for nodes (--listen-nodes) and a node
// that listens for homes fails: the home's proof on a connection a node
// dialled is worthless to a node that was dialled (docs/protocol.md).
enum class Dialler { Home, Node };

// What the client sends: HMAC(secret, node nonce || client nonce || "polymer-v1"),
// label "polymer-v1-join" when the node dialled.
Mac client_proof(std::span<const std::uint8_t> secret, const Nonce& node_nonce, const Nonce& client_nonce,
                 Dialler dialler = Dialler::Home);
// What the node answers: HMAC(secret, client nonce || node nonce || "polymer-v1-node"),
// label "polymer-v1-node-join" when the node dialled.
// The different order and label keep a client proof from being reflected back.
Mac node_proof(std::span<const std::uint8_t> secret, const Nonce& node_nonce, const Nonce& client_nonce,
               Dialler dialler = Dialler::Home);

// Constant-time comparison (CRYPTO_memcmp), so timing does not leak a prefix.
bool macs_equal(const Mac& a, const Mac& b);

// Reads a token file: the secret is its bytes with trailing whitespace
// trimmed. Refused, with what is wrong: a path that is not a regular file,
// an empty file, one over kMaxTokenFileBytes, a secret under kMinSecretBytes,
// and a file readable by group or others (unless `allow_readable`: then
// `warning` says so).
inline constexpr std::size_t kMinSecretBytes = 16;
inline constexpr long kMaxTokenFileBytes = 4096;
struct TokenFile {
    std::vector<std::uint8_t> secret;
    std::string warning;
};
Result<TokenFile> read_token_file(const std::string& path, bool allow_readable = false);

}  // namespace polymer::cluster
