#include "util/outage.h"

namespace dbr {

OutageLog::Say OutageLog::Failed(Clock::TimePoint now) {
  if (!failing_) {
    failing_ = true;
    attempts_ = 1;
    since_ = reminded_ = now;
    return Say::kStarted;
  }
  ++attempts_;
  if (now - reminded_ < remind_every_) return Say::kNothing;
  reminded_ = now;
  return Say::kStill;
}

OutageLog::Say OutageLog::Succeeded(Clock::TimePoint now) {
  if (!failing_) return Say::kNothing;
  failing_ = false;
  ended_ = now;
  return Say::kRecovered;
}

}  // namespace dbr
