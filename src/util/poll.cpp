#include "util/poll.h"

namespace dbr {

Result<bool> PollUntil(Clock& clock, Clock::Duration timeout, Clock::Duration interval,
                       const std::function<Result<bool>()>& done) {
  const Clock::TimePoint deadline = clock.Now() + timeout;
  while (true) {
    Result<bool> now_done = done();
    if (!now_done.ok() || *now_done) return now_done;
    if (clock.Now() > deadline) return false;
    clock.SleepFor(interval);
  }
}

}  // namespace dbr
