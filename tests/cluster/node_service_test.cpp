// polymer-node under a launcher or a service manager, as real processes:
// the address file (--address-file, with port 0), the sd_notify messages
// (received on a datagram socket of the test's own, as systemd's own tests
// do, so no systemd need run), the token from a systemd credential, and
// --local-nodes, which learns its nodes' ports from their address files.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "cluster/address_file.h"
#include "cluster/local_nodes.h"
#include "node_process.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;
namespace fs = std::filesystem;

namespace {

// A private scratch folder, removed with everything in it.
class TempFolder {
public:
    TempFolder() {
        char tmpl[] = "/tmp/polymer-service-test-XXXXXX";
        path_ = mkdtemp(tmpl);
    }
    ~TempFolder() { fs::remove_all(path_); }
    std::string path() const { return path_.string(); }
    std::string operator/(const std::string& name) const { return (path_ / name).string(); }
    std::vector<std::string> entries() const {
        std::vector<std::string> out;
        for (const auto& e : fs::directory_iterator(path_)) out.push_back(e.path().filename().string());
        return out;
    }

private:
    fs::path path_;
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

// The node writes its address file just after its "listening on" line.
bool wait_for_file(const std::string& path) {
    for (int i = 0; i < 1000 && !fs::exists(path); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return fs::exists(path);
}

int exit_status(NodeProcess& node) {
    const int raw = node.wait_exit();
    return WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
}

// The socket systemd would listen on for a Type=notify service.
class NotifySocket {
public:
    explicit NotifySocket(std::string path) : path_(std::move(path)) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        path_.copy(a.sun_path, sizeof a.sun_path - 1);
        if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) ADD_FAILURE() << "bind " << path_;
        timeval tv{10, 0};  // a node that never notifies fails the test, not hangs it
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~NotifySocket() { close(fd_); }
    const std::string& path() const { return path_; }
    // The next datagram; empty after 10 s of silence.
    std::string receive() {
        char buf[4096];
        const ssize_t n = recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }

private:
    std::string path_;
    int fd_ = -1;
};

}  // namespace

TEST(NodeService, AddressFileNamesTheRealPortOfPortZero) {
    TempTokenFile token(kSecret);
    TempFolder folder;
    NodeProcess node(token.path(), {"--address-file", folder / "node.address"});
    ASSERT_NE(node.port(), 0) << node.log();
    ASSERT_TRUE(wait_for_file(folder / "node.address")) << node.log();
    EXPECT_EQ(slurp(folder / "node.address"), "127.0.0.1:" + std::to_string(node.port()) + "\n");
    EXPECT_EQ(folder.entries(), std::vector<std::string>{"node.address"}) << "a temp file was left behind";
    auto address = read_address_file(folder / "node.address");
    ASSERT_TRUE(address && address.value()) << (address ? "no file" : address.error());
    RawPeer peer(address.value()->port);
    EXPECT_TRUE(peer.handshake(kSecret));
    peer.close();
    node.signal(SIGTERM);
    EXPECT_EQ(exit_status(node), 0) << node.log();
    EXPECT_TRUE(folder.entries().empty()) << "the address file outlived a clean exit";
}

TEST(NodeService, AddressFileThatCannotBeWrittenStopsTheNode) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--address-file", "/nonexistent-polymer-folder/node.address"});
    EXPECT_EQ(exit_status(node), 1);
    EXPECT_NE(node.log().find("--address-file: cannot create '/nonexistent-polymer-folder/node.address."),
              std::string::npos)
        << node.log();
}

TEST(NodeService, TellsTheServiceManagerReadyWithThePortThenStopping) {
    TempTokenFile token(kSecret);
    TempFolder folder;
    NotifySocket notify(folder / "notify");
    NodeProcess node(token.path(), {}, {"env", "NOTIFY_SOCKET=" + notify.path()});
    ASSERT_NE(node.port(), 0) << node.log();
    EXPECT_EQ(notify.receive(), "READY=1\nSTATUS=listening on 127.0.0.1:" + std::to_string(node.port()));
    node.signal(SIGTERM);
    EXPECT_EQ(notify.receive(), "STOPPING=1\nSTATUS=shutting down");
    EXPECT_EQ(exit_status(node), 0) << node.log();
}

TEST(NodeService, ReadsTheTokenFromItsSystemdCredential) {
    TempFolder credentials;
    TempTokenFile written(kSecret);
    fs::copy_file(written.path(), credentials / "token");  // keeps the 0600 mode
    NodeProcess node("", {}, {"env", "-u", "POLYMER_TOKEN_FILE", "CREDENTIALS_DIRECTORY=" + credentials.path()});
    ASSERT_NE(node.port(), 0) << node.log();
    RawPeer right(node.port());
    EXPECT_TRUE(right.handshake(kSecret));
    RawPeer wrong(node.port());
    EXPECT_FALSE(wrong.handshake("not the token in the credential"));
}

TEST(NodeService, WithoutAnyTokenSaysWhereOneCanCome) {
    NodeProcess node("", {}, {"env", "-u", "POLYMER_TOKEN_FILE", "-u", "CREDENTIALS_DIRECTORY"});
    EXPECT_EQ(exit_status(node), 64);  // a usage error
    EXPECT_NE(node.log().find("--token-file is required (or POLYMER_TOKEN_FILE, token-file in the --config file, or "
                              "the systemd credential $CREDENTIALS_DIRECTORY/token)"),
              std::string::npos)
        << node.log();
}

TEST(LocalNodesStart, LearnsEachPortFromTheNodesAddressFile) {
    auto nodes = LocalNodes::start(POLYMER_NODE_PATH, 2, {"--threads", "1"});
    ASSERT_TRUE(nodes) << nodes.error();
    const auto& addresses = nodes.value()->addresses();
    ASSERT_EQ(addresses.size(), 2u);
    EXPECT_NE(addresses[0].port, addresses[1].port);
    const std::string secret(nodes.value()->secret().begin(), nodes.value()->secret().end());
    for (const NodeAddress& a : addresses) {
        EXPECT_EQ(a.host, "127.0.0.1");
        RawPeer peer(a.port);
        EXPECT_TRUE(peer.handshake(secret)) << "port " << a.port;
    }
    // The token and the address files share one private folder, gone after stop().
    const fs::path folder = fs::path(nodes.value()->token_path()).parent_path();
    EXPECT_EQ(fs::status(folder).permissions(), fs::perms::owner_all);
    EXPECT_TRUE(fs::exists(folder / "node-1.address") && fs::exists(folder / "node-2.address"));
    nodes.value()->stop();
    EXPECT_FALSE(fs::exists(folder));
}

TEST(LocalNodesStart, ANodeThatDiesBeforeListeningIsNamedWithItsStatusAndStderr) {
    auto nodes = LocalNodes::start(POLYMER_NODE_PATH, 2, {"--max-memory", "lots"});
    ASSERT_FALSE(nodes);
    EXPECT_NE(nodes.error().find("--local-nodes: polymer-node 1 exited with status 64 before it listened: "),
              std::string::npos)
        << nodes.error();
    EXPECT_NE(nodes.error().find("--max-memory: 'lots' is not a size"), std::string::npos) << nodes.error();
}
