#include "mysql/dialect.h"

#include <fmt/format.h>

#include <charconv>

#include "mariadb/quote.h"
#include "mysql/database_rename.h"
#include "util/parse.h"
#include "util/text.h"

namespace dbr::mysql {
namespace {

// binlog.000012 → 12; the offset of the name's number decides between two files.
int64_t FileNumber(const std::string& file) {
  const size_t dot = file.rfind('.');
  int64_t n = 0;
  if (dot != std::string::npos)
    std::from_chars(file.data() + dot + 1, file.data() + file.size(), n);
  return n;
}

const ReplicaStatusColumns kMariaDbColumns = {"Slave_IO_Running",
                                              "Slave_SQL_Running",
                                              "Relay_Master_Log_File",
                                              "Exec_Master_Log_Pos",
                                              "Seconds_Behind_Master",
                                              "Last_IO_Error",
                                              "Last_SQL_Error",
                                              "Using_Gtid",
                                              "Replicate_Wild_Do_Table",
                                              "Connection_name",
                                              "Master_Host",
                                              "Master_Port",
                                              "Gtid_IO_Pos"};
const ReplicaStatusColumns kMySqlColumns = {
    "Replica_IO_Running",  "Replica_SQL_Running",   "Relay_Source_Log_File",
    "Exec_Source_Log_Pos", "Seconds_Behind_Source", "Last_IO_Error",
    "Last_SQL_Error",      "Auto_Position",         "Replicate_Wild_Do_Table",
    "Channel_Name",        "Source_Host",           "Source_Port",
    "Retrieved_Gtid_Set"};

}  // namespace

std::string BinlogPosition::Display() const {
  return fmt::format("{}:{}", file, offset);
}

std::optional<BinlogPosition> BinlogPosition::Parse(std::string_view text) {
  const size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const std::optional<int64_t> offset = ParseInt(text.substr(colon + 1), 0);
  if (!offset) return std::nullopt;
  return BinlogPosition{std::string(text.substr(0, colon)), *offset};
}

bool BinlogPosition::operator<(const BinlogPosition& other) const {
  const int64_t a = FileNumber(file), b = FileNumber(other.file);
  return a != b ? a < b : offset < other.offset;
}

Dialect DialectOf(mariadb::Connection& c) {
  return Dialect(c.version(), [&c](std::string_view v) { return c.Literal(v); });
}

Dialect::Dialect(const mariadb::ServerVersion& version, Quote quote)
    : version_(version), quote_(std::move(quote)) {}

std::string Dialect::ChangeSource(std::string_view channel, const SourceEndpoint& s,
                                  const BinlogPosition& from, bool by_gtid) const {
  if (mariadb()) {
    const std::string where =
        by_gtid ? "MASTER_USE_GTID = slave_pos"
                : fmt::format("MASTER_LOG_FILE = {}, MASTER_LOG_POS = {}, MASTER_USE_GTID = no",
                              quote_(from.file), from.offset);
    return fmt::format(
        "CHANGE MASTER {} TO MASTER_HOST = {}, MASTER_PORT = {}, MASTER_USER = {}, "
        "MASTER_PASSWORD = {}, {}",
        quote_(channel), quote_(s.host), s.port, quote_(s.user), quote_(s.password), where);
  }
  // GET_SOURCE_PUBLIC_KEY: caching_sha2_password over a connection without TLS.
  return fmt::format(
      "CHANGE REPLICATION SOURCE TO SOURCE_HOST = {}, SOURCE_PORT = {}, SOURCE_USER = {}, "
      "SOURCE_PASSWORD = {}, SOURCE_LOG_FILE = {}, SOURCE_LOG_POS = {}, "
      "GET_SOURCE_PUBLIC_KEY = 1 FOR CHANNEL {}",
      quote_(s.host), s.port, quote_(s.user), quote_(s.password), quote_(from.file), from.offset,
      quote_(channel));
}

std::vector<std::string> Dialect::FilterToDatabases(
    std::string_view channel, const std::vector<std::string>& databases,
    const std::optional<DatabaseRewrite>& rewrite) const {
  std::vector<std::string> patterns;
  for (const auto& db : databases) patterns.push_back(LikePattern(db) + ".%");
  if (mariadb()) {
    std::vector<std::string> statements;
    if (rewrite)
      statements.push_back(fmt::format("SET GLOBAL {}.replicate_rewrite_db = {}",
                                       mariadb::QuoteIdent(channel),
                                       quote_(rewrite->from + "->" + rewrite->to)));
    statements.push_back(fmt::format("SET GLOBAL {}.replicate_wild_do_table = {}",
                                     mariadb::QuoteIdent(channel), quote_(Join(patterns, ","))));
    return statements;
  }
  std::vector<std::string> quoted;
  for (const auto& p : patterns) quoted.push_back(quote_(p));
  const std::string renamed =
      rewrite ? fmt::format(", REPLICATE_REWRITE_DB = (({}, {}))",
                            mariadb::QuoteIdent(rewrite->from), mariadb::QuoteIdent(rewrite->to))
              : "";
  return {fmt::format("CHANGE REPLICATION FILTER REPLICATE_WILD_DO_TABLE = ({}){} FOR CHANNEL {}",
                      Join(quoted, ", "), renamed, quote_(channel))};
}

std::string Dialect::StartAtGtid(const BinlogPosition& from) const {
  return "SET GLOBAL gtid_slave_pos = " + quote_(from.gtid);
}

std::string Dialect::GtidAt(const BinlogPosition& at) const {
  return fmt::format("SELECT BINLOG_GTID_POS({}, {})", quote_(at.file), at.offset);
}

std::string Dialect::StartReplica(std::string_view channel) const {
  return mariadb() ? fmt::format("START SLAVE {}", quote_(channel))
                   : fmt::format("START REPLICA FOR CHANNEL {}", quote_(channel));
}

std::string Dialect::StopReplica(std::string_view channel) const {
  return mariadb() ? fmt::format("STOP SLAVE {}", quote_(channel))
                   : fmt::format("STOP REPLICA FOR CHANNEL {}", quote_(channel));
}

std::string Dialect::StopApplier(std::string_view channel) const {
  return mariadb() ? fmt::format("STOP SLAVE {} SQL_THREAD", quote_(channel))
                   : fmt::format("STOP REPLICA SQL_THREAD FOR CHANNEL {}", quote_(channel));
}

std::string Dialect::StartApplierUntil(std::string_view channel,
                                       const BinlogPosition& until) const {
  if (mariadb())
    return fmt::format("START SLAVE {} SQL_THREAD UNTIL MASTER_LOG_FILE = {}, MASTER_LOG_POS = {}",
                       quote_(channel), quote_(until.file), until.offset);
  return fmt::format(
      "START REPLICA SQL_THREAD UNTIL SOURCE_LOG_FILE = {}, SOURCE_LOG_POS = {} FOR CHANNEL {}",
      quote_(until.file), until.offset, quote_(channel));
}

std::string Dialect::StartApplier(std::string_view channel) const {
  return mariadb() ? fmt::format("START SLAVE {} SQL_THREAD", quote_(channel))
                   : fmt::format("START REPLICA SQL_THREAD FOR CHANNEL {}", quote_(channel));
}

std::string Dialect::ForgetReplica(std::string_view channel) const {
  return mariadb() ? fmt::format("RESET SLAVE {} ALL", quote_(channel))
                   : fmt::format("RESET REPLICA ALL FOR CHANNEL {}", quote_(channel));
}

std::string Dialect::ShowReplicaStatus(std::string_view channel) const {
  return mariadb() ? fmt::format("SHOW SLAVE {} STATUS", quote_(channel))
                   : fmt::format("SHOW REPLICA STATUS FOR CHANNEL {}", quote_(channel));
}

std::string Dialect::ShowAllReplicas() const {
  return mariadb() ? "SHOW ALL SLAVES STATUS" : "SHOW REPLICA STATUS";
}

const ReplicaStatusColumns& Dialect::StatusColumns() const {
  return mariadb() ? kMariaDbColumns : kMySqlColumns;
}

std::string Dialect::WaitForPosition(std::string_view channel, const BinlogPosition& to,
                                     int seconds) const {
  return fmt::format("SELECT {}({}, {}, {}, {})", mariadb() ? "MASTER_POS_WAIT" : "SOURCE_POS_WAIT",
                     quote_(to.file), to.offset, seconds, quote_(channel));
}

std::string Dialect::ShowSourcePosition() const {
  // MySQL 8.2 renamed SHOW MASTER STATUS (and 8.4 removed the old name).
  const bool renamed =
      !mariadb() && (version_.major > 8 || (version_.major == 8 && version_.minor >= 2));
  return renamed ? "SHOW BINARY LOG STATUS" : "SHOW MASTER STATUS";
}

std::vector<std::string> Dialect::HoldCommits() const {
  if (mariadb()) return {"BACKUP STAGE START", "BACKUP STAGE BLOCK_COMMIT"};
  return {"FLUSH TABLES WITH READ LOCK"};
}

std::vector<std::string> Dialect::ReleaseCommits() const {
  if (mariadb()) return {"BACKUP STAGE END"};
  return {"UNLOCK TABLES"};
}

}  // namespace dbr::mysql
