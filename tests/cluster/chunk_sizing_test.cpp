// The claim-sizing rules alone (cluster/chunk_sizing.h): the grid depends only
// on the lanes and the options; claims follow shares, shrink as the work
// drains, never go below one grain; measured rates replace advertised ones.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "cluster/chunk_sizing.h"

using namespace polymer::cluster;

TEST(ChunkSizing, GridCoversTheRangeWithEqualGrainsAndAShorterLast) {
    const GrainGrid g = make_grid(10, 1010, 1, 8);  // 1000 lanes / 8 = 125
    EXPECT_EQ(g.grain, 125u);
    ASSERT_EQ(g.size(), 8u);
    EXPECT_EQ(g.grain_begin(0), 10u);
    EXPECT_EQ(g.grain_end(7), 1010u);
    const GrainGrid odd = make_grid(0, 1001, 1, 8);  // ceil(1001 / 8) = 126: 7 full grains and 119
    EXPECT_EQ(odd.grain, 126u);
    ASSERT_EQ(odd.size(), 8u);
    EXPECT_EQ(odd.grain_end(7) - odd.grain_begin(7), 1001u - 7 * 126);
    for (std::size_t i = 0; i + 1 < odd.size(); ++i) EXPECT_EQ(odd.grain_end(i), odd.grain_begin(i + 1));
}

TEST(ChunkSizing, GridHonoursTheSmallestGrain) {
    const GrainGrid g = make_grid(0, 1000, 256, 64);
    EXPECT_EQ(g.grain, 256u);
    EXPECT_EQ(g.size(), 4u);
    EXPECT_EQ(g.grain_end(3), 1000u);
    EXPECT_EQ(make_grid(0, 1, 256, 64).size(), 1u);
    EXPECT_EQ(make_grid(5, 5, 256, 64).size(), 0u);
    EXPECT_EQ(make_grid(0, 7, 0, 0).grain, 7u);  // zeros read as 1 grain, min 1 lane
}

TEST(ChunkSizing, GridIsTheSameWhateverTheRates) {
    // Nothing but (range, min, target) goes in: the same call, the same grid.
    const GrainGrid a = make_grid(0, 123'457, 16, 48), b = make_grid(0, 123'457, 16, 48);
    EXPECT_EQ(a.grain, b.grain);
    EXPECT_EQ(a.size(), b.size());
}

TEST(ChunkSizing, ClaimIsRemainingTimesShareOverTheDivisor) {
    EXPECT_EQ(claim_grains(0.5, 64, 2, 0), 16u);
    EXPECT_EQ(claim_grains(0.75, 64, 2, 0), 24u);
    EXPECT_EQ(claim_grains(1.0, 64, 2, 0), 32u);
    EXPECT_EQ(claim_grains(1.0, 64, 1, 0), 64u);
    EXPECT_EQ(claim_grains(0.3, 10, 2, 0), 2u);  // ceil(1.5)
}

TEST(ChunkSizing, ClaimNeverBelowOneGrainNorAboveWhatIsLeftOrTheCap) {
    EXPECT_EQ(claim_grains(0.001, 64, 2, 0), 1u);
    EXPECT_EQ(claim_grains(0.0, 64, 2, 0), 1u);
    EXPECT_EQ(claim_grains(1.0, 3, 0, 0), 3u);  // divisor 0 reads as 1
    EXPECT_EQ(claim_grains(5.0, 3, 1, 0), 3u);
    EXPECT_EQ(claim_grains(1.0, 64, 2, 1), 1u);
    EXPECT_EQ(claim_grains(1.0, 64, 2, 5), 5u);
    EXPECT_EQ(claim_grains(0.5, 0, 2, 0), 0u);
}

TEST(ChunkSizing, ClaimsShrinkAsTheWorkDrainsAndCoverIt) {
    // One participant alone (share 1): halves, down to single grains at the tail.
    std::uint64_t remaining = 64;
    std::vector<std::uint64_t> claims;
    while (remaining != 0) {
        claims.push_back(claim_grains(1.0, remaining, 2, 0));
        remaining -= claims.back();
    }
    EXPECT_EQ(claims, (std::vector<std::uint64_t>{32, 16, 8, 4, 2, 1, 1}));
}

TEST(ChunkSizing, FasterParticipantClaimsMoreInProportion) {
    const std::vector<RateInput> in = {{3e9, false, 0}, {1e9, false, 0}};
    const std::vector<double> r = estimated_rates(in, 4);
    const double total = r[0] + r[1];
    EXPECT_DOUBLE_EQ(r[0] / total, 0.75);
    EXPECT_EQ(claim_grains(r[0] / total, 64, 2, 0), 24u);
    EXPECT_EQ(claim_grains(r[1] / total, 64, 2, 0), 8u);
}

TEST(ChunkSizing, MeasuredRatesReplaceAdvertisedOnesAndCalibrateTheRest) {
    // Advertised 3:1:1; the first two have measured this kernel at 600 and
    // 400 lanes/s. The third's estimate: its figure times (600+400)/(3e9+1e9).
    const std::vector<RateInput> in = {{3e9, false, 600}, {1e9, false, 400}, {1e9, false, 0}};
    const std::vector<double> r = estimated_rates(in, 4);
    EXPECT_DOUBLE_EQ(r[0], 600);
    EXPECT_DOUBLE_EQ(r[1], 400);
    EXPECT_DOUBLE_EQ(r[2], 250);
}

TEST(ChunkSizing, PreferredParticipantsWeighUpUntilMeasured) {
    const std::vector<RateInput> in = {{1e9, true, 0}, {1e9, false, 0}};
    const std::vector<double> r = estimated_rates(in, 4);
    EXPECT_DOUBLE_EQ(r[0] / (r[0] + r[1]), 0.8);
    // Once the preferred one has measured, its rate stands as it is.
    const std::vector<RateInput> measured = {{1e9, true, 100}, {1e9, false, 100}};
    const std::vector<double> m = estimated_rates(measured, 4);
    EXPECT_DOUBLE_EQ(m[0], m[1]);
}

TEST(ChunkSizing, MissingAdvertisedFigureCountsAsTheMeanOfTheOthers) {
    const std::vector<RateInput> in = {{0, false, 0}, {2e9, false, 0}, {4e9, false, 0}};
    const std::vector<double> r = estimated_rates(in, 4);
    EXPECT_DOUBLE_EQ(r[0], 3e9);
    const std::vector<RateInput> none = {{0, false, 0}, {-1, false, 0}};
    const std::vector<double> e = estimated_rates(none, 4);
    EXPECT_DOUBLE_EQ(e[0], e[1]);
    EXPECT_GT(e[0], 0);
}
