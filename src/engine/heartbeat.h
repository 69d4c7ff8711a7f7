// The heartbeat: a detached writer inserts a numbered, timestamped row into
// db_relocate.heartbeat on the primary (the source until cut-over) every `heartbeat_interval`
// seconds for as long as the relocation lives. The table is replicated like any other, so the
// destination's newest row gives the lag in seconds, and every row must arrive: a row missing or
// doubled means data was lost or applied twice.
#pragma once

#include <optional>
#include <string>

#include "config/config.h"
#include "model/names.h"
#include "model/run_context.h"
#include "model/run_state.h"
#include "pg/connection.h"

namespace dbr {

// db_relocate.heartbeat, quoted.
std::string HeartbeatTable();
Status EnsureHeartbeatTable(pg::Connection& src);
// The table `verify` writes its markers to for `lane` (lane 1's is created with the heartbeat
// table, so it is published and copied like it; verify makes the others' when it needs them).
Status EnsureVerifyMarkerTable(pg::Connection& conn, int lane = 1);
// That table, quoted.
std::string LaneMarkerTable(int lane);
// `lane`'s marker table on both sides, in its publication and known to its subscription
// (relocations set up before verify existed, and lanes after the first, get it here). A row
// written there reaches the receiver in that lane's stream: verify and the switch mark a point of
// every lane with one.
Status EnsureLaneMarkerReplicated(pg::Connection& sender, pg::Connection& receiver,
                                  const names::Link& lane);
// Starts the detached writer unless it is already running (it survives this process).
Status EnsureHeartbeatWriter(const Config& config, const StateStore& store);

struct HeartbeatSample {
  int64_t seq = 0;
  std::string written_at;   // the row's source timestamp
  double age_seconds = -1;  // now() on the source minus the row's source timestamp
};
// Newest heartbeat in `conn`'s copy of the table, aged against the source's clock.
Result<std::optional<HeartbeatSample>> LatestHeartbeat(pg::Connection& conn, pg::Connection& src);
std::optional<int> HeartbeatWriterPid(const StateStore& store);
// Tells the detached writer to stop and waits (up to 10 s) until it has.
Status StopHeartbeatWriter(const StateStore& store);

// Step 7: write a marker on the source, wait for it on the destination, then prove that every
// heartbeat up to it arrived exactly once.
Status VerifyHeartbeats(RunContext& ctx);

}  // namespace dbr
