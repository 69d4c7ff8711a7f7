// Inside the heartbeat writer: every few seconds, records the replication lag (bytes from the
// slot, seconds from the newest heartbeat on the replica) and the age of the newest heartbeat on
// the primary as samples (report/samples.h), and warns in the writer's log while the slot nears
// invalidation or is lost: the writer is the one process that lives as long as the relocation.
// Its own thread and connections, so a slow or unreachable replica never holds up the
// heartbeat's inserts.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "engine/heartbeat.h"
#include "engine/replication_health.h"
#include "model/names.h"
#include "model/samples.h"
#include "model/timings.h"
#include "util/clock.h"
#include "util/periodic_task.h"

namespace dbr {

// Records the lag `h` shows (what of it is known) as a "lag" sample.
Status RecordLag(SampleRecorder& recorder, const ReplicationHealth& h,
                 std::chrono::milliseconds min_gap = std::chrono::milliseconds(0));

// What one sample reads: the replication on the lanes into the replica, and the newest heartbeat
// on the primary when it could be read.
struct LagReading {
  ReplicationHealth health;
  std::optional<HeartbeatSample> heartbeat;
};

class LagSampler {
 public:
  // Returns nothing when there is nothing to read (no relocation yet, the primary out of reach).
  using Read = std::function<std::optional<LagReading>()>;

  // Samples the servers of `config` every lag_sampling.period of `clock`.
  explicit LagSampler(const Config& config, Clock& clock = RealClock());
  // Samples what `read` returns instead (tests).
  LagSampler(const Config& config, Read read, Clock& clock);
  ~LagSampler();

 private:
  void SampleOnce();
  void WarnAboutSlot(const ReplicationHealth& h);

  const Timings::LagSampling& timings_ = Timings::Default().lag_sampling;
  Clock& clock_;
  Read read_;
  SampleRecorder recorder_;
  // The slot warning last logged: "<slot> near" or "<slot> lost", empty when none.
  std::string slot_trouble_;
  Clock::TimePoint slot_trouble_logged_at_;
  std::unique_ptr<PeriodicTask> task_;  // last: stopped before the rest goes
};

}  // namespace dbr
