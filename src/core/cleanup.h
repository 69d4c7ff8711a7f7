// Removes what a relocation created, in an order that never leaves a slot retaining WAL without
// a subscription to consume it: the heartbeat writer, the subscription, the slot, the
// publication, the heartbeat schema, the replication user, then the run state. Idempotent: what
// is already gone is skipped. With `dry_run` it only lists what it would drop.
#pragma once

#include <string>
#include <vector>

#include "cloud/cloud.h"
#include "config/config.h"
#include "model/run_state.h"
#include "util/status.h"

namespace dbr {

// Each action as a line ("drop replication slot db_relocate_slot_app on the source").
Result<std::vector<std::string>> CleanupRelocation(const Config& config,
                                                   const CleanupRequest& request);
// engine mysql's (core/mysql_cleanup.cpp): replication, db_relocate's database, the replication
// user it made, the state.
Result<std::vector<std::string>> CleanupMysqlRelocation(const Config& config, bool dry_run);

// Both engines' cleanup, before it drops anything: while a switch is half done, or the proxy
// sends the application somewhere the state does not expect (or cannot be read), each side may
// hold writes the other lacks, and dropping replication could strand them.
Status RefuseWhileSidesDiffer(const Config& config, const RunState& state);
// The proxy keeps sending the application to `primary`; the other database leaves it (a managed
// HAProxy). The action is added to `actions`, and done unless `dry_run`.
Status RetireProxyStandby(const Config& config, Side primary, bool dry_run,
                          std::vector<std::string>& actions);

}  // namespace dbr
