#include "engine/drift_timer.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// Catch-up reads the replication every 500 ms (Timings::CatchUp::poll): `n` readings of it.
struct Readings {
  ManualClock clock;
  DriftTimer timer{clock};
  // Whether one of the readings found the apply stuck.
  bool Stuck(int n, bool breaks_apply, bool apply_failing) {
    bool stuck = false;
    for (int i = 0; i < n && !stuck; ++i) {
      stuck = timer.Stuck(breaks_apply, apply_failing);
      if (!stuck) clock.SleepFor(milliseconds(500));
    }
    return stuck;
  }
};

TEST(DriftTimer, SchemasAreReadAtOnceThenEveryFiveSeconds) {
  ManualClock clock;
  DriftTimer timer(clock);
  std::vector<double> read_at;
  const auto start = clock.Now();
  for (int i = 0; i < 25; ++i, clock.SleepFor(milliseconds(500)))
    if (timer.SchemaReadDue()) read_at.push_back(clock.SecondsSince(start));
  EXPECT_EQ(read_at, (std::vector<double>{0, 5, 10}));
}

TEST(DriftTimer, ABreakingDifferenceWithTheApplyFailingForFifteenSecondsStopsTheRun) {
  Readings r;
  EXPECT_FALSE(r.Stuck(10, /*breaks_apply=*/true, /*apply_failing=*/false));
  const auto failing_since = r.clock.Now();
  EXPECT_FALSE(r.Stuck(30, true, true));  // 14.5 s of failures
  EXPECT_TRUE(r.Stuck(1, true, true));
  EXPECT_EQ(r.clock.Now() - failing_since, seconds(15));
}

TEST(DriftTimer, TheFirstFailureStartsTheFifteenSecondsWhileTheDifferenceStays) {
  Readings r;
  EXPECT_FALSE(r.Stuck(1, true, true));
  EXPECT_FALSE(r.Stuck(29, true, false));  // an apply that fails no more does not reset them
  EXPECT_TRUE(r.Stuck(1, true, false));
}

TEST(DriftTimer, AFailingApplyWithoutABreakingDifferenceNeverStopsTheRun) {
  Readings r;
  EXPECT_FALSE(r.Stuck(100, /*breaks_apply=*/false, /*apply_failing=*/true));
  EXPECT_FALSE(r.timer.HoldsCatchUp());
}

TEST(DriftTimer, TheDifferenceGoneStartsAfresh) {
  Readings r;
  EXPECT_FALSE(r.Stuck(20, true, true));  // 10 s
  EXPECT_FALSE(r.Stuck(1, false, true));
  EXPECT_FALSE(r.Stuck(30, true, true));  // 14.5 s since it came back
  EXPECT_TRUE(r.Stuck(1, true, true));
}

TEST(DriftTimer, ABreakingDifferenceHoldsCatchUpForTenSecondsWhileTheApplyWorks) {
  Readings r;
  EXPECT_FALSE(r.timer.HoldsCatchUp());
  EXPECT_FALSE(r.Stuck(19, true, false));  // readings from 0 to 9 s
  EXPECT_TRUE(r.timer.HoldsCatchUp());     // 9.5 s
  r.clock.Advance(milliseconds(499));
  EXPECT_TRUE(r.timer.HoldsCatchUp());
  r.clock.Advance(milliseconds(1));
  EXPECT_FALSE(r.timer.HoldsCatchUp());  // watched 10 s without a failure: catch-up may end
}

TEST(DriftTimer, AFailingApplyHoldsCatchUpUntilTheRunStops) {
  Readings r;
  EXPECT_FALSE(r.Stuck(1, true, true));
  r.clock.Advance(seconds(12));
  EXPECT_TRUE(r.timer.HoldsCatchUp());
  EXPECT_FALSE(r.Stuck(1, true, false));
  EXPECT_TRUE(r.timer.HoldsCatchUp());
}

}  // namespace
}  // namespace dbr
