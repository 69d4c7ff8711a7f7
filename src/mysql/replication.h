// MySQL replication from the source into the destination (issue #25): the replication user on
// the source, and on the destination a replication of its own (MariaDB: a named connection;
// MySQL: a channel; named `channel`, mysql/servers.h's Names), started at an exact binary log
// position and limited to the relocated databases; its state, and the wait until it has applied
// what the source wrote.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "mariadb/connection.h"
#include "mysql/dialect.h"
#include "util/status.h"

namespace dbr::mysql {

// `user` on the source with `password` and REPLICATION SLAVE; its password set again when it
// exists.
Status EnsureReplicationUser(mariadb::Connection& source, const std::string& user,
                             const std::string& password);

// Whether an account named `user` exists on the source (any host).
Result<bool> ReplicationUserExists(mariadb::Connection& source, const std::string& user);

// The destination replicates from `source` through `channel` starting at `from`, applying only
// the tables of
// `databases` (named as on the destination), after `rewrite` when given. A replication of that
// name already there is replaced. On MariaDB it starts at `from`'s GTID (the server's
// gtid_slave_pos, which it keeps in a table in step with what it applied, so a crash of the
// server neither loses nor repeats a transaction), unless the server has another replication
// connection (gtid_slave_pos is server-wide) or runs gtid_strict_mode (which refuses a
// gtid_slave_pos behind its own binary log, as the way back's is). Otherwise at `from`'s file
// and offset.
Status StartReplication(mariadb::Connection& destination, const std::string& channel,
                        const SourceEndpoint& source, const BinlogPosition& from,
                        const std::vector<std::string>& databases,
                        const std::optional<DatabaseRewrite>& rewrite);

// The filter StartReplication sets, set again on the existing replication (stopped for it, then
// started where it was): MariaDB keeps it in memory only, and a restarted destination starts its
// replication without it, applying the source's other databases, not renamed.
Status RestoreFilter(mariadb::Connection& destination, const std::string& channel,
                     const std::vector<std::string>& databases,
                     const std::optional<DatabaseRewrite>& rewrite);

struct OtherReplication {
  std::string name, source_host;
  int source_port = 0;
  bool by_gtid = false;     // as ReplicaState::by_gtid
  std::string gtid_io_pos;  // ReplicaStatusColumns::gtid_io_pos

  // Whether it follows `server`, by address (as the config names the server and as this
  // replication was told it). A server follows a source once: MariaDB refuses a second
  // connection to it (error 1934), MySQL a second channel.
  bool Follows(const ServerConfig& server) const;
  // Its name, or "its default connection" (MariaDB's unnamed one), for messages.
  std::string Called() const;
};
// The replications into `replica` but `channel`: other relocations', or the server's own.
Result<std::vector<OtherReplication>> OtherReplications(mariadb::Connection& replica,
                                                        const std::string& channel);
// The one of `others` that follows `server` (there is at most one), or null.
const OtherReplication* Following(const std::vector<OtherReplication>& others,
                                  const ServerConfig& server);

// "" when a replication `channel` into `replica` can start at a GTID (see StartReplication);
// else why not.
Result<std::string> WhyNotByGtid(mariadb::Connection& replica, const std::string& channel);

// This server's replication `channel` stopped and forgotten, when it has one; whether it had.
Result<bool> RemoveReplication(mariadb::Connection& replica, const std::string& channel);

struct ReplicaState {
  bool exists = false;
  bool receiving = false;  // the I/O thread runs (or is connecting)
  bool applying = false;   // the SQL thread
  bool by_gtid = false;    // positioned by GTID (MariaDB's Using_Gtid, MySQL's Auto_Position)
  bool complete = false;   // its table filter is set: StartReplication made it whole
  BinlogPosition applied;  // the source's position the destination has applied up to
  int64_t seconds_behind = -1;
  std::string error;  // the last receiving or applying error, as the server gives it
};

Result<ReplicaState> ReadReplica(mariadb::Connection& destination, const std::string& channel);

// The source's binary log position now.
Result<BinlogPosition> SourcePositionNow(mariadb::Connection& source);

// `at` of `server`'s binary log with the GTID position there (MariaDB; as it is on MySQL).
Result<BinlogPosition> WithGtid(mariadb::Connection& server, BinlogPosition at);

// Whether `server` logged changes of its own after `from`: row events or statements carrying its
// server_id; not the events it logs when it starts or rotates, nor what it applied as a replica
// (those carry their origin's). A restart alone moves its binary log to a new file.
Result<bool> WroteOwnChangesSince(mariadb::Connection& server, const BinlogPosition& from);

// Bytes of the source's binary log written after `applied` (what the destination has still to
// apply), over every file from there to the newest.
Result<int64_t> LagBytes(mariadb::Connection& source, const BinlogPosition& applied);

// Waits until the destination's replication `channel` has applied the source's binary log up to
// `to`; an error naming the replication's own error when it stops, or after `timeout`.
Status WaitApplied(mariadb::Connection& destination, const std::string& channel,
                   const BinlogPosition& to, std::chrono::seconds timeout);

}  // namespace dbr::mysql
