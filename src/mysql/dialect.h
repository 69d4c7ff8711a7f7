// The statements engine mysql sends where MariaDB and MySQL 8 differ: replication into the
// destination (a named connection / channel of its own, so a replication the server already has
// is left alone), its filter, its status, the wait for a position, and the brief block of
// commits that puts several snapshot sessions at one point. Chosen by the server's version;
// unit-tested against the statements each server's documentation gives.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mariadb/connection.h"
#include "mariadb/server_version.h"

namespace dbr::mysql {

// A position in the source's binary log: the file and the offset of the next event.
struct BinlogPosition {
  std::string file;
  int64_t offset = 0;
  std::string gtid;  // MariaDB's gtid_binlog_pos / MySQL's gtid_executed there; may be empty

  bool empty() const { return file.empty(); }
  std::string Display() const;  // "binlog.000003:4512"
  // Display()'s text back; nullopt when it is not one.
  static std::optional<BinlogPosition> Parse(std::string_view text);
  // Ordered by file name (the server numbers them), then offset.
  bool operator<(const BinlogPosition& other) const;
};

// The source's database `from` applied as `to` on the replica (dst.name, issue #25).
struct DatabaseRewrite {
  std::string from, to;
};

// Where the destination replicates from.
struct SourceEndpoint {
  std::string host;
  int port = 3306;
  std::string user;
  std::string password;
};

// The column names of the replica status, which MySQL 8 renamed.
struct ReplicaStatusColumns {
  const char* io_running;
  const char* sql_running;
  const char* exec_file;
  const char* exec_offset;
  const char* seconds_behind;
  const char* last_io_error;
  const char* last_sql_error;
  const char* using_gtid;  // MariaDB: Slave_Pos, Current_Pos or No; MySQL: Auto_Position 1 or 0
  const char* wild_do_table;
  const char* name;  // of the connection (MariaDB) or channel (MySQL), in ShowAllReplicas()
  const char* source_host;
  const char* source_port;
  const char* gtid_io_pos;  // MariaDB: the GTIDs received ("domain-server-seq,..."); MySQL: set
};

class Dialect {
 public:
  using Quote = std::function<std::string(std::string_view)>;  // a string literal

  // `quote` makes string literals (Connection::Literal of the server the statements go to).
  Dialect(const mariadb::ServerVersion& version, Quote quote);

  // Replication into this server, on the channel (MySQL) or connection (MariaDB) `channel`,
  // from `from`'s file and offset, or (`by_gtid`, MariaDB only) from the server's
  // gtid_slave_pos, which StartAtGtid sets. Carries the password.
  std::string ChangeSource(std::string_view channel, const SourceEndpoint& source,
                           const BinlogPosition& from, bool by_gtid = false) const;
  // Whether ChangeSource can start at a GTID here. MariaDB: yes (its GTIDs are always on).
  // MySQL: not done (auto-position would send a way back every transaction the destination
  // wrote during the copy, unless its GTIDs were first marked as applied on the other side).
  bool StartsAtGtid() const { return mariadb(); }
  // MariaDB's gtid_slave_pos set to `from`'s GTID (server-wide: every replication connection
  // must be stopped).
  std::string StartAtGtid(const BinlogPosition& from) const;
  // The GTID position at a file and offset of this server's binary log (MariaDB).
  std::string GtidAt(const BinlogPosition& at) const;
  // Only the tables of these databases (named as on this server) are applied; `rewrite` renames
  // one of the source's first (the servers rename before they filter). The table filter is the
  // last statement: a replication that has it is whole (ReplicaState::complete).
  std::vector<std::string> FilterToDatabases(
      std::string_view channel, const std::vector<std::string>& databases,
      const std::optional<DatabaseRewrite>& rewrite = std::nullopt) const;
  std::string StartReplica(std::string_view channel) const;
  std::string StopReplica(std::string_view channel) const;
  std::string ForgetReplica(std::string_view channel) const;  // RESET ... ALL
  std::string ShowReplicaStatus(std::string_view channel) const;
  std::string ShowAllReplicas() const;  // a row per connection or channel
  // The applier alone (the receiver goes on): stopped, started again up to `until` where it
  // stops by itself, or started again with no end.
  std::string StopApplier(std::string_view channel) const;
  std::string StartApplierUntil(std::string_view channel, const BinlogPosition& until) const;
  std::string StartApplier(std::string_view channel) const;
  const ReplicaStatusColumns& StatusColumns() const;
  // Waits up to `seconds` until the channel has applied the source's events up to `to`: the
  // statement returns -1 on timeout, NULL when the channel is not running.
  std::string WaitForPosition(std::string_view channel, const BinlogPosition& to,
                              int seconds) const;

  // The source's current binary log file and offset.
  std::string ShowSourcePosition() const;
  // Commits held (and released) while the snapshot sessions start, so that they all see one
  // point. MariaDB blocks only commits (BACKUP STAGE); MySQL takes the global read lock.
  std::vector<std::string> HoldCommits() const;
  std::vector<std::string> ReleaseCommits() const;

 private:
  mariadb::ServerVersion version_;
  Quote quote_;
  bool mariadb() const { return version_.flavor == mariadb::Flavor::kMariaDb; }
};

// The dialect of the server `c` is connected to, quoting with its Literal().
Dialect DialectOf(mariadb::Connection& c);

}  // namespace dbr::mysql
