#include "cluster/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>

#include <fstream>
#include <iterator>
#include <string_view>

namespace polymer::cluster {

Mac hmac_sha256(std::span<const std::uint8_t> key, std::span<const std::uint8_t> message) {
    Mac out{};
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message.data(), message.size(), out.data(), &len);
    return out;
}

Sha256 sha256(std::span<const std::uint8_t> bytes) {
    Sha256 out{};
    unsigned int len = 0;
    EVP_Digest(bytes.data(), bytes.size(), out.data(), &len, EVP_sha256(), nullptr);
    return out;
}

std::string to_hex(std::span<const std::uint8_t> bytes) {
    static const char* digits = "0123456789abcdef";
    std::string s;
    for (std::uint8_t b : bytes) {
        s.push_back(digits[b >> 4]);
        s.push_back(digits[b & 15]);
    }
    return s;
}

Result<Nonce> random_nonce() {
    Nonce n{};
    if (RAND_bytes(n.data(), static_cast<int>(n.size())) != 1) return Error{"OpenSSL RAND_bytes failed: no nonce"};
    return n;
}

namespace {

Mac proof(std::span<const std::uint8_t> secret, const Nonce& first, const Nonce& second, std::string_view label) {
    std::vector<std::uint8_t> msg(first.begin(), first.end());
    msg.insert(msg.end(), second.begin(), second.end());
    msg.insert(msg.end(), label.begin(), label.end());
    return hmac_sha256(secret, msg);
}

}  // namespace

Mac client_proof(std::span<const std::uint8_t> secret, const Nonce& node_nonce, const Nonce& client_nonce) {
    return proof(secret, node_nonce, client_nonce, "polymer-v1");
}

Mac node_proof(std::span<const std::uint8_t> secret, const Nonce& node_nonce, const Nonce& client_nonce) {
    return proof(secret, client_nonce, node_nonce, "polymer-v1-node");
}

bool macs_equal(const Mac& a, const Mac& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

Result<TokenFile> read_token_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{"token file '" + path + "': cannot open it"};
    TokenFile t;
    t.secret.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    while (!t.secret.empty() && (t.secret.back() == '\n' || t.secret.back() == '\r' || t.secret.back() == ' ' ||
                                 t.secret.back() == '\t'))
        t.secret.pop_back();
    if (t.secret.size() < 16)
        return Error{"token file '" + path + "': the secret is " + std::to_string(t.secret.size()) +
                     " bytes, at least 16 are needed (e.g. `openssl rand -hex 32 > FILE`)"};
    struct stat st{};
    if (stat(path.c_str(), &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)) != 0)
        t.warning = "token file '" + path + "' is readable by group or others; `chmod 600` it";
    return t;
}

}  // namespace polymer::cluster
