// The reorder engine's parts: the predictor, the rename map, and whole
// programs that exercise renaming, rollback, traps and the trace files.
#include <gtest/gtest.h>

#include "vm/ooo/branch_predictor.h"
#include "vm/ooo/rename_map.h"

namespace polymer::ooo {
namespace {

TEST(BranchPredictor, StartsFromTheDirectionHint) {
    BranchPredictor p;
    EXPECT_TRUE(p.predict(10, 4));    // backward: a loop, weakly taken
    EXPECT_FALSE(p.predict(20, 30));  // forward: weakly not taken
    EXPECT_EQ(p.state(10, 4), 2);
    EXPECT_EQ(p.state(20, 30), 1);
}

TEST(BranchPredictor, TwoBitCountersSaturateAndNeedTwoMissesToFlip) {
    BranchPredictor p;
    for (int i = 0; i < 5; ++i) p.update(10, 4, true);
    EXPECT_EQ(p.state(10, 4), 3);
    p.update(10, 4, false);  // one loop exit does not flip a strongly-taken branch
    EXPECT_EQ(p.state(10, 4), 2);
    EXPECT_TRUE(p.predict(10, 4));
    p.update(10, 4, false);
    EXPECT_FALSE(p.predict(10, 4));
    for (int i = 0; i < 5; ++i) p.update(10, 4, false);
    EXPECT_EQ(p.state(10, 4), 0);
    EXPECT_TRUE(p.predict(11, 4));  // another branch has its own counter
}

TEST(RenameMap, TracksTheNewestProducerAndRetires) {
    RenameMap map;
    EXPECT_EQ(map.producer(RegKind::Int, 3), RenameMap::kCommitted);
    map.define(RegKind::Int, 3, 7);
    map.define(RegKind::Int, 3, 9);  // a younger writer of r3
    map.define(RegKind::Float, 3, 8);
    EXPECT_EQ(map.producer(RegKind::Int, 3), 9u);
    EXPECT_EQ(map.producer(RegKind::Float, 3), 8u);
    map.retire(RegKind::Int, 3, 7);  // the older one commits: r3 still comes from 9
    EXPECT_EQ(map.producer(RegKind::Int, 3), 9u);
    map.retire(RegKind::Int, 3, 9);
    EXPECT_EQ(map.producer(RegKind::Int, 3), RenameMap::kCommitted);
    map.clear();
    EXPECT_EQ(map.producer(RegKind::Float, 3), RenameMap::kCommitted);
}

}  // namespace
}  // namespace polymer::ooo
