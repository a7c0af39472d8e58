// lan_switch (lan_bench.sh's LAN where the kernel has no sch_netem) between
// two network namespaces it is given TAP interfaces in: a round trip takes
// at least twice its delay, a bulk transfer gets no more than its rate, and
// bad arguments get a clear error. Needs root (namespaces); skipped
// otherwise with the reason. Only namespaces and 10.216.0.x addresses it
// creates itself, removed at the end.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

bool sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// The exit status and the output (both streams) of a command.
std::pair<int, std::string> run(const std::string& command) {
    std::string out;
    FILE* p = popen((command + " 2>&1").c_str(), "r");
    if (!p) return {-1, out};
    std::array<char, 4096> buf{};
    std::size_t n;
    while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
    const int status = pclose(p);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string slurp(const std::string& path) {
    std::stringstream s;
    s << std::ifstream(path).rdbuf();
    return s.str();
}

// Runs `work` on a thread of its own inside network namespace `netns`
// (setns moves only the calling thread): its sockets live there.
void in_netns(const std::string& netns, const std::function<void()>& work) {
    std::thread t([&] {
        const int fd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
        ASSERT_GE(fd, 0) << netns;
        ASSERT_EQ(::setns(fd, CLONE_NEWNET), 0) << netns;
        ::close(fd);
        work();
    });
    t.join();
}

bool read_all(int fd, void* into, std::size_t n) {
    auto* p = static_cast<char*>(into);
    while (n > 0) {
        const ssize_t got = ::recv(fd, p, n, 0);
        if (got <= 0) return false;
        p += got;
        n -= static_cast<std::size_t>(got);
    }
    return true;
}

// Two namespaces, each with a TAP "lan0" (10.216.0.1 and .2), and a
// lan_switch holding both with the given rate and delay.
class SwitchedPair {
public:
    SwitchedPair(const std::string& rate, const std::string& delay) : tag_(std::to_string(getpid())) {
        for (int i = 1; i <= 2; ++i) {
            const std::string ns = name(i);
            made_ = sh("ip netns add " + ns) && sh("ip -n " + ns + " link set lo up") &&
                    sh("ip -n " + ns + " tuntap add dev lan0 mode tap") &&
                    sh("ip -n " + ns + " addr add 10.216.0." + std::to_string(i) + "/24 dev lan0") &&
                    sh("ip -n " + ns + " link set lan0 up");
            if (!made_) return;
        }
        out_ = std::string(::testing::TempDir()) + "/lan_switch-" + tag_ + ".out";
        posix_spawn_file_actions_t files;
        posix_spawn_file_actions_init(&files);
        posix_spawn_file_actions_addopen(&files, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&files, 1, 2);
        std::vector<std::string> args = {LAN_SWITCH_PATH, "--rate", rate, "--delay", delay, name(1), name(2)};
        std::vector<char*> argv;
        for (std::string& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        started_ = posix_spawn(&pid_, LAN_SWITCH_PATH, &files, nullptr, argv.data(), environ) == 0;
        posix_spawn_file_actions_destroy(&files);
        for (int i = 0; started_ && i < 100 && slurp(out_).find(" ports") == std::string::npos; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ~SwitchedPair() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            ::waitpid(pid_, nullptr, 0);
        }
        for (int i = 1; i <= 2; ++i) sh("ip netns del " + name(i));
    }
    bool made() const { return made_; }
    bool ready() const { return started_ && slurp(out_).find(" ports") != std::string::npos; }
    std::string output() const { return slurp(out_); }
    std::string name(int i) const { return "plsw-" + tag_ + "-" + std::to_string(i); }

private:
    std::string tag_, out_;
    bool made_ = false, started_ = false;
    pid_t pid_ = -1;
};

struct Measured {
    double median_round_trip_ms = 0;
    double seconds = 0;  // for the bulk bytes
};

// 20 round trips of 8 bytes from machine 1 to machine 2 and back, then
// `bulk` bytes from 1 to 2 (until 2 acknowledges them all).
Measured measure(const SwitchedPair& lan, std::size_t bulk) {
    Measured m;
    const std::uint16_t port = 9300;
    int listener = -1;
    in_netns(lan.name(2), [&] {
        listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        inet_pton(AF_INET, "10.216.0.2", &a.sin_addr);
        const int one = 1;
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        EXPECT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        EXPECT_EQ(::listen(listener, 1), 0);
    });
    std::thread server([&] {  // the socket is machine 2's already
        const int c = ::accept(listener, nullptr, nullptr);
        if (c < 0) return;
        const int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        char small[8];
        for (int i = 0; i < 20 && read_all(c, small, sizeof small); ++i) ::send(c, small, sizeof small, 0);
        std::vector<char> sink(1 << 20);
        std::size_t got = 0;
        while (got < bulk) {
            const ssize_t n = ::recv(c, sink.data(), sink.size(), 0);
            if (n <= 0) break;
            got += static_cast<std::size_t>(n);
        }
        ::send(c, small, 1, 0);
        ::close(c);
    });
    in_netns(lan.name(1), [&] {
        const int c = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        struct Closer {  // on every way out, a failed assertion's too: the server then ends
            int fd;
            ~Closer() { ::close(fd); }
        } closer{c};
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        inet_pton(AF_INET, "10.216.0.2", &a.sin_addr);
        ASSERT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
        const int one = 1;
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        std::vector<double> trips;
        char small[8] = {};
        for (int i = 0; i < 20; ++i) {
            const auto t = Clock::now();
            ASSERT_EQ(::send(c, small, sizeof small, 0), 8);
            ASSERT_TRUE(read_all(c, small, sizeof small));
            trips.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
        }
        std::sort(trips.begin(), trips.end());
        m.median_round_trip_ms = trips[trips.size() / 2];
        const std::vector<char> block(1 << 20);
        const auto t = Clock::now();
        for (std::size_t sent = 0; sent < bulk; sent += block.size())
            ASSERT_EQ(::send(c, block.data(), block.size(), MSG_NOSIGNAL), static_cast<ssize_t>(block.size()));
        ASSERT_TRUE(read_all(c, small, 1));
        m.seconds = std::chrono::duration<double>(Clock::now() - t).count();
    });
    ::shutdown(listener, SHUT_RDWR);  // an accept still waiting (the client failed) ends
    server.join();
    ::close(listener);
    return m;
}

TEST(LanSwitch, DelaysEachWayAndLimitsTheRate) {
    if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root; this test runs only as root";
    if (!sh("ip netns list")) GTEST_SKIP() << "the `ip` tool (iproute2) cannot list network namespaces here";
    if (::access("/dev/net/tun", R_OK | W_OK) != 0) GTEST_SKIP() << "no /dev/net/tun here (TAP interfaces)";
    SwitchedPair lan("100mbit", "5ms");
    if (!lan.made()) GTEST_SKIP() << "could not create network namespaces with TAP interfaces (no CAP_NET_ADMIN here?)";
    ASSERT_TRUE(lan.ready()) << lan.output();
    const std::size_t bulk = 4u << 20;
    const Measured m = measure(lan, bulk);
    // 5 ms each way, plus what the machines and the switch take (bounds
    // loose enough for a machine busy with other tests).
    EXPECT_GE(m.median_round_trip_ms, 10.0);
    EXPECT_LT(m.median_round_trip_ms, 100.0);
    // 4 MiB at 100 Mbit/s: at least 0.34 s on the wire, and not stalled
    // (TCP over an uncongested link gets most of the rate: 93 Mbit/s on an
    // idle machine).
    const double bits_a_second = static_cast<double>(bulk) * 8 / m.seconds;
    EXPECT_LE(bits_a_second, 100e6) << m.seconds << " s";
    EXPECT_GE(bits_a_second, 10e6) << m.seconds << " s";
}

TEST(LanSwitch, AWrongRateOrNamespaceIsAClearError) {
    auto [status, out] = run(std::string(LAN_SWITCH_PATH) + " --rate fast a b");
    EXPECT_EQ(status, 2);
    EXPECT_NE(out.find("--rate fast: want a rate like 1gbit"), std::string::npos) << out;
    std::tie(status, out) = run(std::string(LAN_SWITCH_PATH) + " --delay 3 a b");
    EXPECT_EQ(status, 2);
    EXPECT_NE(out.find("--delay 3: want a time like 0.2ms"), std::string::npos) << out;
    std::tie(status, out) = run(std::string(LAN_SWITCH_PATH) + " polymer-no-such-netns-here other");
    EXPECT_EQ(status, 1);
    EXPECT_NE(out.find("no network namespace polymer-no-such-netns-here"), std::string::npos) << out;
    std::tie(status, out) = run(std::string(LAN_SWITCH_PATH) + " just-one");
    EXPECT_NE(status, 0);
}

}  // namespace
