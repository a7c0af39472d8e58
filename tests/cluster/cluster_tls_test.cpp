// --tls with real processes: lesson 10 on --tls nodes gives the one-machine
// output; a plain home against a --tls node, a --tls home against a plain
// node and a wrong token all fail at once, with a message that says why, on
// both sides; the handshake deadline and the unauthenticated cap hold for
// TLS handshakes (docs/security.md, "Encryption").
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>

#include "cluster_test_options.h"
#include "node_process.h"

using polymer::cluster::testing::kSecret;
using polymer::cluster::testing::NodeProcess;
using polymer::cluster::testing::run_polymer;
using polymer::cluster::testing::RunOutcome;
using polymer::cluster::testing::TempTokenFile;

namespace {

const std::string kLesson = std::string(POLYMER_SAMPLES_DIR) + "/10-saxpy.pasm";

std::string expected_lesson() {
    std::ifstream in(std::string(POLYMER_SAMPLES_DIR) + "/10-saxpy.expected", std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// polymer-run on the lesson with `node` alone (stdout and stderr); how long it took.
RunOutcome run_on(const NodeProcess& node, const std::string& token, const std::string& extra, double& seconds) {
    const auto start = std::chrono::steady_clock::now();
    // A long node timeout: a handshake that hung would show, not be cut short.
    RunOutcome r = run_polymer("--no-local-work --chunk-lanes 16 --node-timeout-ms 60000 --nodes 127.0.0.1:" +
                                   std::to_string(node.port()) + " --token-file " + token + " " + extra + " " + kLesson,
                               true);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

// What "fast" means for a refusal: well under the 60 s a hang would take.
constexpr double kPromptly = 10.0;

}  // namespace

TEST(ClusterTls, LessonTenOnTlsNodesGivesTheOneMachineOutput) {
    TempTokenFile token(kSecret);
    NodeProcess a(token.path(), {"--tls"}), b(token.path(), {"--tls"});
    RunOutcome r = run_polymer("--tls --no-local-work --chunk-lanes 16 --stats --nodes 127.0.0.1:" + std::to_string(a.port()) +
                                   ",127.0.0.1:" + std::to_string(b.port()) + " --token-file " + token.path() + " " + kLesson,
                               false);
    EXPECT_EQ(r.status, 0);
    EXPECT_EQ(r.out, expected_lesson());
    EXPECT_TRUE(a.wait_for_log("authenticated")) << a.log();
    EXPECT_TRUE(b.wait_for_log("authenticated")) << b.log();
    // --local-nodes --tls starts its nodes with --tls.
    RunOutcome local = run_polymer("--tls --local-nodes 2 --no-local-work --chunk-lanes 16 " + kLesson, true);
    EXPECT_EQ(local.status, 0) << local.out;
    EXPECT_EQ(local.out, expected_lesson());
}

TEST(ClusterTls, APlainHomeAgainstATlsNodeFailsAtOnceOnBothSides) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--tls"});
    double seconds = 0;
    RunOutcome r = run_on(node, token.path(), "", seconds);
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("this node accepts only TLS connections"), std::string::npos) << r.out;
    EXPECT_LT(seconds, kPromptly);
    EXPECT_TRUE(node.wait_for_log("refused a plain client (without --tls)")) << node.log();
}

TEST(ClusterTls, ATlsHomeAgainstAPlainNodeFailsAtOnceOnBothSides) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path());
    double seconds = 0;
    RunOutcome r = run_on(node, token.path(), "--tls", seconds);
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("started without --tls"), std::string::npos) << r.out;
    EXPECT_LT(seconds, kPromptly);
    EXPECT_TRUE(node.wait_for_log("the peer uses --tls and this side does not")) << node.log();
}

TEST(ClusterTls, AWrongTokenFailsTheTlsHandshakeOnBothSides) {
    TempTokenFile token(kSecret), other("a different secret, long enough");
    NodeProcess node(token.path(), {"--tls"});
    double seconds = 0;
    RunOutcome r = run_on(node, other.path(), "--tls", seconds);
    EXPECT_NE(r.status, 0) << r.out;
    EXPECT_NE(r.out.find("wrong token"), std::string::npos) << r.out;
    EXPECT_LT(seconds, kPromptly);
    EXPECT_TRUE(node.wait_for_log("TLS handshake failed: wrong token")) << node.log();
}

// The hostile-peer limits hold before the TLS handshake: a connection that
// sends half a ClientHello is dropped at --handshake-timeout-ms, and past
// --max-unauthenticated connections are closed at accept.
TEST(ClusterTls, TheHandshakeDeadlineAndTheUnauthenticatedCapHoldForTls) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--tls", "--handshake-timeout-ms", "300", "--max-unauthenticated", "2"});
    asio::io_context io;
    const asio::ip::tcp::endpoint at(asio::ip::make_address("127.0.0.1"), node.port());
    asio::ip::tcp::socket first(io), second(io), third(io);
    first.connect(at);
    const std::uint8_t half_hello[] = {0x16, 0x03, 0x01, 0x01, 0x00, 0x01};  // a record header announcing 256 bytes
    asio::write(first, asio::buffer(half_hello));
    second.connect(at);
    third.connect(at);
    EXPECT_TRUE(node.wait_for_log("refused a connection from 127.0.0.1")) << node.log();
    EXPECT_TRUE(node.wait_for_log("handshake not finished within")) << node.log();
    std::uint8_t byte = 0;
    std::error_code ec;
    first.read_some(asio::buffer(&byte, 1), ec);  // closed by the node
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
}
