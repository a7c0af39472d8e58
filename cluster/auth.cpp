#include "cluster/auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

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

Result<std::string> fresh_token() {
    std::string token;
    for (int half = 0; half < 2; ++half) {
        auto random = random_nonce();
        if (!random) return Error{"no random bytes for a fresh token: " + random.error()};
        token += to_hex(random.value());
    }
    return token;
}

namespace {

Mac proof(std::span<const std::uint8_t> secret, const Nonce& first, const Nonce& second, std::string_view label) {
    std::vector<std::uint8_t> msg(first.begin(), first.end());
    msg.insert(msg.end(), second.begin(), second.end());
    msg.insert(msg.end(), label.begin(), label.end());
    return hmac_sha256(secret, msg);
}

}  // namespace

Mac client_proof(std::span<const std::uint8_t> secret, const Nonce& node_nonce, const Nonce& client_nonce, Dialler dialler) {
    return proof(secret, node_nonce, client_nonce, dialler == Dialler::Home ? "polymer-v1" : "polymer-v1-join");
}

Mac node_proof(std::span<const std::uint8_t> secret, const Nonce& node_nonce, const Nonce& client_nonce, Dialler dialler) {
    return proof(secret, client_nonce, node_nonce, dialler == Dialler::Home ? "polymer-v1-node" : "polymer-v1-node-join");
}

bool macs_equal(const Mac& a, const Mac& b) { return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0; }

Result<TokenFile> read_token_file(const std::string& path, bool allow_readable) {
    auto refuse = [&path](const std::string& why) { return Error{"token file '" + path + "': " + why}; };
    // Plain POSIX calls, checked one by one: a stream over a directory throws
    // from the middle of a read (an uncaught std::ios_failure aborted both tools).
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return refuse(std::string("cannot open it: ") + std::strerror(errno));
    struct Closer {
        int fd;
        ~Closer() { ::close(fd); }
    } closer{fd};
    struct stat st{};
    if (::fstat(fd, &st) != 0) return refuse(std::string("cannot stat it: ") + std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        return refuse(std::string("not a regular file (") + (S_ISDIR(st.st_mode) ? "a directory" : "a device, pipe or socket") +
                      "); give the file that holds the secret");
    if (st.st_size == 0) return refuse("the file is empty; write a secret into it (`openssl rand -hex 32 > FILE`)");
    if (st.st_size > kMaxTokenFileBytes)
        return refuse("the file is " + std::to_string(st.st_size) + " bytes, more than a token file's " +
                      std::to_string(kMaxTokenFileBytes) + "; is it the right file?");
    TokenFile t;
    if ((st.st_mode & (S_IRGRP | S_IROTH)) != 0) {
        if (!allow_readable)
            return refuse("readable by group or others, who could then join or impersonate the cluster; `chmod 600` it "
                          "(or accept the risk with --allow-readable-token-file)");
        t.warning = "token file '" + path + "' is readable by group or others; `chmod 600` it";
    }
    t.secret.resize(static_cast<std::size_t>(st.st_size));
    std::size_t got = 0;
    while (got < t.secret.size()) {
        const ssize_t n = ::read(fd, t.secret.data() + got, t.secret.size() - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return refuse(std::string("cannot read it: ") + std::strerror(errno));
        if (n == 0) break;  // shrank meanwhile: take what is there
        got += static_cast<std::size_t>(n);
    }
    t.secret.resize(got);
    while (!t.secret.empty() && (t.secret.back() == '\n' || t.secret.back() == '\r' || t.secret.back() == ' ' ||
                                 t.secret.back() == '\t'))
        t.secret.pop_back();
    if (t.secret.size() < kMinSecretBytes)
        return refuse("the secret is " + std::to_string(t.secret.size()) + " bytes, at least " +
                      std::to_string(kMinSecretBytes) + " are needed (e.g. `openssl rand -hex 32 > FILE`)");
    return t;
}

}  // namespace polymer::cluster
