#include "util/poll.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(PollUntil, DoneAtTheFirstLookDoesNotSleep) {
  ManualClock clock;
  int calls = 0;
  auto done = PollUntil(clock, seconds(1), milliseconds(250), [&]() -> Result<bool> {
    ++calls;
    return true;
  });
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(clock.Slept(), Clock::Duration::zero());
}

TEST(PollUntil, LooksEveryIntervalUntilDone) {
  ManualClock clock;
  int calls = 0;
  auto done = PollUntil(clock, seconds(1), milliseconds(250),
                        [&]() -> Result<bool> { return ++calls == 3; });
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(*done);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(clock.Slept(), milliseconds(500));
}

TEST(PollUntil, GivesUpOnceALookEndsPastTheTimeout) {
  ManualClock clock;
  int calls = 0;
  auto done = PollUntil(clock, seconds(1), milliseconds(250), [&]() -> Result<bool> {
    ++calls;
    return false;
  });
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  // Looks at 0, 250, 500, 750 and 1000 ms (not past the deadline yet), then at 1250 ms.
  EXPECT_EQ(calls, 6);
  EXPECT_EQ(clock.Slept(), milliseconds(1250));
}

TEST(PollUntil, TimeSpentInsideALookCounts) {
  ManualClock clock;
  int calls = 0;
  auto done = PollUntil(clock, seconds(1), milliseconds(5), [&]() -> Result<bool> {
    ++calls;
    clock.Advance(seconds(2));  // a slow query
    return false;
  });
  ASSERT_TRUE(done.ok());
  EXPECT_FALSE(*done);
  EXPECT_EQ(calls, 1);
}

TEST(PollUntil, AnErrorEndsTheWaitAsItIs) {
  ManualClock clock;
  int calls = 0;
  auto done = PollUntil(clock, seconds(1), milliseconds(250), [&]() -> Result<bool> {
    if (++calls == 2) return Status::Error("connection lost");
    return false;
  });
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.message(), "connection lost");
  EXPECT_EQ(calls, 2);
}

}  // namespace
}  // namespace dbr
