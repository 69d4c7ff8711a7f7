// Sessions of the source that all read one consistent snapshot, and the binary log position
// where that snapshot ends: the destination's replication starts exactly there (issue #25).
//
// One session on MariaDB takes no lock at all (START TRANSACTION WITH CONSISTENT SNAPSHOT gives
// binlog_snapshot_file/_position). Several sessions start while the source's commits are held
// for a moment (Dialect::HoldCommits: MariaDB's BACKUP STAGE BLOCK_COMMIT, MySQL's global read
// lock), so that none of them sees a commit another does not; reads go on meanwhile.
#pragma once

#include <vector>

#include "mariadb/connection.h"
#include "mysql/dialect.h"
#include "util/status.h"

namespace dbr::mysql {

// A REPEATABLE READ transaction WITH CONSISTENT SNAPSHOT, read-only, in UTC (TIMESTAMP values).
Status BeginConsistentRead(mariadb::Connection& c);

class ConsistentSnapshot {
 public:
  static Result<ConsistentSnapshot> Take(const mariadb::ConnParams& source, int sessions);

  const BinlogPosition& position() const { return position_; }
  int size() const { return static_cast<int>(sessions_.size()); }
  mariadb::Connection& session(int i) { return sessions_[i]; }

 private:
  std::vector<mariadb::Connection> sessions_;
  BinlogPosition position_;
};

}  // namespace dbr::mysql
