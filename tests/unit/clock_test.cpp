#include "util/clock.h"

#include <gtest/gtest.h>

#include <vector>

#include "util/periodic_task.h"

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

TEST(ManualClock, SleepUntilDoneAdvancesUnlessDoneAlready) {
  ManualClock clock;
  std::mutex mu;
  std::condition_variable cv;
  std::unique_lock<std::mutex> lock(mu);
  bool done = false;
  EXPECT_FALSE(clock.SleepFor(seconds(5), cv, lock, [&] { return done; }));
  EXPECT_EQ(clock.Slept(), seconds(5));
  done = true;
  EXPECT_TRUE(clock.SleepFor(seconds(5), cv, lock, [&] { return done; }));
  EXPECT_EQ(clock.Slept(), seconds(5));
}

TEST(PeriodicTask, CallsAPeriodApartOnItsClock) {
  ManualClock clock;
  const auto start = clock.Now();
  std::mutex mu;
  std::condition_variable cv;
  std::vector<double> calls;  // seconds since start
  {
    PeriodicTask task(
        milliseconds(2500),
        [&] {
          std::lock_guard<std::mutex> lock(mu);
          if (calls.size() < 4) calls.push_back(clock.SecondsSince(start));
          cv.notify_all();
        },
        /*call_when_stopped=*/false, clock);
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return calls.size() == 4; });
  }
  EXPECT_EQ(calls, (std::vector<double>{2.5, 5.0, 7.5, 10.0}));
}

TEST(RealClock, SleepsForReal) {
  Clock& clock = RealClock();
  const auto start = clock.Now();
  clock.SleepFor(milliseconds(20));
  EXPECT_GE(clock.Now() - start, milliseconds(20));
}

}  // namespace
}  // namespace dbr
