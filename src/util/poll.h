// Waiting for a condition by looking again and again, through a Clock (util/clock.h), so that a
// unit test runs the wait on a ManualClock without waiting.
#pragma once

#include <functional>

#include "util/clock.h"
#include "util/status.h"

namespace dbr {

// Calls `done` at once and then every `interval` until it returns true (then true) or an error
// (then that error), or until a call ends more than `timeout` after the first began (then false:
// the caller words the timeout, from what its last call saw).
Result<bool> PollUntil(Clock& clock, Clock::Duration timeout, Clock::Duration interval,
                       const std::function<Result<bool>()>& done);

// `seconds` (of the config, say) as a Clock duration.
inline Clock::Duration Seconds(double seconds) {
  return std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds));
}

}  // namespace dbr
