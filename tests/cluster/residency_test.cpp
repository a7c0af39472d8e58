// The home's directory of region data (cluster/residency.h): runs split and
// merge, holders are set, added and dropped, and the fence hulls follow.
#include "cluster/residency.h"

#include <gtest/gtest.h>

namespace polymer::cluster {
namespace {

const int kY = 0;
const void* const y = &kY;
constexpr HolderSet kNodeA = 2, kNodeB = 4;
using Span = std::pair<std::uint64_t, std::uint64_t>;

std::string describe(const Directory& d) {
    std::string s;
    for (const DirectoryRun& r : d.runs(y, 0, ~0ull))
        s += "[" + std::to_string(r.begin) + "," + std::to_string(r.end) + ")=" + std::to_string(r.holders) +
             (r.logged_input ? "L" : "") + " ";
    return s;
}

TEST(Directory, ABufferStartsAtHomeAndSplitsAndMergesAsChunksLand) {
    Directory d;
    d.track(y, 1000);
    EXPECT_EQ(describe(d), "[0,1000)=1 ");
    EXPECT_EQ(d.read_hull(y), Span(0, 0));
    d.set(y, 0, 500, kNodeA);
    d.set(y, 500, 1000, kNodeB);
    EXPECT_EQ(describe(d), "[0,500)=2 [500,1000)=4 ");
    EXPECT_EQ(d.read_hull(y), Span(0, 1000));
    EXPECT_FALSE(d.all_at_home());
    // The home fetches the first 100 elements of B's run: it holds them too.
    d.add(y, 500, 600, kHomeMemory);
    EXPECT_EQ(describe(d), "[0,500)=2 [500,600)=5 [600,1000)=4 ");
    EXPECT_EQ(d.read_hull(y), Span(0, 1000));
    // A writes [250, 500) again and the home takes [0, 250) for a write.
    d.set(y, 0, 250, kHomeMemory);
    EXPECT_EQ(describe(d), "[0,250)=1 [250,500)=2 [500,600)=5 [600,1000)=4 ");
    EXPECT_EQ(d.read_hull(y), Span(250, 1000));
    EXPECT_EQ(d.write_hull(y), Span(250, 1000));
    d.set(y, 250, 1000, kHomeMemory);
    EXPECT_EQ(describe(d), "[0,1000)=1 ");
    EXPECT_TRUE(d.all_at_home());
}

TEST(Directory, ANodeThatDiesLeavesLostRunsOnlyWhereItWasTheOnlyHolder) {
    Directory d;
    d.track(y, 100);
    d.set(y, 0, 40, kNodeA);
    d.set(y, 40, 70, kNodeA | kHomeMemory);
    d.set(y, 70, 100, kNodeB);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> lost;
    d.drop_holder(kNodeA, [&](const void* key, std::uint64_t b, std::uint64_t e) {
        EXPECT_EQ(key, y);
        lost.emplace_back(b, e);
    });
    ASSERT_EQ(lost.size(), 1u);
    EXPECT_EQ(lost[0], Span(0, 40));
    EXPECT_EQ(describe(d), "[0,40)=0 [40,70)=1 [70,100)=4 ");
    EXPECT_EQ(d.read_hull(y), Span(0, 100));
}

TEST(Directory, LoggedInputsFenceHomeWritesUntilANewEpoch) {
    Directory d;
    d.track(y, 100);
    d.mark_logged_input(y, 10, 20, true);
    EXPECT_EQ(d.read_hull(y), Span(0, 0));
    EXPECT_EQ(d.write_hull(y), Span(10, 20));
    d.mark_logged_input(y, 10, 15, false);
    EXPECT_EQ(d.write_hull(y), Span(15, 20));
    d.clear_logged_inputs();
    EXPECT_EQ(describe(d), "[0,100)=1 ");
    EXPECT_EQ(d.write_hull(y), Span(0, 0));
}

TEST(Directory, AKeySeenWithAnotherLengthStartsAfresh) {
    Directory d;
    d.track(y, 100);
    d.set(y, 0, 100, kNodeA);
    d.track(y, 100);
    EXPECT_EQ(describe(d), "[0,100)=2 ");
    d.track(y, 50);
    EXPECT_EQ(describe(d), "[0,50)=1 ");
    d.forget(y);
    EXPECT_FALSE(d.tracks(y));
    EXPECT_TRUE(d.runs(y, 0, 10).empty());
}

}  // namespace
}  // namespace polymer::cluster
