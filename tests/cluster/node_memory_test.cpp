// What a live node's --max-memory counts (docs/protocol.md, "Regions"): the
// pages a home's regions hold (what it put, what its chunks wrote), not the
// regions' sizes, so a node holds slices of regions far larger than its
// limit; past the limit a put or a launch is refused with out-of-memory,
// naming the region, what it holds and the limit, and nothing is written;
// a home's regions go when it does.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "assembler/assembler.h"
#include "cluster/node_client.h"
#include "isa/module_io.h"
#include "node_process.h"
#include "test_kernels.h"

using namespace polymer;
using namespace polymer::cluster;
using namespace polymer::cluster::testing;

namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kGiB = 1 << 30;

std::uint64_t rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6));
    return 0;
}

std::unique_ptr<NodeClient> connect_to(const NodeProcess& node) {
    auto c = NodeClient::connect("127.0.0.1", node.port(), bytes_of(kSecret));
    EXPECT_TRUE(c) << c.error();
    return c ? std::move(c).value() : nullptr;
}

void expect_refused(const Result<Done>& r, const std::vector<std::string>& texts) {
    ASSERT_FALSE(r) << "the put succeeded";
    EXPECT_NE(r.error().find("out-of-memory"), std::string::npos) << r.error();
    for (const std::string& t : texts) EXPECT_NE(r.error().find(t), std::string::npos) << "no '" << t << "' in: " << r.error();
}

Bytes filled(std::uint64_t n, std::uint8_t value) { return Bytes(n, value); }

}  // namespace

// The brief's case: slices of two 1 GiB regions on a node of 64 MiB.
TEST(NodeMemory, ANodeHoldsSlicesOfRegionsLargerThanItsMemory) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "64M"});
    auto home = connect_to(node);
    ASSERT_TRUE(home);
    const std::uint64_t rss_before = rss_kib(node.pid());
    auto put = home->put_region(1, 1, kGiB, 256 * kMiB, filled(32 * kMiB, 1));
    ASSERT_TRUE(put) << put.error();
    put = home->put_region(1, 1, kGiB, 256 * kMiB, filled(32 * kMiB, 2));  // held already: free
    ASSERT_TRUE(put) << put.error();
    put = home->put_region(2, 1, kGiB, 0, filled(16 * kMiB, 3));
    ASSERT_TRUE(put) << put.error();
    put = home->put_region(2, 1, kGiB, kGiB - 31 * kMiB / 2, filled(31 * kMiB / 2, 4));
    ASSERT_TRUE(put) << put.error();
    // 63.5 MiB held: 1 MiB more would pass the limit, and is refused before any byte lands.
    expect_refused(home->put_region(2, 1, kGiB, 512 * kMiB, filled(kMiB, 5)),
                   {"region 2 version 1 (holds 31.5 MiB of its 1 GiB here), bytes [512 MiB, 513 MiB): 1 MiB more would "
                    "pass this node's memory limit of 64 MiB (--max-memory; its homes hold 63.5 MiB)"});
    put = home->put_region(2, 1, kGiB, 512 * kMiB + kMiB / 2, filled(kMiB / 4, 6));  // up to the limit
    ASSERT_TRUE(put) << put.error();
    auto back = home->get_region(2, 1, 512 * kMiB, 4096);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value(), Bytes(4096, 0));
    back = home->get_region(1, 1, 256 * kMiB + 100, 4);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value(), Bytes(4, 2));
    // A gap of a region reads as zeros and costs nothing.
    back = home->get_region(1, 1, 700 * kMiB, 1 << 20);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value(), Bytes(1 << 20, 0));
    EXPECT_LT(rss_kib(node.pid()) - rss_before, 96u << 10) << "KiB: the node holds the slices, not the regions";
    EXPECT_TRUE(node.alive());
}

TEST(NodeMemory, APutPastTheLimitIsAnErrorNotACrash) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "64K"});
    auto home = connect_to(node);
    ASSERT_TRUE(home);
    expect_refused(home->put_region(1, 1, kMiB, 0, filled(80 << 10, 1)), {"--max-memory", "region 1 version 1"});
    EXPECT_TRUE(home->put_region(1, 1, kMiB, 0, filled(16, 1)));  // one page of a 1 MiB region
    // A new version of another size: the old one's page goes.
    EXPECT_TRUE(home->put_region(1, 2, 48 << 10, 0, filled(48 << 10, 2)));
    expect_refused(home->put_region(2, 1, 32 << 10, 0, filled(20 << 10, 3)), {"region 2 version 1"});
    EXPECT_TRUE(home->put_region(2, 1, 32 << 10, 0, filled(8 << 10, 3)));
}

// What one home may plan within: --max-peer-memory when it is the smaller.
TEST(NodeMemory, TheNodeAdvertisesWhatOneHomeMayHold) {
    TempTokenFile token(kSecret);
    NodeProcess shared(token.path(), {"--max-memory", "64M", "--max-peer-memory", "16M"});
    auto home = connect_to(shared);
    ASSERT_TRUE(home);
    EXPECT_EQ(home->capabilities().max_memory, 16 * kMiB);
    expect_refused(home->put_region(1, 1, kGiB, 0, filled(17 * kMiB, 1)),
                   {"would pass this home's memory limit of 16 MiB (--max-peer-memory; it holds"});
    NodeProcess alone(token.path(), {"--max-memory", "64M"});
    auto other = connect_to(alone);
    ASSERT_TRUE(other);
    EXPECT_EQ(other->capabilities().max_memory, 64 * kMiB);
}

