// The clock every wait and sampling period goes through (a cut-down LevelDB Env): the real one
// in the product, a manual one in unit tests, so rules about time (how long catch-up watches a
// failing apply, how often the lag is sampled, when a warning repeats) are tested without
// waiting for real seconds.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>

namespace dbr {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;
  virtual TimePoint Now() = 0;
  virtual void SleepFor(Duration d) = 0;
  // Sleeps for `d` or until `done` holds, whichever comes first, and returns done(): as
  // std::condition_variable::wait_for(lock, d, done), `done` is checked under `lock` whenever
  // `cv` is notified. For a thread that sleeps between rounds of work and must end soon when
  // told to.
  virtual bool SleepFor(Duration d, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                        const std::function<bool()>& done) = 0;
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

// A clock that moves only when told to (tests). SleepFor advances it by the time asked, at once
// (not when its `done` holds already), so code that sleeps in a loop runs its loop without
// waiting; Advance moves it from outside.
class ManualClock : public Clock {
 public:
  TimePoint Now() override;
  void SleepFor(Duration d) override;
  bool SleepFor(Duration d, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                const std::function<bool()>& done) override;
  void Advance(Duration d);
  // The total time slept through SleepFor.
  Duration Slept();

 private:
  std::mutex mu_;
  TimePoint now_{};
  Duration slept_{};
};

}  // namespace dbr
