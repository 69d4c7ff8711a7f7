// What to log about an operation retried for as long as it fails (the heartbeat writer's insert
// while its server is away, for minutes or for good): the first failure, a reminder now and
// then, and the recovery, instead of one line per attempt.
#pragma once

#include <chrono>

#include "util/clock.h"

namespace dbr {

class OutageLog {
 public:
  enum class Say {
    kNothing,    // an attempt of an outage already reported
    kStarted,    // the first failure: report it, and that retries go on quietly
    kStill,      // the outage has lasted another `remind_every`: report that it goes on
    kRecovered,  // the first success after failures: report the outage's length
  };

  explicit OutageLog(Clock::Duration remind_every) : remind_every_(remind_every) {}

  Say Failed(Clock::TimePoint now);
  Say Succeeded(Clock::TimePoint now);

  // The failed attempts of the outage under way, or of the one just ended.
  int attempts() const { return attempts_; }
  // How long the outage under way lasts, or the one just ended lasted.
  double seconds(Clock::TimePoint now) const {
    return std::chrono::duration<double>((failing_ ? now : ended_) - since_).count();
  }

 private:
  Clock::Duration remind_every_;
  bool failing_ = false;
  int attempts_ = 0;
  Clock::TimePoint since_{}, reminded_{}, ended_{};
};

}  // namespace dbr
