// The logical replication protocol commands db_relocate needs, over a replication=database
// connection.
#pragma once

#include <string>

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

// IDENTIFY_SYSTEM's systemid: the server's system_identifier, as pg_control_system() tells it.
Result<std::string> IdentifySystem(Connection& conn);

}  // namespace dbr::pg
