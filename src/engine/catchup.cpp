// Step 6: wait until the destination has applied the changes made on the source since the
// snapshot, down to `catchup_lag_bytes`, showing the lag as it drains.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>
#include <set>

#include "engine/drift_timer.h"
#include "engine/lag_sampler.h"
#include "engine/replication_health.h"
#include "engine/schema_drift.h"
#include "engine/steps.h"
#include "model/timings.h"
#include "util/log.h"
#include "util/progress.h"

namespace dbr::steps {
namespace {

// Watches for DDL run on the source during catch-up (schema_drift.h): each difference is named
// once as it appears; when the apply worker keeps failing while a difference that breaks it is
// there, catch-up stops with the fix instead of waiting out its timeout. The lag alone does not
// show it: the failing transaction may be a few bytes behind, well under catchup_lag_bytes.
class DriftWatch {
 public:
  explicit DriftWatch(Clock& clock) : timer_(clock) {}

  // Whether catch-up must not end yet (drift_timer.h).
  bool HoldsCatchUp() { return timer_.HoldsCatchUp(); }

  Status Check(RunContext& ctx, const ReplicationHealth& h) {
    const bool failing = (last_errors_ >= 0 && h.apply_errors > last_errors_) ||
                         (h.subscription_enabled && !h.apply_worker_running);
    if (h.apply_errors >= 0) last_errors_ = h.apply_errors;
    if (timer_.SchemaReadDue()) {
      auto drift = ReadSchemaDrift(*ctx.src, *ctx.dst, ctx.links.forward, ctx.config);
      if (!drift.ok()) return Status::Ok();  // a lost server is the caller's business
      drift_ = std::move(*drift);
      for (const auto& d : drift_)
        if (warned_.insert(d.ToString()).second)
          log::warn("schema changed on the source during the relocation: {}", d.ToString());
    }
    const bool breaks_apply = std::any_of(drift_.begin(), drift_.end(),
                                          [](const DriftItem& d) { return d.stalls_apply; });
    if (!timer_.Stuck(breaks_apply, failing)) return Status::Ok();
    std::vector<DriftItem> stalling;
    for (const auto& d : drift_)
      if (d.stalls_apply) stalling.push_back(d);
    return NoBlockingDrift(
        stalling,
        "replication is stuck: the destination cannot apply changes because the schema was "
        "changed on the source during the relocation (logical replication does not carry DDL). "
        "Run the fix on the destination, then `db_relocate run` again to resume:");
  }

 private:
  DriftTimer timer_;
  int64_t last_errors_ = -1;
  std::vector<DriftItem> drift_;
  std::set<std::string> warned_;
};

}  // namespace

Status CatchUp(RunContext& ctx) {
  const Timings::CatchUp& timings = Timings::Default().catchup;
  const Clock::TimePoint deadline =
      ctx.clock.Now() + std::chrono::seconds(ctx.config.catchup_timeout);
  std::mutex mu;
  ReplicationHealth last;
  int64_t first_errors = -1;
  bool warned_slot = false;
  DriftWatch drift(ctx.clock);
  Status result;
  SampleRecorder samples(ctx.store.dir(), "run", kDefaultSamplesMaxBytes, ctx.clock);
  {
    ProgressReporter progress([&] {
      std::lock_guard<std::mutex> lock(mu);
      return fmt::format(
          "catch-up: lag {} (slot), heartbeat {}, {} tables still syncing{}",
          last.lag_bytes < 0 ? "?" : HumanBytes(static_cast<double>(last.lag_bytes)),
          last.lag_seconds < 0 ? "not seen yet" : fmt::format("{:.1f} s behind", last.lag_seconds),
          last.tables_not_ready,
          last.apply_errors > 0 ? fmt::format(", {} apply errors", last.apply_errors) : "");
    });
    while (true) {
      // A server restarted meanwhile (noticed by the health reading or by any statement since):
      // reconnect (bounded retries), then carry on waiting.
      for (const auto& [conn, side] : {std::pair{&ctx.src, "source"}, {&ctx.dst, "destination"}})
        if (conn->has_value() && (*conn)->IsBroken())
          log::warn("lost the connection to the {} during catch-up; reconnecting", side);
      if (Status st = ctx.Reconnect(); !st.ok()) {
        result = st;
        break;
      }
      ReplicationHealth h = ReadReplicationHealth(&*ctx.src, &*ctx.dst, ctx.links.forward);
      {
        std::lock_guard<std::mutex> lock(mu);
        last = h;
      }
      (void)RecordLag(samples, h, timings.lag_sample_gap);
      if (first_errors < 0) first_errors = h.apply_errors;
      if (!h.source_read || !h.destination_read) {
        // A lost connection is said and reconnected at the top of the next round.
        const auto& conn = h.source_read ? ctx.dst : ctx.src;
        if (conn.has_value() && !conn->IsBroken())
          log::warn("could not read the replication's health on the {}; trying again",
                    h.source_read ? "destination" : "source");
      } else if (!h.subscription_exists || !h.subscription_enabled) {
        // A destination that crashed with asynchronous commit can lose the subscription's
        // creation or its ENABLE; bring it back the way the subscription step made it.
        log::warn("subscription {} on the destination is {}: setting it up again",
                  h.subscription_name, h.subscription_exists ? "disabled" : "missing");
        if (Status st = Subscribe(ctx); !st.ok()) {
          result = st;
          break;
        }
      } else if (!h.slot_exists) {
        result = Status::Error(fmt::format(
            "replication slot {} is missing on the source: changes since the snapshot are lost; "
            "run `db_relocate cleanup`, empty the destination database (drop and create it), "
            "then `db_relocate run`",
            h.slot_name));
        break;
      }
      if (std::string w = h.SlotWarning();
          !w.empty() && h.slot_wal_status != "lost" && !warned_slot) {
        log::warn("{}", w);
        warned_slot = true;
      }
      if (h.slot_wal_status == "lost") {
        result = Status::Error(
            "the replication slot was invalidated (wal_status lost: max_slot_wal_keep_size "
            "exceeded); the destination cannot catch up. Raise max_slot_wal_keep_size, run "
            "`db_relocate cleanup`, empty the destination database (drop and create it), then "
            "`db_relocate run`");
        break;
      }
      if (h.source_read && h.destination_read && h.subscription_exists) {
        if (Status st = drift.Check(ctx, h); !st.ok()) {
          result = st;
          break;
        }
      }
      if (h.source_read && h.destination_read && h.lag_bytes >= 0 &&
          h.lag_bytes <= ctx.config.catchup_lag_bytes && h.tables_not_ready == 0 &&
          h.apply_worker_running && !drift.HoldsCatchUp())
        break;
      if (ctx.clock.Now() > deadline) {
        result = Status::Error(fmt::format(
            "replication did not catch up within {} s (lag {} bytes, {} tables syncing, apply "
            "worker {}{}); see the destination's server log",
            ctx.config.catchup_timeout, h.lag_bytes, h.tables_not_ready,
            h.apply_worker_running ? "running" : "not running",
            h.apply_errors > first_errors && first_errors >= 0
                ? fmt::format(", {} new apply errors", h.apply_errors - first_errors)
                : ""));
        break;
      }
      ctx.clock.SleepFor(timings.poll);
    }
  }
  if (result.ok()) log::info("caught up: lag {} bytes", last.lag_bytes);
  return result;
}

}  // namespace dbr::steps
