#include "util/retry.h"

#include <algorithm>
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
  Status last;
  for (int attempt = 1; attempt <= policy.attempts; ++attempt) {
    last = fn();
    if (last.ok() || !should_retry(last)) return last;
    if (attempt == policy.attempts) break;
    auto delay = BackoffDelay(policy, attempt);
    log::warn("{} failed (attempt {}/{}), retrying in {} ms: {}", what, attempt, policy.attempts,
              delay.count(), last.message());
    std::this_thread::sleep_for(delay);
  }
  return last.Wrap(what + " failed after " + std::to_string(policy.attempts) + " attempts");
}

}  // namespace dbr
