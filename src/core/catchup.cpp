// Step 6: wait until the destination has applied the changes made on the source since the
// snapshot, down to `catchup_lag_bytes`, showing the lag as it drains.
#include <fmt/format.h>

#include <chrono>
#include <mutex>
#include <thread>

#include "core/lag_sampler.h"
#include "core/replication_health.h"
#include "core/steps.h"
#include "util/log.h"
#include "util/progress.h"

namespace dbr::steps {

Status CatchUp(RunContext& ctx) {
  const auto started = std::chrono::steady_clock::now();
  const auto deadline = started + std::chrono::seconds(ctx.config.catchup_timeout);
  std::mutex mu;
  ReplicationHealth last;
  int64_t first_errors = -1;
  bool warned_slot = false;
  Status result;
  SampleRecorder samples(ctx.store.dir(), "run");
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
      // A server restarted meanwhile: reconnect (bounded retries), then carry on waiting.
      if (Status st = ctx.Reconnect(); !st.ok()) {
        result = st;
        break;
      }
      ReplicationHealth h = ReadReplicationHealth(&*ctx.src, &*ctx.dst);
      {
        std::lock_guard<std::mutex> lock(mu);
        last = h;
      }
      (void)RecordLag(samples, h, std::chrono::seconds(2));
      if (first_errors < 0) first_errors = h.apply_errors;
      if (!h.source_read || !h.destination_read) {
        log::warn("lost the connection to the {} during catch-up; reconnecting",
                  h.source_read ? "destination" : "source");
      } else if (!h.subscription_exists || !h.subscription_enabled) {
        // A destination that crashed with asynchronous commit can lose the subscription's
        // creation or its ENABLE; bring it back the way the subscription step made it.
        log::warn("the subscription on the destination is {}: setting it up again",
                  h.subscription_exists ? "disabled" : "missing");
        if (Status st = Subscribe(ctx); !st.ok()) {
          result = st;
          break;
        }
      } else if (!h.slot_exists) {
        result = Status::Error(
            "replication slot is missing on the source: changes since the "
            "snapshot are lost; run `db_relocate cleanup` and start again");
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
            "`db_relocate cleanup` and start again");
        break;
      }
      if (h.source_read && h.destination_read && h.lag_bytes >= 0 &&
          h.lag_bytes <= ctx.config.catchup_lag_bytes && h.tables_not_ready == 0 &&
          h.apply_worker_running)
        break;
      if (std::chrono::steady_clock::now() > deadline) {
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
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
  if (result.ok()) log::info("caught up: lag {} bytes", last.lag_bytes);
  return result;
}

}  // namespace dbr::steps
