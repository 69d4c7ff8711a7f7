#include "util/retry.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

using namespace std::chrono_literals;

TEST(RetryTest, StopsAtTheFirstSuccess) {
  int calls = 0;
  Status st = Retry({.attempts = 5, .first_delay = 1ms}, "thing",
                    [&] { return ++calls < 3 ? Status::Unavailable("down") : Status::Ok(); });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(calls, 3);
}

TEST(RetryTest, CountedAttemptsRunOutWithTheLastError) {
  int calls = 0;
  Status st = Retry({.attempts = 3, .first_delay = 1ms}, "connecting to the source", [&] {
    ++calls;
    return Status::Unavailable("refused");
  });
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(st.message(), "connecting to the source failed after 3 attempts: refused");
  EXPECT_TRUE(st.is_unavailable());  // the kind of error survives the wrapping
}

TEST(RetryTest, PermanentErrorIsReturnedAtOnceAsItself) {
  int calls = 0;
  Status st = RetryIf(
      {.attempts = 5, .first_delay = 1ms}, "connecting",
      [&] {
        ++calls;
        return Status::Error("password authentication failed");
      },
      [](const Status& s) { return s.is_unavailable(); });
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(st.message(), "password authentication failed");
}

TEST(RetryTest, TimeBudgetEndsAnOutageWhateverTheAttemptsLeft) {
  int calls = 0;
  const auto started = std::chrono::steady_clock::now();
  Status st = Retry({.attempts = 1 << 30,
                     .first_delay = 20ms,
                     .max_delay = 100ms,
                     .give_up_after = std::chrono::seconds(1)},
                    "connecting to the destination", [&] {
                      ++calls;
                      return Status::Unavailable("timeout");
                    });
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 850ms);  // the last delay may fall short of the budget by up to max_delay
  EXPECT_LT(took, 5s);
  EXPECT_GT(calls, 5);
  EXPECT_NE(st.message().find("connecting to the destination failed for 1 s ("), std::string::npos)
      << st.message();
}

TEST(RetryTest, WaitsOnTheClockItIsGiven) {
  ManualClock clock;
  int calls = 0;
  Status st = Retry(
      {.attempts = 1 << 30, .first_delay = 1s, .max_delay = 8s, .give_up_after = 60s},
      "connecting to the source",
      [&] {
        ++calls;
        return Status::Unavailable("timeout");
      },
      clock);
  EXPECT_LE(clock.Slept(), 60s);
  EXPECT_GT(clock.Slept(), 60s - 8s);  // the last delay may fall short by up to max_delay
  EXPECT_GT(calls, 8);
  EXPECT_NE(st.message().find("connecting to the source failed for "), std::string::npos)
      << st.message();
}

TEST(RetryTest, BackoffGrowsToItsCapWithJitter) {
  RetryPolicy p{.attempts = 10, .first_delay = 100ms, .max_delay = 1000ms};
  for (int i = 0; i < 50; ++i) {
    EXPECT_GE(BackoffDelay(p, 1), 50ms);
    EXPECT_LE(BackoffDelay(p, 1), 100ms);
    EXPECT_GE(BackoffDelay(p, 3), 200ms);
    EXPECT_LE(BackoffDelay(p, 3), 400ms);
    EXPECT_GE(BackoffDelay(p, 9), 500ms);
    EXPECT_LE(BackoffDelay(p, 9), 1000ms);
  }
}

}  // namespace
}  // namespace dbr
