// Cutting a vector op into pieces where its operands' runs are
// (cluster/vector_plan.h), as pure functions of the directory's runs.
#include <gtest/gtest.h>

#include <vector>

#include "cluster/vector_plan.h"

namespace polymer::cluster {
namespace {

constexpr HolderSet kNodeA = 2, kNodeB = 4;
// Nodes first, as the home lists them: a tie goes to a node.
const std::vector<HolderSet> kCandidates = {kNodeA, kNodeB, kHomeMemory};
constexpr std::size_t kA = 0, kB = 1, kHome = 2;

std::vector<VectorPiece> plan(std::uint64_t n, std::uint64_t align, const std::vector<OperandRun>& runs) {
    return plan_vector_pieces(n, align, runs, kCandidates, kHome);
}

TEST(VectorPlan, ElementwisePiecesAreTheRunsOfTheirHolders) {
    // x on A then B, the home's tail; element-wise: no alignment.
    const std::vector<OperandRun> x = {{0, 1000, kNodeA, 4}, {1000, 2500, kNodeB, 4}, {2500, 3000, kHomeMemory, 4}};
    EXPECT_EQ(plan(3000, 1, x), (std::vector<VectorPiece>{{0, 1000, kA}, {1000, 2500, kB}, {2500, 3000, kHome}}));
}

TEST(VectorPlan, ReductionCutsMoveDownToTheBlock) {
    // The block [1024, 2048) straddles A's and B's runs: it goes whole to the
    // one holding more of it (A holds 1500 - 1024 = 476 elements, B 548).
    const std::vector<OperandRun> x = {{0, 1500, kNodeA, 8}, {1500, 5000, kNodeB, 8}};
    EXPECT_EQ(plan(5000, 1024, x), (std::vector<VectorPiece>{{0, 1024, kA}, {1024, 5000, kB}}));
    // Every piece starts on a block, whatever the runs.
    const std::vector<OperandRun> y = {{0, 10, kNodeA, 4}, {10, 4000, kNodeB, 4}, {4000, 4097, kNodeA, 4}, {4097, 9000, kNodeB, 4}};
    for (const VectorPiece& p : plan(9000, 1024, y)) EXPECT_EQ(p.begin % 1024, 0u) << p.begin;
}

TEST(VectorPlan, TheRunnerHoldsTheMostBytesOfAllInputs) {
    // a (4-byte elements) all on A; b (8-byte elements) on B over [0, 600),
    // at home after it: B, then the home hold more bytes than A.
    const std::vector<OperandRun> runs = {{0, 1000, kNodeA, 4}, {0, 600, kNodeB, 8}, {600, 1000, kHomeMemory, 8}};
    EXPECT_EQ(plan(1000, 1, runs), (std::vector<VectorPiece>{{0, 600, kB}, {600, 1000, kHome}}));
    // b's tail on A too: A holds both there.
    const std::vector<OperandRun> more = {{0, 1000, kNodeA, 4}, {0, 600, kNodeB, 8}, {600, 1000, kHomeMemory | kNodeA, 8}};
    EXPECT_EQ(plan(1000, 1, more), (std::vector<VectorPiece>{{0, 600, kB}, {600, 1000, kA}}));
}

TEST(VectorPlan, TiesGoToTheEarlierCandidateAndNeighboursMerge) {
    // Held by the home and A (A got a put): A runs it; the two runs of A merge.
    const std::vector<OperandRun> x = {{0, 500, kHomeMemory | kNodeA, 4}, {500, 800, kNodeA, 4}};
    EXPECT_EQ(plan(800, 1, x), (std::vector<VectorPiece>{{0, 800, kA}}));
}

TEST(VectorPlan, LostRunsGoToTheFallback) {
    const std::vector<OperandRun> x = {{0, 300, kNodeA, 4}, {300, 700, 0, 4}, {700, 1000, kNodeA, 4}};
    EXPECT_EQ(plan(1000, 1, x), (std::vector<VectorPiece>{{0, 300, kA}, {300, 700, kHome}, {700, 1000, kA}}));
}

TEST(VectorPlan, EmptyAndSingleElement) {
    EXPECT_TRUE(plan(0, 1024, {}).empty());
    EXPECT_EQ(plan(1, 1024, {{0, 1, kNodeB, 4}}), (std::vector<VectorPiece>{{0, 1, kB}}));
}

}  // namespace
}  // namespace polymer::cluster
