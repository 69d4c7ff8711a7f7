#include "util/clock.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(ManualClock, MovesOnlyWhenSleptOrAdvanced) {
  ManualClock clock;
  const auto start = clock.Now();
  EXPECT_EQ(clock.Now(), start);
  clock.SleepFor(seconds(5));
  clock.Advance(milliseconds(250));
  EXPECT_DOUBLE_EQ(clock.SecondsSince(start), 5.25);
  EXPECT_EQ(clock.Slept(), seconds(5));
  clock.SleepUntil(start + seconds(4));  // already past: no time passes
  EXPECT_EQ(clock.Slept(), seconds(5));
  clock.SleepUntil(start + seconds(6));
  EXPECT_DOUBLE_EQ(clock.SecondsSince(start), 6.0);
}

TEST(RealClock, SleepsForReal) {
  Clock& clock = RealClock();
  const auto start = clock.Now();
  clock.SleepFor(milliseconds(20));
  EXPECT_GE(clock.Now() - start, milliseconds(20));
}

}  // namespace
}  // namespace dbr
