// engine mysql's heartbeat (issue #25): the table `heartbeat` of the relocation's own database
// (mysql/servers.h's RelocationNames) on the source, one row per heartbeat_interval written by the
// detached writer, replicated with the data; and the proof that every heartbeat up to a fresh one
// reached the destination exactly once.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "mariadb/connection.h"
#include "mysql/servers.h"
#include "util/status.h"

namespace dbr::mysql {

// The table, as `database`.heartbeat.
std::string HeartbeatTable(const std::string& database);

// The relocation's own database (`database`) and its heartbeat table on the source.
Status EnsureHeartbeatTable(mariadb::Connection& source, const std::string& database);
// One heartbeat row; its sequence number.
Result<int64_t> InsertHeartbeat(mariadb::Connection& source, const std::string& database);

struct HeartbeatProof {
  int64_t marker = 0;   // the fresh heartbeat waited for
  int64_t checked = 0;  // heartbeats up to it on the source
  int64_t missing = 0;  // of those, absent on the destination
  int64_t extra = 0;    // on the destination up to the marker, never written on the source
  std::string Describe() const;
  bool ok() const { return missing == 0 && extra == 0 && checked > 0; }
};

// Writes a marker heartbeat, waits until the destination has applied the source's binary log
// past it (through the replication `names.channel`), and compares the heartbeats up to it on both
// sides.
Result<HeartbeatProof> ProveHeartbeats(mariadb::Connection& source,
                                       mariadb::Connection& destination,
                                       const RelocationNames& names, std::chrono::seconds timeout);

}  // namespace dbr::mysql
