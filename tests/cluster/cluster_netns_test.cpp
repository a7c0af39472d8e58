// Two nodes in their own network namespaces, joined to the home's namespace
// by veth pairs; the link to one node is cut in the middle of a launch. The
// run must finish with the single-machine output, the cut node dropped by
// heartbeat timeout. Needs root (network namespaces); skipped otherwise with
// the reason. Only namespaces, links and 10.213.x.y addresses it creates
// itself, all removed at the end.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "node_process.h"

using namespace polymer::cluster::testing;

namespace {

bool sh(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

std::string capture(const std::string& command) {
    std::string out;
    FILE* p = popen(command.c_str(), "r");
    if (!p) return out;
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
    return out;
}

// Namespaces home, n1, n2; veth home<->n1 (10.213.1.0/30), home<->n2 (10.213.2.0/30).
class Namespaces {
public:
    Namespaces() : tag_(std::to_string(getpid())) {
        ok_ = sh("ip netns add " + home()) && sh("ip netns add " + node(1)) && sh("ip netns add " + node(2));
        for (int i = 1; ok_ && i <= 2; ++i) {
            const std::string h = "ph" + std::to_string(i) + "-" + tag_, n = "pn" + std::to_string(i) + "-" + tag_;
            const std::string net = "10.213." + std::to_string(i) + ".";
            ok_ = sh("ip link add " + h + " netns " + home() + " type veth peer name " + n + " netns " + node(i)) &&
                  sh("ip -n " + home() + " addr add " + net + "1/30 dev " + h) && sh("ip -n " + home() + " link set " + h + " up") &&
                  sh("ip -n " + node(i) + " addr add " + net + "2/30 dev " + n) && sh("ip -n " + node(i) + " link set " + n + " up") &&
                  sh("ip -n " + node(i) + " link set lo up");
        }
        ok_ = ok_ && sh("ip -n " + home() + " link set lo up");
    }
    ~Namespaces() {
        for (const std::string& ns : {home(), node(1), node(2)}) sh("ip netns del " + ns);
    }
    bool ok() const { return ok_; }
    std::string home() const { return "polymer-home-" + tag_; }
    std::string node(int i) const { return "polymer-n" + std::to_string(i) + "-" + tag_; }
    std::string home_link(int i) const { return "ph" + std::to_string(i) + "-" + tag_; }
    std::string node_link(int i) const { return "pn" + std::to_string(i) + "-" + tag_; }

private:
    std::string tag_;
    bool ok_ = false;
};

}  // namespace

TEST(ClusterNetns, LinkCutMidLaunchRecovers) {
    if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root; this test runs only as root";
    if (!sh("ip netns list")) GTEST_SKIP() << "the `ip` tool (iproute2) cannot list network namespaces here";
    Namespaces ns;
    if (!ns.ok()) GTEST_SKIP() << "could not create network namespaces and veth pairs (no CAP_NET_ADMIN in this container?)";

    // 4M lanes of saxpy and a checksum: long enough to cut the link mid-launch.
    const std::string program = std::string(::testing::TempDir()) + "/netns_saxpy.pasm";
    std::ofstream(program) << ".module netns\n.region x f32[4000000]\n.region y f32[4000000]\n.region z f32[4000000]\n"
                              ".kernel saxpy (in x: f32[i], in y: f32[i], out z: f32[i], a: f32)\n gid r0\n ldf f0, x[r0]\n"
                              " ldf f1, y[r0]\n ldpf f2, a\n ffma f3, f2, f0, f1\n stf z[r0], f3\n.end\n"
                              ".proc main\n viota x\n viota y\n li r1, 4000000\n lif f1, 0.5\n launch saxpy, r1, x, y, z, f1\n"
                              " vsum f2, z\n printf f2\n println\n halt\n.end\n";
    const std::string expected = capture(std::string(POLYMER_RUN_PATH) + " --backend cpu " + program);
    ASSERT_FALSE(expected.empty());

    TempTokenFile token(kSecret);
    NodeProcess n1(token.path(), {}, {"ip", "netns", "exec", ns.node(1)}, "10.213.1.2");
    NodeProcess n2(token.path(), {}, {"ip", "netns", "exec", ns.node(2)}, "10.213.2.2");
    ASSERT_NE(n1.port(), 0) << n1.log();
    ASSERT_NE(n2.port(), 0) << n2.log();
    const std::string err = std::string(::testing::TempDir()) + "/netns_run.err";
    const std::string run = "ip netns exec " + ns.home() + " " + POLYMER_RUN_PATH + " --backend cpu --no-local-work --stats" +
                            " --node-timeout-ms 1000 --chunk-lanes 65536 --token-file " + token.path() +
                            " --nodes 10.213.1.2:" + std::to_string(n1.port()) + ",10.213.2.2:" + std::to_string(n2.port()) +
                            " " + program + " 2>" + err;
    // Cut once node 1 has received 4 MB (its first slices): mid-launch
    // whatever the kernels' speed. /sys shows the namespace's own counters.
    std::thread cut([&] {
        const std::string rx = "ip netns exec " + ns.node(1) + " cat /sys/class/net/" + ns.node_link(1) + "/statistics/rx_bytes";
        for (int i = 0; i < 2000 && std::atoll(capture(rx).c_str()) < 4'000'000; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        sh("ip -n " + ns.home() + " link set " + ns.home_link(1) + " down");
    });
    const std::string out = capture(run);
    cut.join();
    std::ifstream e(err);
    const std::string stats((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
    EXPECT_EQ(out, expected) << stats;
    // The cut is noticed one of two ways: node 1 is dropped at the heartbeat
    // timeout (its worker was stuck sending into the dead link), or node 2,
    // idle, finished node 1's claims as backup copies first and the home
    // stopped waiting for node 1 (its sends had all gone into socket buffers).
    const bool dropped = stats.find("heartbeat timeout") != std::string::npos;
    const bool backed_up = std::regex_search(stats, std::regex(R"(node \S+ \(10\.213\.2\.2:\d+\):.*backups won [1-9])"));
    EXPECT_TRUE(dropped || backed_up) << stats << "\nnode 1 received " << capture("ip netns exec " + ns.node(1) + " cat /sys/class/net/" + ns.node_link(1) + "/statistics/rx_bytes")
                                      << " bytes\nnode 1:\n" << n1.log() << "\nnode 2:\n" << n2.log();
}

// Resident data (docs/cluster.md, "Data lives on the nodes"): the link to a
// node that holds the only current copy of part of y is cut mid-run; the run
// recomputes those values by lineage and prints the one machine's output.
TEST(ClusterNetns, LinkCutUnderResidentDataLosesNothing) {
    if (geteuid() != 0) GTEST_SKIP() << "network namespaces need root; this test runs only as root";
    if (!sh("ip netns list")) GTEST_SKIP() << "the `ip` tool (iproute2) cannot list network namespaces here";
    Namespaces ns;
    if (!ns.ok()) GTEST_SKIP() << "could not create network namespaces and veth pairs (no CAP_NET_ADMIN in this container?)";

    // y := 3y + x + lane, 2000 launches over 64K elements (a few seconds), then every element read;
    // launch by launch (--no-launch-rounds), so the cut falls between launches as well as inside one.
    const std::string program = std::string(::testing::TempDir()) + "/netns_resident.pasm";
    std::ofstream(program) << ".module netns_resident\n.region x i32[65536]\n.region y i32[65536]\n"
                              ".kernel start (out x: i32[i], out y: i32[i])\n gid r0\n muli r1, r0, 7\n st x[r0], r1\n"
                              " st y[r0], r0\n.end\n"
                              ".kernel step (in x: i32[i], inout y: i32[i])\n gid r0\n ld r1, x[r0]\n ld r2, y[r0]\n"
                              " muli r2, r2, 3\n add r2, r2, r1\n add r2, r2, r0\n st y[r0], r2\n.end\n"
                              ".proc main\n li r1, 65536\n launch start, r1, x, y\n li r7, 0\n li r8, 2000\n"
                              "again:\n launch step, r1, x, y\n addi r7, r7, 1\n blt r7, r8, again\n"
                              " vsumi r6, y\n print r6\n println\n halt\n.end\n";
    const std::string expected = capture(std::string(POLYMER_RUN_PATH) + " --backend cpu " + program);
    ASSERT_FALSE(expected.empty());

    TempTokenFile token(kSecret);
    NodeProcess n1(token.path(), {}, {"ip", "netns", "exec", ns.node(1)}, "10.213.1.2");
    NodeProcess n2(token.path(), {}, {"ip", "netns", "exec", ns.node(2)}, "10.213.2.2");
    ASSERT_NE(n1.port(), 0) << n1.log();
    ASSERT_NE(n2.port(), 0) << n2.log();
    const std::string err = std::string(::testing::TempDir()) + "/netns_resident.err";
    const std::string run = "ip netns exec " + ns.home() + " " + POLYMER_RUN_PATH + " --backend cpu --no-local-work --stats --no-launch-rounds" +
                            " --node-timeout-ms 1000 --token-file " + token.path() + " --nodes 10.213.1.2:" +
                            std::to_string(n1.port()) + ",10.213.2.2:" + std::to_string(n2.port()) + " " + program + " 2>" + err;
    std::thread cut([&] {
        ASSERT_TRUE(n1.wait_for_log("authenticated"));
        std::this_thread::sleep_for(std::chrono::milliseconds(400));
        sh("ip -n " + ns.home() + " link set " + ns.home_link(1) + " down");
    });
    const std::string out = capture(run);
    cut.join();
    std::ifstream e(err);
    const std::string stats((std::istreambuf_iterator<char>(e)), std::istreambuf_iterator<char>());
    EXPECT_EQ(out, expected) << stats;
    EXPECT_NE(stats.find("dropped out"), std::string::npos) << "the run ended before the cut: " << stats;
    EXPECT_NE(stats.find("recomputed"), std::string::npos) << stats;
}
