#include "cloud/rds_wait.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>

#include "model/timings.h"
#include "util/progress.h"

namespace dbr {

// Polls until `done` says so, showing `what` and its progress; bounded by `timeout_s`.
Status WaitForAws(const std::string& what, int64_t timeout_s,
                  const std::function<Result<bool>(std::string* progress)>& done, Clock& clock) {
  const Timings::Rds& timings = Timings::Default().rds;
  const Clock::TimePoint started = clock.Now();
  const Clock::TimePoint deadline = started + std::chrono::seconds(timeout_s);
  std::string progress = "starting";
  std::mutex mu;
  ProgressReporter reporter([&] {
    std::lock_guard<std::mutex> lock(mu);
    return fmt::format("{}: {} ({})", what, progress, HumanDuration(clock.SecondsSince(started)));
  });
  for (auto delay = timings.first_poll;; delay = std::min(delay * 2, timings.max_poll)) {
    std::string p;
    auto finished = done(&p);
    if (!finished.ok()) return finished.status().Wrap(what);
    {
      std::lock_guard<std::mutex> lock(mu);
      progress = p;
    }
    if (*finished) return Status::Ok();
    if (clock.Now() > deadline)
      return Status::Error(fmt::format(
          "{}: still {} after {} (upgrade.wait_timeout); run `db_relocate run` again to keep "
          "waiting",
          what, p, HumanDuration(static_cast<double>(timeout_s))));
    clock.SleepFor(delay);
  }
}

Status WaitForInstance(aws::Rds& rds, const std::string& id, int64_t timeout_s,
                       aws::DbInstance* out, Clock& clock) {
  const auto available = [&](std::string* progress) -> Result<bool> {
    auto i = rds.DescribeInstance(id);
    if (!i.ok()) return i.status();
    *progress = i->status;
    static const std::set<std::string> kStuck = {"failed",
                                                 "incompatible-restore",
                                                 "incompatible-parameters",
                                                 "storage-full",
                                                 "incompatible-network",
                                                 "incompatible-option-group",
                                                 "restore-error",
                                                 "inaccessible-encryption-credentials"};
    if (kStuck.count(i->status))
      return Status::Error("AWS reports the instance " + i->status +
                           ": see its events in the RDS console (aws rds describe-events "
                           "--source-type db-instance --source-identifier " +
                           id + ")");
    if (out) *out = *i;
    return i->status == "available";
  };
  return WaitForAws("instance " + id, timeout_s, available, clock);
}

Status WaitForSnapshot(aws::Rds& rds, const std::string& id, const std::string& engine_version,
                       int64_t timeout_s, Clock& clock) {
  const auto available = [&](std::string* progress) -> Result<bool> {
    auto s = rds.DescribeSnapshot(id);
    if (!s.ok()) return s.status();
    *progress =
        fmt::format("{} {}%, PostgreSQL {}", s->status, s->percent_progress, s->engine_version);
    if (s->status == "failed" || s->status == "incompatible-restore")
      return Status::Error("AWS reports the snapshot " + s->status);
    return s->status == "available" &&
           (engine_version.empty() || s->engine_version == engine_version);
  };
  return WaitForAws("snapshot " + id, timeout_s, available, clock);
}

}  // namespace dbr
