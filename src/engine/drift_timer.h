// The rules about time of catch-up's drift watch (engine/catchup.cpp), apart from the servers so
// that a test runs them on a ManualClock: how often both schemas are read again, when a
// difference that breaks the apply has stalled it long enough to stop the run, and how long such
// a difference holds catch-up back while the apply is watched for failures.
#pragma once

#include <optional>

#include "model/timings.h"
#include "util/clock.h"

namespace dbr {

class DriftTimer {
 public:
  explicit DriftTimer(Clock& clock, const Timings::CatchUp& timings = Timings::Default().catchup);

  // Whether the schemas are due to be read: the first time, then every drift_read_every.
  bool SchemaReadDue();
  // Takes in a reading: whether a difference that breaks the apply is present and whether the
  // apply fails. True when it has been failing for stuck_for (from its first failure, while such
  // a difference stays): the run stops. A reading without such a difference starts afresh.
  bool Stuck(bool breaks_apply, bool apply_failing);
  // Whether catch-up must not end yet: a difference that breaks the apply is present, and the
  // apply fails (or has not been watched for watch_for yet).
  bool HoldsCatchUp();

 private:
  Clock& clock_;
  Timings::CatchUp timings_;
  std::optional<Clock::TimePoint> read_at_, breaking_since_, stuck_since_;
};

}  // namespace dbr
