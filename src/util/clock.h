// The clock every wait and sampling period goes through (a cut-down LevelDB Env): the real one
// in the product, a manual one in unit tests, so rules about time (how long catch-up watches a
// failing apply, how often the lag is sampled, when a warning repeats) are tested without
// waiting for real seconds.
#pragma once

#include <chrono>
#include <mutex>

namespace dbr {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  virtual void SleepFor(Duration d) = 0;
  void SleepUntil(TimePoint t) {
    const TimePoint now = Now();
    if (t > now) SleepFor(t - now);
  }
  // Seconds since `since`.
  double SecondsSince(TimePoint since) {
    return std::chrono::duration<double>(Now() - since).count();
  }
};

// The process's clock: std::chrono::steady_clock and std::this_thread.
Clock& RealClock();

// A clock that moves only when told to (tests). SleepFor advances it by the time asked, at once,
// so code that sleeps in a loop runs its loop without waiting; Advance moves it from outside.
class ManualClock : public Clock {
 public:
  TimePoint Now() override;
  void SleepFor(Duration d) override;
  void Advance(Duration d);
  // The total time slept through SleepFor.
  Duration Slept();

 private:
  std::mutex mu_;
  TimePoint now_{};
  Duration slept_{};
};

}  // namespace dbr
