// The one retry policy: exponential backoff with jitter, bounded in attempts.
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "util/clock.h"
#include "util/status.h"

namespace dbr {

struct RetryPolicy {
  int attempts = 5;
  std::chrono::milliseconds first_delay{500};
  std::chrono::milliseconds max_delay{10000};
  // When set, no attempt starts later than this after the first: an outage is waited out for
  // this long, whatever the attempts left.
  std::chrono::seconds give_up_after{0};
};

// Calls `fn` until it succeeds or the attempts run out; logs each failure with `what`. Waits
// between attempts on `clock`.
Status Retry(const RetryPolicy& policy, const std::string& what, const std::function<Status()>& fn,
             Clock& clock = RealClock());

// As Retry, but stops at the first failure `should_retry` rejects and returns it unwrapped (a
// permanent error is reported as itself, not as "failed after N attempts").
Status RetryIf(const RetryPolicy& policy, const std::string& what,
               const std::function<Status()>& fn,
               const std::function<bool(const Status&)>& should_retry, Clock& clock = RealClock());

// The delay before attempt `attempt` (1-based), with full jitter.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt);

}  // namespace dbr
