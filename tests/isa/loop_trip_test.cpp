// loop_trip_count (isa/loop_trip.h) against the loop itself, run step by
// step as the scalar code would, over small values and the int64 edges.
#include "isa/loop_trip.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace polymer {
namespace {

constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

constexpr LoopCompare kCompares[] = {LoopCompare::Lt,  LoopCompare::Le,  LoopCompare::Gt,  LoopCompare::Ge, LoopCompare::Ltu,
                                     LoopCompare::Leu, LoopCompare::Gtu, LoopCompare::Geu, LoopCompare::Ne};
static_assert(std::size(kCompares) == kLoopCompareCount);

// What running the loop shows within `limit` iterations.
struct Simulated {
    enum { Ends, Wraps, TooLong } how;
    std::uint64_t n = 0;
};

Simulated simulate(LoopCompare c, bool tested_first, std::int64_t step, std::int64_t i0, std::int64_t b,
                   std::uint64_t limit) {
    std::int64_t i = i0;
    std::uint64_t n = 0;
    auto advance = [&] { return !__builtin_add_overflow(i, step, &i); };
    if (tested_first) {
        while (loop_continues(c, i, b)) {
            if (++n > limit) return {Simulated::TooLong};
            if (!advance()) return {Simulated::Wraps};
        }
    } else {
        do {
            if (++n > limit) return {Simulated::TooLong};
            if (!advance()) return {Simulated::Wraps};
        } while (loop_continues(c, i, b));
    }
    return {Simulated::Ends, n};
}

std::string describe(LoopCompare c, bool tested_first, std::int64_t step, std::int64_t i0, std::int64_t b) {
    return "compare " + std::to_string(static_cast<int>(c)) + (tested_first ? " tested first" : " tested after") +
           " step " + std::to_string(step) + " i0 " + std::to_string(i0) + " b " + std::to_string(b);
}

void check(LoopCompare c, bool tested_first, std::int64_t step, std::int64_t i0, std::int64_t b, std::uint64_t limit) {
    const Simulated sim = simulate(c, tested_first, step, i0, b, limit);
    const std::optional<std::uint64_t> n = loop_trip_count(c, tested_first, step, i0, b);
    SCOPED_TRACE(describe(c, tested_first, step, i0, b));
    switch (sim.how) {
    case Simulated::Ends:
        ASSERT_TRUE(n.has_value());
        EXPECT_EQ(*n, sim.n);
        break;
    case Simulated::Wraps: EXPECT_FALSE(n.has_value()); break;
    case Simulated::TooLong:
        if (n) {
            EXPECT_GT(*n, limit);  // longer than we ran it, or wrapping later
        }
        break;
    }
}

TEST(LoopTrip, SmallValuesMatchTheLoopRunStepByStep) {
    for (LoopCompare c : kCompares)
        for (bool first : {true, false})
            for (std::int64_t step = -4; step <= 4; ++step) {
                if (step == 0) continue;
                for (std::int64_t i0 = -9; i0 <= 9; ++i0)
                    for (std::int64_t b = -9; b <= 9; ++b) check(c, first, step, i0, b, 100);
            }
}

// Near the int64 limits every loop is short or wraps soon, so the step-by-step
// run is exact there too; the unsigned compares see the jump from -1 to 0.
TEST(LoopTrip, EdgeValuesMatchTheLoopRunStepByStep) {
    const std::vector<std::int64_t> values = {kMin, kMin + 1, kMin + 2, kMin + 7, -3, -2, -1, 0, 1, 2, 3,
                                              kMax - 7, kMax - 2, kMax - 1, kMax};
    const std::vector<std::int64_t> steps = {1, -1, 2, -2, 3, -3, 7, -7, kMax / 2, -(kMax / 2), kMax, kMin, kMin + 1,
                                             std::int64_t{1} << 62, -(std::int64_t{1} << 62)};
    for (LoopCompare c : kCompares)
        for (bool first : {true, false})
            for (std::int64_t step : steps)
                for (std::int64_t i0 : values)
                    for (std::int64_t b : values) check(c, first, step, i0, b, 4096);
}

TEST(LoopTrip, LongLoopsInClosedForm) {
    EXPECT_EQ(loop_trip_count(LoopCompare::Lt, true, 1, 0, 1'000'000), 1'000'000u);
    EXPECT_EQ(loop_trip_count(LoopCompare::Lt, true, 3, 0, 1'000'000), 333'334u);
    EXPECT_EQ(loop_trip_count(LoopCompare::Ge, true, -2, 999, 0), 500u);
    EXPECT_EQ(loop_trip_count(LoopCompare::Ne, true, 4, 0, 4'000'000), 1'000'000u);
    EXPECT_EQ(loop_trip_count(LoopCompare::Lt, false, 1, 0, 1'000'000), 1'000'000u);
    EXPECT_EQ(loop_trip_count(LoopCompare::Lt, false, 1, 5, 0), 1u);  // the body runs once before the test
    // The whole int64 range but the last value: ends exactly at kMax.
    EXPECT_EQ(loop_trip_count(LoopCompare::Lt, true, 1, kMin, kMax), static_cast<std::uint64_t>(kMax) * 2 + 1);
    // Unsigned: from -5 (huge) the test fails at once; from 0 up to an unsigned bound past 2^63 wraps.
    EXPECT_EQ(loop_trip_count(LoopCompare::Ltu, true, 1, -5, 10), 0u);
    EXPECT_EQ(loop_trip_count(LoopCompare::Ltu, true, 1, 0, -1), std::nullopt);
    EXPECT_EQ(loop_trip_count(LoopCompare::Ltu, true, 1, -10, -1), 9u);
}

TEST(LoopTrip, LoopsThatWouldWrapOrNeverEndHaveNoCount) {
    EXPECT_EQ(loop_trip_count(LoopCompare::Ne, true, 2, 0, 7), std::nullopt);          // steps over the bound
    EXPECT_EQ(loop_trip_count(LoopCompare::Lt, true, -1, 0, 10), std::nullopt);        // runs away from it
    EXPECT_EQ(loop_trip_count(LoopCompare::Le, true, 1, 0, kMax), std::nullopt);       // i <= kMax always holds
    EXPECT_EQ(loop_trip_count(LoopCompare::Lt, true, 2, kMax - 3, kMax), std::nullopt);  // kMax - 1 + 2 wraps
    EXPECT_EQ(loop_trip_count(LoopCompare::Lt, true, 0, 0, 10), std::nullopt);         // no step
}

}  // namespace
}  // namespace polymer
