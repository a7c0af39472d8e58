#include <gtest/gtest.h>

#include <fstream>
#include <sys/stat.h>

#include "cluster/auth.h"

using namespace polymer::cluster;

namespace {
std::vector<std::uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }
}

// RFC 4231 test case 1.
TEST(Auth, HmacSha256MatchesRfc4231Case1) {
    std::vector<std::uint8_t> key(20, 0x0b);
    EXPECT_EQ(to_hex(hmac_sha256(key, bytes("Hi There"))),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

// RFC 4231 test case 2: a key shorter than the block.
TEST(Auth, HmacSha256MatchesRfc4231Case2) {
    EXPECT_EQ(to_hex(hmac_sha256(bytes("Jefe"), bytes("what do ya want for nothing?"))),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Auth, Sha256OfAbc) {
    EXPECT_EQ(to_hex(sha256(bytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Auth, ProofsDependOnSecretNoncesAndDirection) {
    const auto secret = bytes("0123456789abcdef0123");
    Nonce a{}, b{};
    a[0] = 1;
    b[0] = 2;
    const Mac client = client_proof(secret, a, b);
    EXPECT_TRUE(macs_equal(client, client_proof(secret, a, b)));
    EXPECT_FALSE(macs_equal(client, client_proof(bytes("0123456789abcdef0124"), a, b)));
    EXPECT_FALSE(macs_equal(client, client_proof(secret, b, a)));
    // A node's proof is never a client's proof reflected back.
    EXPECT_FALSE(macs_equal(client, node_proof(secret, a, b)));
}

TEST(Auth, NoncesAreFresh) {
    auto a = random_nonce(), b = random_nonce();
    ASSERT_TRUE(a && b);
    EXPECT_NE(a.value(), b.value());
}

TEST(Auth, TokenFileChecks) {
    const std::string path = ::testing::TempDir() + "polymer_auth_token";
    {
        std::ofstream(path) << "short\n";
    }
    chmod(path.c_str(), 0600);
    auto r = read_token_file(path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("at least 16"), std::string::npos) << r.error();
    {
        std::ofstream(path) << "a-long-enough-secret-value\n";
    }
    chmod(path.c_str(), 0600);
    r = read_token_file(path);
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r.value().secret, bytes("a-long-enough-secret-value"));  // newline trimmed
    EXPECT_TRUE(r.value().warning.empty());
    chmod(path.c_str(), 0644);
    r = read_token_file(path);  // others could read it: refused unless allowed
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("readable by group or others"), std::string::npos) << r.error();
    r = read_token_file(path, /*allow_readable=*/true);
    ASSERT_TRUE(r) << r.error();
    EXPECT_NE(r.value().warning.find("chmod 600"), std::string::npos);
    {
        std::ofstream(path, std::ios::trunc);
    }
    chmod(path.c_str(), 0600);
    r = read_token_file(path);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("empty"), std::string::npos) << r.error();
    std::remove(path.c_str());
    EXPECT_FALSE(read_token_file(path));
    // A directory, a device: refused with what they are, no exception.
    r = read_token_file(::testing::TempDir());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("not a regular file (a directory)"), std::string::npos) << r.error();
    r = read_token_file("/dev/zero");
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("not a regular file"), std::string::npos) << r.error();
}
