// The logical replication protocol commands db_relocate needs, over a replication=database
// connection.
#pragma once

#include <string>
#include <vector>

#include "pg/connection.h"
#include "pg/lsn.h"

namespace dbr::pg {

struct CreatedSlot {
  std::string slot_name;
  Lsn consistent_point;  // the first change the slot will stream
  std::string snapshot;  // exported snapshot: the data exactly as of consistent_point
};

// CREATE_REPLICATION_SLOT ... LOGICAL pgoutput EXPORT_SNAPSHOT. The exported snapshot stays
// usable only while `conn` stays open and runs nothing else, so callers keep it idle until
// every reader has imported the snapshot.
Result<CreatedSlot> CreateLogicalSlotExportingSnapshot(Connection& conn, const std::string& slot);

// What making a logical slot on `conn`'s server waits for: every transaction holding a
// transaction id when it starts, in any database, prepared ones included, has to end first.
struct SlotWaits {
  std::vector<std::string> prepared;      // "'gid' in database d (prepared 2026-...)"
  std::vector<std::string> long_running;  // "pid N (user u) in database d, running for 00:12:03"
};
// `running_longer_than` bounds which of the running ones are named (every prepared one is).
// `conn` is a normal (not a replication) connection.
Result<SlotWaits> WhatASlotWaitsFor(Connection& conn, int running_longer_than_seconds);

// IDENTIFY_SYSTEM's systemid: the server's system_identifier, as pg_control_system() tells it.
Result<std::string> IdentifySystem(Connection& conn);

}  // namespace dbr::pg