// A home's regions go with its connection: the next home has the whole limit.
TEST(NodeMemory, DroppingTheConnectionReleasesEverything) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "64M"});
    auto first = connect_to(node);
    ASSERT_TRUE(first);
    ASSERT_TRUE(first->put_region(1, 1, kGiB, 0, filled(40 * kMiB, 1)));
    ASSERT_TRUE(first->put_region(2, 1, 4 * kGiB, 3 * kGiB, filled(20 * kMiB, 1)));
    auto second = connect_to(node);
    ASSERT_TRUE(second);
    expect_refused(second->put_region(1, 1, kGiB, 0, filled(40 * kMiB, 2)), {"--max-memory"});
    first.reset();
    // The node sees the close soon after; until then the put is refused.
    Result<Done> put = Error{"not tried"};
    for (int i = 0; i < 100 && !put; ++i) {
        put = second->put_region(1, 1, kGiB, 0, filled(60 * kMiB, 2));
        if (!put) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(put) << put.error();
    auto back = second->get_region(1, 1, 60 * kMiB - 4, 4);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value(), Bytes(4, 2));
}

// A region the home dropped (region-drop: it freed or reallocated it) gives
// its pages back at once, with the connection still open.
TEST(NodeMemory, ADroppedRegionReleasesItsPages) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "64M"});
    auto home = connect_to(node);
    ASSERT_TRUE(home);
    ASSERT_TRUE(home->put_region(1, 1, kGiB, 0, filled(40 * kMiB, 1)));
    expect_refused(home->put_region(2, 1, kGiB, 0, filled(40 * kMiB, 2)), {"--max-memory"});
    home->drop_regions({1});
    // Frames are handled in order: the drop lands before the put.
    auto put = home->put_region(2, 1, kGiB, 0, filled(40 * kMiB, 2));
    ASSERT_TRUE(put) << put.error();
    auto gone = home->get_region(1, 1, 0, 4);
    ASSERT_FALSE(gone);
    EXPECT_NE(gone.error().find("region 1 is not on this node"), std::string::npos) << gone.error();
    auto back = home->get_region(2, 1, 40 * kMiB - 4, 4);
    ASSERT_TRUE(back) << back.error();
    EXPECT_EQ(back.value(), Bytes(4, 2));
}

// The bytes a chunk writes into a stored region count, kept or returned;
// a launch whose outputs would pass the limit is refused before it runs.
TEST(NodeMemory, ChunkOutputsCountAndALaunchPastTheLimitIsRefusedBeforeItRuns) {
    TempTokenFile token(kSecret);
    NodeProcess node(token.path(), {"--max-memory", "64M"});
    auto home = connect_to(node);
    ASSERT_TRUE(home);
    AssembleResult spin = assemble(kSpin);
    ASSERT_TRUE(spin.ok());
    auto hash = home->upload_module(write_module(*spin.module));
    ASSERT_TRUE(hash) << hash.error();
    constexpr std::uint64_t kLanes = kGiB / 4;  // z: i32, 1 GiB
    ASSERT_TRUE(home->put_region(1, 1, kGiB, 0, {}));
    auto spin_chunk = [&](std::uint64_t begin, std::uint64_t end, bool keep) {
        LaunchChunk l;
        l.module = hash.value();
        l.count = kLanes;
        l.begin = begin;
        l.end = end;
        l.keep_outputs = keep;
        l.args = {Binding{Binding::Kind::Region, 1, 1, 0}, Binding{Binding::Kind::Uniform, 0, 0, 1}};
        return l;
    };
    constexpr std::uint64_t kSlice = 4 * kMiB / 4;  // lanes of 4 MiB of z
    auto ran = home->launch(spin_chunk(0, kSlice, true));  // kept: 4 MiB
    ASSERT_TRUE(ran) << ran.error();
    ran = home->launch(spin_chunk(kLanes - kSlice, kLanes, false));  // returned, and written here too: 4 MiB
    ASSERT_TRUE(ran) << ran.error();
    ran = home->launch(spin_chunk(0, kSlice, true));  // held already: nothing new
    ASSERT_TRUE(ran) << ran.error();
    // 8 MiB of z, 48 MiB of another region and the module: 8 MiB more of z passes the limit.
    ASSERT_TRUE(home->put_region(2, 1, kGiB, 0, filled(48 * kMiB, 1)));
    const std::uint64_t middle = kLanes / 2;
    auto refused = home->launch(spin_chunk(middle, middle + 2 * kSlice, true));
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.error().find("out-of-memory"), std::string::npos) << refused.error();
    EXPECT_NE(refused.error().find("kernel 'spin': region 1 version 1 (holds 8 MiB of its 1 GiB here), bytes [512 MiB, 520 MiB): "
                                   "8 MiB more would pass this node's memory limit of 64 MiB"),
              std::string::npos)
        << refused.error();
    // It did not run: z there is still zero; what the first chunk kept is there.
    auto z = home->get_region(1, 1, middle * 4, 8);
    ASSERT_TRUE(z) << z.error();
    EXPECT_EQ(z.value(), Bytes(8, 0));
    z = home->get_region(1, 1, 0, 4);
    ASSERT_TRUE(z) << z.error();
    EXPECT_EQ(z.value(), (Bytes{1, 0, 0, 0}));
    // The node stays up, and launches over what it holds still run.
    ran = home->launch(spin_chunk(kLanes - kSlice, kLanes, true));
    EXPECT_TRUE(ran) << ran.error();
    EXPECT_TRUE(node.alive());
}
