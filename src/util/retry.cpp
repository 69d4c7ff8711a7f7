#include "util/retry.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <thread>

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

Status Retry(const RetryPolicy& policy, const std::string& what,
             const std::function<Status()>& fn) {
  return RetryIf(policy, what, fn, [](const Status&) { return true; });
}

Status RetryIf(const RetryPolicy& policy, const std::string& what,
               const std::function<Status()>& fn,
               const std::function<bool(const Status&)>& should_retry) {
  const auto started = std::chrono::steady_clock::now();
  const bool timed = policy.give_up_after.count() > 0;
  Status last;
  int attempt = 1;
  for (;; ++attempt) {
    last = fn();
    if (last.ok() || !should_retry(last)) return last;
    if (attempt == policy.attempts) break;
    auto delay = BackoffDelay(policy, attempt);
    if (timed && std::chrono::steady_clock::now() + delay > started + policy.give_up_after) break;
    log::warn("{} failed (attempt {}{}), retrying in {} ms: {}", what, attempt,
              timed ? "" : "/" + std::to_string(policy.attempts), delay.count(), last.message());
    std::this_thread::sleep_for(delay);
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return last.Wrap(timed ? what + " failed for " + std::to_string(std::lround(waited)) + " s (" +
                               std::to_string(attempt) + " attempts)"
                         : what + " failed after " + std::to_string(attempt) + " attempts");
}

}  // namespace dbr
