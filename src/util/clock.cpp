#include "util/clock.h"

#include <thread>

namespace dbr {
namespace {

class SteadyClock : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
  bool SleepFor(Duration d, std::condition_variable& cv, std::unique_lock<std::mutex>& lock,
                const std::function<bool()>& done) override {
    return cv.wait_for(lock, d, done);
  }
};

}  // namespace

Clock& RealClock() {
  static SteadyClock clock;
  return clock;
}

Clock::TimePoint ManualClock::Now() {
  std::lock_guard<std::mutex> lock(mu_);
  return now_;
}

void ManualClock::SleepFor(Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
  slept_ += d;
}

bool ManualClock::SleepFor(Duration d, std::condition_variable&, std::unique_lock<std::mutex>&,
                           const std::function<bool()>& done) {
  if (done()) return true;
  SleepFor(d);
  return done();
}

void ManualClock::Advance(Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

Clock::Duration ManualClock::Slept() {
  std::lock_guard<std::mutex> lock(mu_);
  return slept_;
}

}  // namespace dbr
