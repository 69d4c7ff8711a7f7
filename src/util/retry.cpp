#include "util/retry.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "util/log.h"

namespace dbr {

std::chrono::milliseconds BackoffDelay(const RetryPolicy& policy, int attempt) {
  int64_t cap = policy.first_delay.count();
  for (int i = 1; i < attempt && cap < policy.max_delay.count(); ++i) cap *= 2;
  cap = std::min<int64_t>(cap, policy.max_delay.count());
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(cap / 2, cap);
  return std::chrono::milliseconds(jitter(rng));
}

Status Retry(const RetryPolicy& policy, const std::string& what, const std::function<Status()>& fn,
             Clock& clock) {
  return RetryIf(
      policy, what, fn, [](const Status&) { return true; }, clock);
}

Status RetryIf(const RetryPolicy& policy, const std::string& what,
               const std::function<Status()>& fn,
               const std::function<bool(const Status&)>& should_retry, Clock& clock) {
  const Clock::TimePoint started = clock.Now();
  const bool timed = policy.give_up_after.count() > 0;
  Status last;
  int attempt = 1;
  for (;; ++attempt) {
    last = fn();
    if (last.ok() || !should_retry(last)) return last;
    if (attempt == policy.attempts) break;
    auto delay = BackoffDelay(policy, attempt);
    if (timed && clock.Now() + delay > started + policy.give_up_after) break;
    log::warn("{} failed (attempt {}{}), retrying in {} ms: {}", what, attempt,
              timed ? "" : "/" + std::to_string(policy.attempts), delay.count(), last.message());
    clock.SleepFor(delay);
  }
  const double waited = clock.SecondsSince(started);
  return last.Wrap(timed ? what + " failed for " + std::to_string(std::lround(waited)) + " s (" +
                               std::to_string(attempt) + " attempts)"
                         : what + " failed after " + std::to_string(attempt) + " attempts");
}

}  // namespace dbr
