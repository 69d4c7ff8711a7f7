// What `status` shows: the run state as saved and the two servers as read now. ReadStatus does
// all the reading; StatusText and StatusJson only print a view, so they are tested on views built
// by hand.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/ddl_replication.h"
#include "engine/replication_health.h"
#include "engine/schema_drift.h"
#include "model/run_state.h"
#include "model/side.h"
#include "util/status.h"

namespace dbr {

// engine mysql: our replication on the side that follows the primary.
struct BinlogReplicationView {
  std::string name;  // the MariaDB connection / MySQL channel
  bool exists = false;
  bool receiving = false;  // its I/O thread
  bool applying = false;   // its SQL thread
  std::string applied;     // the primary's binary log position applied, "file:offset"
  bool by_gtid = false;    // positioned by GTID (else by file and offset)
  int64_t lag_bytes = -1;  // the primary's binary log written after it
  int64_t seconds_behind = -1;
  std::string error;  // its last error, as the server gives it

  nlohmann::json ToJson() const;
};

struct StatusView {
  // From the run state.
  bool started = false;  // a state was saved; otherwise the fields below are a fresh state's
  std::string state_dir;
  std::string current_step;
  std::string started_at;
  std::map<std::string, StepRecord> steps;
  std::string snapshot_lsn;
  RdsState rds;                                 // phase kNone unless provider rds
  std::map<std::string, TableProgress> tables;  // key: quoted "schema"."table"
  std::vector<std::string> notes;
  // Replication runs from the primary into the other side.
  Side primary = Side::kSource;
  std::vector<SwitchRecord> switches;             // finished cut-overs and rollbacks, oldest first
  std::optional<SwitchRecord> unfinished_switch;  // interrupted, or still running

  // From the servers, as they are now.
  std::string source_error;  // why the source could not be reached; empty when it was
  std::string destination_error;
  ReplicationHealth replication;  // of the link from the primary into the other side (for engine
                                  // mysql only its heartbeat fields)
  std::optional<BinlogReplicationView> binlog;  // engine mysql
  std::vector<DriftItem> schema_drift;      // DDL on the primary that replication does not carry
  std::optional<PendingDdl> pending_ddl;    // ddl: replicate: the first statement not applied
  std::optional<int> heartbeat_writer_pid;  // while the detached writer runs
};

// Reads the run state in config.state_dir, then both servers: a server that cannot be reached is
// part of the view (source_error, destination_error); only a state that cannot be read is an
// error.
Result<StatusView> ReadStatus(const Config& config);

std::string StatusText(const StatusView& view);
nlohmann::json StatusJson(const StatusView& view);

}  // namespace dbr
