// Inside the heartbeat writer: every few seconds, records the replication lag (bytes from the
// slot, seconds from the newest heartbeat on the replica) and the age of the newest heartbeat on
// the primary as samples (report/samples.h), and warns in the writer's log while the slot nears
// invalidation or is lost: the writer is the one process that lives as long as the relocation.
// Its own thread and connections, so a slow or unreachable replica never holds up the
// heartbeat's inserts.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "engine/replication_health.h"
#include "model/names.h"
#include "model/samples.h"
#include "pg/connection.h"
#include "util/periodic_task.h"

namespace dbr {

constexpr std::chrono::milliseconds kLagSamplePeriod{5000};
// A slot warning that lasts is logged again this often.
constexpr std::chrono::seconds kSlotWarningRepeat{60};

// Records the lag `h` shows (what of it is known) as a "lag" sample.
Status RecordLag(SampleRecorder& recorder, const ReplicationHealth& h,
                 std::chrono::milliseconds min_gap = std::chrono::milliseconds(0));

class LagSampler {
 public:
  LagSampler(const Config& config, std::chrono::milliseconds period = kLagSamplePeriod);
  ~LagSampler();

 private:
  void SampleOnce();
  void WarnAboutSlot(const ReplicationHealth& h, const names::Link& link);

  Config config_;
  names::Links links_;
  SampleRecorder recorder_;
  std::optional<Side> primary_side_;  // unset until the first sample
  std::optional<pg::Connection> primary_, replica_;
  // The slot warning last logged: "<slot> near" or "<slot> lost", empty when none.
  std::string slot_trouble_;
  std::chrono::steady_clock::time_point slot_trouble_logged_at_;
  std::unique_ptr<PeriodicTask> task_;  // last: stopped before the rest goes
};

}  // namespace dbr
