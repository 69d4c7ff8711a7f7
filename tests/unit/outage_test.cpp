#include "util/outage.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using Say = OutageLog::Say;

TEST(OutageLog, SaysTheFirstFailureThenNothingUntilTheReminder) {
  ManualClock clock;
  OutageLog log(minutes(10));
  EXPECT_EQ(log.Failed(clock.Now()), Say::kStarted);
  int said = 0;
  // A retry every 15 s for 25 minutes: two reminders, at 10 and 20 minutes.
  for (int i = 0; i < 100; ++i) {
    clock.Advance(seconds(15));
    if (log.Failed(clock.Now()) == Say::kStill) ++said;
  }
  EXPECT_EQ(said, 2);
  EXPECT_EQ(log.attempts(), 101);
  EXPECT_DOUBLE_EQ(log.seconds(clock.Now()), 1500);
}

TEST(OutageLog, SaysTheRecoveryOnceWithTheOutagesLength) {
  ManualClock clock;
  OutageLog log(minutes(10));
  EXPECT_EQ(log.Succeeded(clock.Now()), Say::kNothing);
  EXPECT_EQ(log.Failed(clock.Now()), Say::kStarted);
  clock.Advance(seconds(30));
  EXPECT_EQ(log.Failed(clock.Now()), Say::kNothing);
  clock.Advance(seconds(12));
  EXPECT_EQ(log.Succeeded(clock.Now()), Say::kRecovered);
  EXPECT_EQ(log.attempts(), 2);
  clock.Advance(seconds(100));
  EXPECT_DOUBLE_EQ(log.seconds(clock.Now()), 42);
  EXPECT_EQ(log.Succeeded(clock.Now()), Say::kNothing);
}

TEST(OutageLog, ANewOutageStartsAfresh) {
  ManualClock clock;
  OutageLog log(minutes(10));
  (void)log.Failed(clock.Now());
  (void)log.Succeeded(clock.Now());
  clock.Advance(minutes(30));
  EXPECT_EQ(log.Failed(clock.Now()), Say::kStarted);
  EXPECT_EQ(log.attempts(), 1);
  clock.Advance(minutes(9));
  EXPECT_EQ(log.Failed(clock.Now()), Say::kNothing);
}

}  // namespace
}  // namespace dbr
