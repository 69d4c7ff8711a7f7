// The detached heartbeat writer, the one process that lives as long as the relocation (the
// hidden `heartbeat` command, started by engine/heartbeat.h's EnsureHeartbeatWriter): it inserts
// a heartbeat row every heartbeat_interval seconds where the application writes, samples the
// replication lag (engine/lag_sampler.h) and serves the metrics endpoint.
#pragma once

#include "config/config.h"
#include "util/clock.h"

namespace dbr {

// Returns when told to stop, when the relocation's state is gone, or when the heartbeat table
// has been dropped by cleanup. Waits, and samples the lag, on `clock`.
int RunHeartbeatWriter(const Config& config, Clock& clock = RealClock());

}  // namespace dbr
