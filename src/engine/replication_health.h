// One reading of the replication between the two sides: what catch-up waits on and what
// `status` shows.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "model/names.h"
#include "pg/connection.h"

namespace dbr {

struct ReplicationHealth {
  bool source_read = false;       // the source answered (otherwise the source fields are unset)
  bool destination_read = false;  // the same for the destination
  // Of the lane read; of several (apply_workers), the first in trouble, else lane 1's. The other
  // fields are the worst of the lanes (the largest lag, every part present and running); the
  // heartbeat travels in lane 1.
  std::string slot_name, subscription_name;
  int lanes = 1;
  // Source: the slot.
  bool slot_exists = false;
  bool slot_active = false;
  std::string slot_wal_status;  // reserved, extended, unreserved, lost
  int64_t lag_bytes = -1;       // source's current WAL minus what the destination confirmed
  int64_t retained_bytes = -1;  // WAL the slot keeps on the source
  // WAL that can still be written before max_slot_wal_keep_size invalidates the slot; -1 when
  // unlimited.
  int64_t safe_wal_bytes = -1;
  // A warning for the operator when the slot is in danger of being invalidated, or empty.
  std::string SlotWarning() const;
  // Destination: the subscription.
  bool subscription_exists = false;
  bool subscription_enabled = false;
  bool apply_worker_running = false;
  int64_t tables_not_ready = 0;  // still in table synchronisation
  int64_t apply_errors = -1;     // PostgreSQL 15+: pg_stat_subscription_stats
  // Heartbeat, on each side.
  int64_t src_heartbeat_seq = -1;
  int64_t dst_heartbeat_seq = -1;
  std::string src_heartbeat_at;  // source timestamps of those rows
  std::string dst_heartbeat_at;
  double lag_seconds = -1;  // age of the newest heartbeat on the destination

  nlohmann::json ToJson() const;
};

// Reads what it can about the lanes of one direction (publisher = the side they send from,
// subscriber = the side they apply on); a side that cannot be reached leaves its fields unset.
ReplicationHealth ReadReplicationHealth(pg::Connection* publisher, pg::Connection* subscriber,
                                        const std::vector<names::Link>& lanes);

}  // namespace dbr
