#include "cluster/tls.h"

#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>

#include <string_view>

#include "isa/byte_io.h"

namespace polymer::cluster {

using pbc::cat;

namespace {

// The PSK's identity on the wire: names the derivation, says nothing of the key.
constexpr std::string_view kPskIdentity = "polymer-token-psk-v1";
constexpr unsigned char kAes128GcmSha256[] = {0x13, 0x01};

// Where a context keeps its TlsContext (asio::ssl::context owns the app data slot).
int context_index() {
    static const int index = SSL_CTX_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

// A TLS 1.3 session that carries the external PSK (how OpenSSL takes one).
SSL_SESSION* psk_session(SSL* ssl) {
    auto* keys = static_cast<const TlsContext*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), context_index()));
    const SSL_CIPHER* cipher = SSL_CIPHER_find(ssl, kAes128GcmSha256);
    SSL_SESSION* session = SSL_SESSION_new();
    if (cipher == nullptr || session == nullptr || !SSL_SESSION_set1_master_key(session, keys->psk.data(), keys->psk.size()) ||
        !SSL_SESSION_set_cipher(session, cipher) || !SSL_SESSION_set_protocol_version(session, TLS1_3_VERSION)) {
        SSL_SESSION_free(session);
        return nullptr;
    }
    return session;
}

int use_psk(SSL* ssl, const EVP_MD* md, const unsigned char** id, std::size_t* id_len, SSL_SESSION** out) {
    SSL_SESSION* session = psk_session(ssl);
    if (session == nullptr) return 0;
    // After a HelloRetryRequest OpenSSL asks again for this hash only.
    if (md != nullptr && md != SSL_CIPHER_get_handshake_digest(SSL_SESSION_get0_cipher(session))) {
        SSL_SESSION_free(session);
        *out = nullptr;
        *id = nullptr;
        *id_len = 0;
        return 1;
    }
    *out = session;
    *id = reinterpret_cast<const unsigned char*>(kPskIdentity.data());
    *id_len = kPskIdentity.size();
    return 1;
}

int find_psk(SSL* ssl, const unsigned char* id, std::size_t id_len, SSL_SESSION** out) {
    *out = nullptr;  // an unknown identity: no PSK, and without certificates the handshake fails
    if (std::string_view(reinterpret_cast<const char*>(id), id_len) != kPskIdentity) return 1;
    *out = psk_session(ssl);
    return *out != nullptr ? 1 : 0;
}

std::string openssl_error(const char* what) {
    const unsigned long e = ERR_get_error();
    char text[256] = "unknown error";
    if (e != 0) ERR_error_string_n(e, text, sizeof text);
    ERR_clear_error();
    return cat("TLS: ", what, ": ", text);
}

}  // namespace

std::array<std::uint8_t, 32> tls_psk(std::span<const std::uint8_t> secret) {
    std::array<std::uint8_t, 32> key{};
    static constexpr char kSalt[] = "polymer tls 1.3 psk";
    static constexpr char kInfo[] = "polymer-v1 external psk";
    EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
    EVP_KDF_CTX* ctx = kdf != nullptr ? EVP_KDF_CTX_new(kdf) : nullptr;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, const_cast<char*>("SHA256"), 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::uint8_t*>(secret.data()), secret.size()),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<char*>(kSalt), sizeof kSalt - 1),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<char*>(kInfo), sizeof kInfo - 1),
        OSSL_PARAM_construct_end()};
    const bool ok = ctx != nullptr && EVP_KDF_derive(ctx, key.data(), key.size(), params) == 1;
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    if (!ok) key.fill(0);  // make_tls_context refuses an all-zero key
    return key;
}

Result<std::shared_ptr<TlsContext>> make_tls_context(std::span<const std::uint8_t> secret, TlsSide side) {
    auto t = std::make_shared<TlsContext>(side == TlsSide::Client ? asio::ssl::context::tls_client : asio::ssl::context::tls_server, side);
    t->psk = tls_psk(secret);
    if (t->psk == std::array<std::uint8_t, 32>{}) return Error{openssl_error("HKDF failed")};
    SSL_CTX* c = t->ssl.native_handle();
    if (context_index() < 0 || SSL_CTX_set_ex_data(c, context_index(), t.get()) != 1)
        return Error{openssl_error("no room for the key in the context")};
    if (SSL_CTX_set_min_proto_version(c, TLS1_3_VERSION) != 1 || SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION) != 1 ||
        SSL_CTX_set_ciphersuites(c, "TLS_AES_128_GCM_SHA256") != 1)
        return Error{openssl_error("cannot restrict the context to TLS 1.3")};
    SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
    SSL_CTX_set_num_tickets(c, 0);
    SSL_CTX_set_mode(c, SSL_MODE_RELEASE_BUFFERS);  // an idle connection holds no record buffers
    if (side == TlsSide::Client) SSL_CTX_set_psk_use_session_callback(c, use_psk);
    else SSL_CTX_set_psk_find_session_callback(c, find_psk);
    return t;
}

std::string explain_tls_failure(const std::error_code& ec, TlsSide side) {
    if (ec.category() == asio::error::get_ssl_category()) {
        const int reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
        const bool server = side == TlsSide::Server;
        switch (reason) {
            case SSL_R_BINDER_DOES_NOT_VERIFY:  // the node: the home's key is not ours
                return cat("TLS handshake failed: wrong token (the peer's TLS key differs; ", ec.message(), ")");
            // The home: the node's answer to a binder that does not verify.
            // Between two polymer peers, whose TLS parameters are fixed, the
            // key is the only thing that can differ.
            case SSL_R_SSLV3_ALERT_ILLEGAL_PARAMETER:
            case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:
                return cat("TLS handshake failed: wrong token (the node refused our TLS key; ", ec.message(), ")");
            case SSL_R_WRONG_VERSION_NUMBER:
            case SSL_R_PACKET_LENGTH_TOO_LONG:
            case SSL_R_UNEXPECTED_MESSAGE:
            case SSL_R_UNEXPECTED_RECORD:
            case SSL_R_HTTP_REQUEST:
                return server ? cat("TLS handshake failed: the peer does not speak TLS (", ec.message(), ")")
                              : cat("TLS handshake failed: the node answered without TLS; it was started without "
                                    "--tls (give both sides --tls, or neither; ",
                                    ec.message(), ")");
            default:
                break;
        }
    }
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated || ec == asio::error::connection_reset)
        return side == TlsSide::Client
                   ? cat("TLS handshake failed: the node closed the connection (", ec.message(),
                         "); was it started without --tls, or is it refusing connections? See its log")
                   : cat("TLS handshake failed: the peer closed the connection (", ec.message(), ")");
    return cat("TLS handshake failed: ", ec.message());
}

}  // namespace polymer::cluster
