#include "engine/drift_timer.h"

namespace dbr {

DriftTimer::DriftTimer(Clock& clock, const Timings::CatchUp& timings)
    : clock_(clock), timings_(timings) {}

bool DriftTimer::SchemaReadDue() {
  const Clock::TimePoint now = clock_.Now();
  if (read_at_ && now - *read_at_ < timings_.drift_read_every) return false;
  read_at_ = now;
  return true;
}

bool DriftTimer::Stuck(bool breaks_apply, bool apply_failing) {
  if (!breaks_apply) {
    breaking_since_.reset();
    stuck_since_.reset();
    return false;
  }
  const Clock::TimePoint now = clock_.Now();
  if (!breaking_since_) breaking_since_ = now;
  if (apply_failing && !stuck_since_) stuck_since_ = now;
  return stuck_since_ && now - *stuck_since_ >= timings_.stuck_for;
}

bool DriftTimer::HoldsCatchUp() {
  return breaking_since_ && (stuck_since_ || clock_.Now() - *breaking_since_ < timings_.watch_for);
}

}  // namespace dbr
