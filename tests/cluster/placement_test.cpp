// place_blocks: blocks by rate, capped by room, the rest shared out.
#include <gtest/gtest.h>

#include <numeric>

#include "cluster/placement.h"

namespace polymer::cluster {
namespace {

std::uint64_t sum(const std::vector<std::uint64_t>& v) { return std::accumulate(v.begin(), v.end(), std::uint64_t{0}); }

TEST(Placement, BlocksFollowTheRates) {
    const PlacementInput in[] = {{1, 1000}, {3, 1000}};
    const auto out = place_blocks(100, in);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, (std::vector<std::uint64_t>{25, 75}));
}

TEST(Placement, AFullParticipantGivesTheRestToTheOthers) {
    // Equal rates, but the first has room for 10 grains only: the other two share 90.
    const PlacementInput in[] = {{1, 10}, {1, 1000}, {1, 1000}};
    const auto out = place_blocks(100, in);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, (std::vector<std::uint64_t>{10, 45, 45}));
}

TEST(Placement, EveryGrainIsPlacedAndNoRoomIsPassed) {
    for (std::uint64_t grains : {1u, 7u, 97u, 1000u}) {
        const PlacementInput in[] = {{2.5, grains / 3 + 1}, {1, grains}, {0.7, grains / 2 + 1}, {0, grains}};
        const auto out = place_blocks(grains, in);
        ASSERT_TRUE(out) << grains;
        EXPECT_EQ(sum(*out), grains);
        for (std::size_t k = 0; k < out->size(); ++k) EXPECT_LE((*out)[k], in[k].room_grains) << grains << " " << k;
    }
}

TEST(Placement, ExactlyEnoughRoomFillsEveryone) {
    const PlacementInput in[] = {{5, 3}, {1, 4}, {1, 3}};
    const auto out = place_blocks(10, in);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, (std::vector<std::uint64_t>{3, 4, 3}));
}

TEST(Placement, TooLittleRoomIsRefused) {
    const PlacementInput in[] = {{1, 30}, {1, 30}};
    EXPECT_FALSE(place_blocks(61, in));
    EXPECT_FALSE(place_blocks(1, std::span<const PlacementInput>{}));
}

TEST(Placement, AParticipantWithoutARateCountsAsTheMean) {
    const PlacementInput in[] = {{2, 1000}, {0, 1000}, {4, 1000}};
    const auto out = place_blocks(90, in);
    ASSERT_TRUE(out);
    EXPECT_EQ(*out, (std::vector<std::uint64_t>{20, 30, 40}));
}

}  // namespace
}  // namespace polymer::cluster
