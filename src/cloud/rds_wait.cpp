#include "cloud/rds_wait.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>
#include <thread>

#include "util/progress.h"

namespace dbr {
namespace {

constexpr std::chrono::milliseconds kMaxPoll{10000};

}  // namespace

// Polls until `done` says so, showing `what` and its progress; bounded by `timeout_s`.
Status WaitForAws(const std::string& what, int64_t timeout_s,
                  const std::function<Result<bool>(std::string* progress)>& done) {
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds(timeout_s);
  std::string progress = "starting";
  std::mutex mu;
  ProgressReporter reporter([&] {
    std::lock_guard<std::mutex> lock(mu);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return fmt::format("{}: {} ({})", what, progress, HumanDuration(secs));
  });
  for (auto delay = std::chrono::milliseconds(200);; delay = std::min(delay * 2, kMaxPoll)) {
    std::string p;
    auto finished = done(&p);
    if (!finished.ok()) return finished.status().Wrap(what);
    {
      std::lock_guard<std::mutex> lock(mu);
      progress = p;
    }
    if (*finished) return Status::Ok();
    if (std::chrono::steady_clock::now() > deadline)
      return Status::Error(fmt::format(
          "{}: still {} after {} (upgrade.wait_timeout); run `db_relocate run` again to keep "
          "waiting",
          what, p, HumanDuration(static_cast<double>(timeout_s))));
    std::this_thread::sleep_for(delay);
  }
}

Status WaitForInstance(aws::Rds& rds, const std::string& id, int64_t timeout_s,
                       aws::DbInstance* out) {
  return WaitForAws("instance " + id, timeout_s, [&](std::string* progress) -> Result<bool> {
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
  });
}

Status WaitForSnapshot(aws::Rds& rds, const std::string& id, const std::string& engine_version,
                       int64_t timeout_s) {
  return WaitForAws("snapshot " + id, timeout_s, [&](std::string* progress) -> Result<bool> {
    auto s = rds.DescribeSnapshot(id);
    if (!s.ok()) return s.status();
    *progress =
        fmt::format("{} {}%, PostgreSQL {}", s->status, s->percent_progress, s->engine_version);
    if (s->status == "failed" || s->status == "incompatible-restore")
      return Status::Error("AWS reports the snapshot " + s->status);
    return s->status == "available" &&
           (engine_version.empty() || s->engine_version == engine_version);
  });
}

}  // namespace dbr
