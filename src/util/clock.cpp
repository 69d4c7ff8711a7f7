#include "util/clock.h"

#include <thread>

namespace dbr {
namespace {

class SteadyClock : public Clock {
 public:
  TimePoint Now() override { return std::chrono::steady_clock::now(); }
  void SleepFor(Duration d) override { std::this_thread::sleep_for(d); }
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

void ManualClock::Advance(Duration d) {
  std::lock_guard<std::mutex> lock(mu_);
  now_ += d;
}

Clock::Duration ManualClock::Slept() {
  std::lock_guard<std::mutex> lock(mu_);
  return slept_;
}

}  // namespace dbr
