#include "mysql/replication.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/fault.h"
#include "util/log.h"
#include "util/parse.h"

namespace dbr::mysql {
namespace {

// MariaDB's Using_Gtid (Slave_Pos, Current_Pos or No), MySQL's Auto_Position (1 or 0).
bool UsesGtid(const std::string& column) {
  return column == "Slave_Pos" || column == "Current_Pos" || column == "1";
}

}  // namespace

bool OtherReplication::Follows(const ServerConfig& server) const {
  ServerConfig followed;
  followed.host = source_host;
  followed.port = source_port;
  return followed.Address() == server.Address();
}

std::string OtherReplication::Called() const {
  return name.empty() ? "its default connection" : name;
}

Result<std::vector<OtherReplication>> OtherReplications(mariadb::Connection& replica,
                                                        const std::string& channel) {
  const Dialect dialect = DialectOf(replica);
  const ReplicaStatusColumns& col = dialect.StatusColumns();
  DBR_ASSIGN_OR_RETURN(mariadb::Rows rows, replica.Query(dialect.ShowAllReplicas()));
  std::vector<OtherReplication> out;
  for (int i = 0; i < rows.rows(); ++i) {
    auto get = [&](const char* column) {
      const int at = rows.Column(column);
      return at < 0 ? std::string() : rows.Get(i, at);
    };
    OtherReplication r{get(col.name), get(col.source_host),
                       static_cast<int>(ParseInt(get(col.source_port)).value_or(0))};
    if (r.name == channel) continue;
    r.by_gtid = UsesGtid(get(col.using_gtid));
    r.gtid_io_pos = get(col.gtid_io_pos);
    out.push_back(std::move(r));
  }
  return out;
}

const OtherReplication* Following(const std::vector<OtherReplication>& others,
                                  const ServerConfig& server) {
  for (const OtherReplication& other : others)
    if (other.Follows(server)) return &other;
  return nullptr;
}

Result<std::string> WhyNotByGtid(mariadb::Connection& replica, const std::string& channel) {
  if (!DialectOf(replica).StartsAtGtid())
    return std::string("by file and offset: MySQL's auto-positioning is not used");
  DBR_ASSIGN_OR_RETURN(const std::vector<OtherReplication> others,
                       OtherReplications(replica, channel));
  if (!others.empty())
    return fmt::format(
        "by file and offset: the {} has {} other replication connection(s), and "
        "gtid_slave_pos is server-wide",
        replica.params().label, others.size());
  DBR_ASSIGN_OR_RETURN(std::string strict, replica.QueryValue("SELECT @@GLOBAL.gtid_strict_mode"));
  if (strict == "1")
    return fmt::format(
        "by file and offset: the {} runs gtid_strict_mode, which refuses a gtid_slave_pos "
        "behind its own binary log",
        replica.params().label);
  return std::string();
}

Status EnsureReplicationUser(mariadb::Connection& source, const std::string& user,
                             const std::string& password) {
  const std::string account = source.Literal(user) + "@'%'";
  DBR_RETURN_IF_ERROR(source.ExecSensitive("CREATE USER IF NOT EXISTS " + account +
                                           " IDENTIFIED BY " + source.Literal(password)));
  DBR_RETURN_IF_ERROR(
      source.ExecSensitive("ALTER USER " + account + " IDENTIFIED BY " + source.Literal(password)));
  return source.Exec("GRANT REPLICATION SLAVE ON *.* TO " + account);
}

Result<bool> ReplicationUserExists(mariadb::Connection& source, const std::string& user) {
  DBR_ASSIGN_OR_RETURN(int64_t n, source.QueryInt("SELECT COUNT(*) FROM mysql.user WHERE User = " +
                                                  source.Literal(user)));
  return n > 0;
}

Result<bool> RemoveReplication(mariadb::Connection& replica, const std::string& channel) {
  DBR_ASSIGN_OR_RETURN(ReplicaState existing, ReadReplica(replica, channel));
  if (!existing.exists) return false;
  const Dialect dialect = DialectOf(replica);
  DBR_RETURN_IF_ERROR(replica.Exec(dialect.StopReplica(channel)));
  DBR_RETURN_IF_ERROR(replica.Exec(dialect.ForgetReplica(channel)));
  return true;
}

namespace {

Status SetFilter(mariadb::Connection& destination, const Dialect& dialect,
                 const std::string& channel, const std::vector<std::string>& databases,
                 const std::optional<DatabaseRewrite>& rewrite) {
  for (const std::string& sql : dialect.FilterToDatabases(channel, databases, rewrite))
    DBR_RETURN_IF_ERROR(destination.Exec(sql).Wrap(
        rewrite ? fmt::format("replicating database {} as {} (dst.name differs from src.name)",
                              rewrite->from, rewrite->to)
                : "limiting the replication to the relocated database"));
  return Status::Ok();
}

}  // namespace

Status RestoreFilter(mariadb::Connection& destination, const std::string& channel,
                     const std::vector<std::string>& databases,
                     const std::optional<DatabaseRewrite>& rewrite) {
  log::warn(
      "the {}'s replication {} runs without its filter (the server restarted: MariaDB keeps the "
      "filter in memory only): set again, it goes on from where it is. Meanwhile it applied the "
      "other databases of the server it follows too; run the {} with skip_slave_start to keep it "
      "from starting unfiltered",
      destination.params().label, channel, destination.params().label);
  const Dialect dialect = DialectOf(destination);
  DBR_RETURN_IF_ERROR(destination.Exec(dialect.StopReplica(channel)));
  DBR_RETURN_IF_ERROR(SetFilter(destination, dialect, channel, databases, rewrite));
  return destination.Exec(dialect.StartReplica(channel));
}

Status StartReplication(mariadb::Connection& destination, const std::string& channel,
                        const SourceEndpoint& source, const BinlogPosition& from,
                        const std::vector<std::string>& databases,
                        const std::optional<DatabaseRewrite>& rewrite) {
  const Dialect dialect = DialectOf(destination);
  DBR_RETURN_IF_ERROR(RemoveReplication(destination, channel).status());
  DBR_ASSIGN_OR_RETURN(std::string not_by_gtid, WhyNotByGtid(destination, channel));
  if (not_by_gtid.empty() && from.gtid.empty())
    not_by_gtid = "by file and offset: the source gave no GTID position there";
  const bool by_gtid = not_by_gtid.empty();
  if (by_gtid)
    DBR_RETURN_IF_ERROR(
        destination.Exec(dialect.StartAtGtid(from)).Wrap("setting gtid_slave_pos to " + from.gtid));
  DBR_RETURN_IF_ERROR(
      destination.ExecSensitive(dialect.ChangeSource(channel, source, from, by_gtid))
          .Wrap("setting up the replication from the source"));
  CrashPoint("mysql-replication:unfiltered");
  DBR_RETURN_IF_ERROR(SetFilter(destination, dialect, channel, databases, rewrite));
  DBR_RETURN_IF_ERROR(destination.Exec(dialect.StartReplica(channel)));
  log::info("the {} replicates from {}:{} starting at {} ({})", destination.params().label,
            source.host, source.port, from.Display(), by_gtid ? "GTID " + from.gtid : not_by_gtid);
  return Status::Ok();
}

Result<ReplicaState> ReadReplica(mariadb::Connection& destination, const std::string& channel) {
  const Dialect dialect = DialectOf(destination);
  auto rows = destination.Query(dialect.ShowReplicaStatus(channel));
  ReplicaState state;
  // MariaDB: error 1617 (there is no master connection of that name); MySQL: 3074 (no channel).
  if (!rows.ok()) {
    if (rows.message().find("error 1617") != std::string::npos ||
        rows.message().find("error 3074") != std::string::npos)
      return state;
    return rows.status();
  }
  if (rows->rows() == 0) return state;
  const ReplicaStatusColumns& col = dialect.StatusColumns();
  auto get = [&](const char* name) {
    const int i = rows->Column(name);
    return i < 0 ? std::string() : rows->Get(0, i);
  };
  state.exists = true;
  state.receiving = get(col.io_running) != "No";  // or "Connecting", which it retries
  state.applying = get(col.sql_running) == "Yes";
  state.by_gtid = UsesGtid(get(col.using_gtid));
  state.complete = !get(col.wild_do_table).empty();
  state.applied = {get(col.exec_file), ParseInt(get(col.exec_offset)).value_or(0)};
  state.seconds_behind = ParseInt(get(col.seconds_behind)).value_or(-1);
  const std::string sql_error = get(col.last_sql_error), io_error = get(col.last_io_error);
  state.error = !sql_error.empty() ? sql_error : io_error;
  return state;
}

Result<BinlogPosition> SourcePositionNow(mariadb::Connection& source) {
  const Dialect dialect = DialectOf(source);
  DBR_ASSIGN_OR_RETURN(mariadb::Rows rows, source.Query(dialect.ShowSourcePosition()));
  if (rows.rows() == 0 || rows.Column("File") < 0)
    return Status::Error("the source shows no binary log position (is log_bin on?)");
  BinlogPosition p{rows.Get(0, rows.Column("File")),
                   ParseInt(rows.Get(0, rows.Column("Position"))).value_or(0)};
  if (const int gtid = rows.Column("Executed_Gtid_Set"); gtid >= 0) p.gtid = rows.Get(0, gtid);
  return p;
}

Result<BinlogPosition> WithGtid(mariadb::Connection& server, BinlogPosition at) {
  const Dialect dialect = DialectOf(server);
  if (!dialect.StartsAtGtid()) return at;
  DBR_ASSIGN_OR_RETURN(at.gtid, server.QueryValue(dialect.GtidAt(at)));
  return at;
}

Result<bool> WroteOwnChangesSince(mariadb::Connection& server, const BinlogPosition& from) {
  DBR_ASSIGN_OR_RETURN(const std::string own_id, server.QueryValue("SELECT @@server_id"));
  DBR_ASSIGN_OR_RETURN(mariadb::Rows logs, server.Query("SHOW BINARY LOGS"));
  constexpr int kPage = 1000;
  for (int i = 0; i < logs.rows(); ++i) {
    const BinlogPosition end{logs.Get(i, 0), ParseInt(logs.Get(i, 1)).value_or(0)};
    if (end.file != from.file && end < from) continue;
    const std::string at = end.file == from.file ? fmt::format(" FROM {}", from.offset) : "";
    for (int skip = 0;; skip += kPage) {
      DBR_ASSIGN_OR_RETURN(mariadb::Rows events,
                           server.Query(fmt::format("SHOW BINLOG EVENTS IN {}{} LIMIT {}, {}",
                                                    server.Literal(end.file), at, skip, kPage)));
      const int type = events.Column("Event_type"), origin = events.Column("Server_id"),
                info = events.Column("Info");
      for (int e = 0; e < events.rows(); ++e) {
        if (events.Get(e, origin) != own_id) continue;
        const std::string& kind = events.Get(e, type);
        const std::string& what = events.Get(e, info);
        const bool rows = kind.find("_rows") != std::string::npos && kind != "Annotate_rows";
        const bool statement =
            kind == "Query" && what.rfind("BEGIN", 0) != 0 && what.rfind("COMMIT", 0) != 0;
        if (rows || statement) return true;
      }
      if (events.rows() < kPage) break;
    }
  }
  return false;
}

Result<int64_t> LagBytes(mariadb::Connection& source, const BinlogPosition& applied) {
  DBR_ASSIGN_OR_RETURN(mariadb::Rows logs, source.Query("SHOW BINARY LOGS"));
  int64_t lag = 0;
  for (int i = 0; i < logs.rows(); ++i) {
    const BinlogPosition end{logs.Get(i, 0), ParseInt(logs.Get(i, 1)).value_or(0)};
    if (end.file == applied.file)
      lag += std::max<int64_t>(0, end.offset - applied.offset);
    else if (applied < end)
      lag += end.offset;
  }
  return lag;
}

Status WaitApplied(mariadb::Connection& destination, const std::string& channel,
                   const BinlogPosition& to, std::chrono::seconds timeout) {
  const Dialect dialect = DialectOf(destination);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    // 1 s at a time, so that a replication that stops is noticed.
    DBR_ASSIGN_OR_RETURN(std::string waited,
                         destination.QueryValue(dialect.WaitForPosition(channel, to, 1)));
    if (!waited.empty() && waited != "-1") return Status::Ok();
    DBR_ASSIGN_OR_RETURN(ReplicaState state, ReadReplica(destination, channel));
    if (!state.exists) return Status::Error("the destination has no replication from the source");
    if (!state.receiving || !state.applying)
      return Status::Error(fmt::format(
          "the destination's replication stopped at the source's {}: {}", state.applied.Display(),
          state.error.empty() ? "no error given (stopped by hand?)" : state.error));
    if (std::chrono::steady_clock::now() >= deadline)
      return Status::Error(fmt::format(
          "the destination applied the source's binary log up to {} and not yet {} after {} s{}",
          state.applied.Display(), to.Display(), timeout.count(),
          state.error.empty() ? "" : " (" + state.error + ")"));
  }
}

}  // namespace dbr::mysql
