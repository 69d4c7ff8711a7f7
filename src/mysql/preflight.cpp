#include "mysql/preflight.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "mariadb/quote.h"
#include "mysql/neighbours.h"
#include "mysql/replication.h"
#include "mysql/servers.h"
#include "util/parse.h"
#include "util/progress.h"
#include "util/text.h"

namespace dbr::mysql {
namespace {

using mariadb::Connection;
using mariadb::Flavor;
using mariadb::ServerVersion;

// The oldest releases with what the relocation uses: MariaDB's BINLOG MONITOR privilege and
// BACKUP STAGE; MySQL's CHANGE REPLICATION SOURCE (8.0.23) and SOURCE_POS_WAIT (8.0.26).
const ServerVersion kOldestMariaDb = {Flavor::kMariaDb, 10, 5, 0};
const ServerVersion kOldestMySql = {Flavor::kMySql, 8, 0, 26};

// A copy is planned at no faster than this when judging binary log retention.
constexpr double kSlowCopyBytesPerSecond = 20.0 * 1024 * 1024;

CheckResult Outcome(std::string name, CheckLevel level, std::string detail,
                    std::vector<std::string> objects = {}, std::string hint = "") {
  return {std::move(name), level, std::move(detail), std::move(objects), std::move(hint)};
}

std::string AsciiUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// The server variables the checks read, by name; absent when the server has no such variable.
using Variables = std::map<std::string, std::string>;

Result<Variables> ReadVariables(Connection& c) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows rows,
      c.Query("SHOW GLOBAL VARIABLES WHERE Variable_name IN ('log_bin', 'binlog_format', "
              "'binlog_row_image', 'server_id', 'gtid_mode', 'gtid_domain_id', "
              "'gtid_binlog_pos', 'expire_logs_days', 'binlog_expire_logs_seconds', "
              "'lower_case_table_names', 'read_only')"));
  Variables vars;
  for (int i = 0; i < rows.rows(); ++i) vars[rows.Get(i, 0)] = rows.Get(i, 1);
  return vars;
}

std::string Get(const Variables& vars, const std::string& name) {
  auto it = vars.find(name);
  return it == vars.end() ? "" : it->second;
}

// The domains of a MariaDB GTID position ("0-1-100,2-5-7": 0 and 2), and `also` when not empty.
std::set<std::string> GtidDomains(const std::string& position, const std::string& also) {
  std::set<std::string> domains;
  if (!also.empty()) domains.insert(also);
  size_t from = 0;
  while (from < position.size()) {
    const size_t comma = std::min(position.find(',', from), position.size());
    const std::string gtid = Trim(std::string_view(position).substr(from, comma - from));
    if (const size_t dash = gtid.find('-'); dash != std::string::npos)
      domains.insert(gtid.substr(0, dash));
    from = comma + 1;
  }
  return domains;
}

// One privilege the relocation needs of a side: granted on *.* or on the database, under the
// flavour's name or one of the names that imply it (SUPER, MariaDB's older names).
struct Need {
  const char* why;
  const char* mariadb;  // nullptr: not needed on MariaDB
  const char* mysql;    // nullptr: not needed on MySQL
  std::vector<const char*> also;
  bool on_database = false;  // enough on the relocated database (else *.* only)
  bool grantable = false;    // WITH GRANT OPTION: handed on to the replication user
};

const std::vector<Need> kSourceNeeds = {
    {"read the binary log position",
     "BINLOG MONITOR",
     "REPLICATION CLIENT",
     {"SUPER", "REPLICATION CLIENT"}},
    {"make the replication user", "CREATE USER", "CREATE USER", {}},
    {"give the replication user REPLICATION SLAVE",
     "REPLICATION SLAVE",
     "REPLICATION SLAVE",
     {},
     false,
     true},
    {"read the rows", "SELECT", "SELECT", {}, true},
    {"read views' definitions", "SHOW VIEW", "SHOW VIEW", {}, true},
    {"read triggers", "TRIGGER", "TRIGGER", {}, true},
    {"read events", "EVENT", "EVENT", {}, true},
    {"take the snapshot's position under a brief lock", nullptr, "RELOAD", {"BACKUP_ADMIN"}},
    {"create the db_relocate database (heartbeat)", "CREATE", "CREATE", {}},
    {"replicate the way back after a cut-over",
     "REPLICATION SLAVE ADMIN",
     "REPLICATION_SLAVE_ADMIN",
     {"SUPER"}},
    // MySQL's SHOW REPLICA STATUS takes REPLICATION CLIENT, needed above.
    {"read its replications' state at a cut-over", "SLAVE MONITOR", nullptr, {"SUPER"}},
    {"set read_only at a switch", "READ_ONLY ADMIN", "SYSTEM_VARIABLES_ADMIN", {"SUPER"}},
    {"end the application's sessions at a switch",
     "CONNECTION ADMIN",
     "CONNECTION_ADMIN",
     {"SUPER"}},
};

const std::vector<Need> kDestinationNeeds = {
    {"create the database", "CREATE", "CREATE", {}, true},
    {"load the rows", "INSERT", "INSERT", {}, true},
    {"compare the rows", "SELECT", "SELECT", {}, true},
    {"build indexes", "INDEX", "INDEX", {}, true},
    {"add constraints after the load", "ALTER", "ALTER", {}, true},
    {"create views", "CREATE VIEW", "CREATE VIEW", {}, true},
    {"create routines", "CREATE ROUTINE", "CREATE ROUTINE", {}, true},
    {"create triggers", "TRIGGER", "TRIGGER", {}, true},
    {"create events", "EVENT", "EVENT", {}, true},
    {"give objects their definers", "SET USER", "SET_USER_ID", {"SUPER", "SET_ANY_DEFINER"}},
    {"configure replication", "REPLICATION SLAVE ADMIN", "REPLICATION_SLAVE_ADMIN", {"SUPER"}},
    // MySQL's SHOW REPLICA STATUS takes REPLICATION CLIENT, needed below.
    {"read the replication's state", "SLAVE MONITOR", nullptr, {"SUPER"}},
    {"read the binary log position for the way back",
     "BINLOG MONITOR",
     "REPLICATION CLIENT",
     {"SUPER", "REPLICATION CLIENT"}},
    {"make the replication user for the way back", "CREATE USER", "CREATE USER", {}},
    {"give it REPLICATION SLAVE", "REPLICATION SLAVE", "REPLICATION SLAVE", {}, false, true},
    {"set read_only at a switch", "READ_ONLY ADMIN", "SYSTEM_VARIABLES_ADMIN", {"SUPER"}},
    {"end the application's sessions at a switch",
     "CONNECTION ADMIN",
     "CONNECTION_ADMIN",
     {"SUPER"}},
};

// The grants of the connected user: on *.* and on `database`, and which of them it may hand on.
struct Grants {
  std::string user;  // 'ops'@'%'
  std::set<std::string> global, on_database, grantable;

  bool Has(const Need& need, Flavor flavor) const {
    const char* name = flavor == Flavor::kMariaDb ? need.mariadb : need.mysql;
    if (name == nullptr) return true;
    std::vector<std::string> names = {name};
    for (const char* n : need.also) names.emplace_back(n);
    for (const auto& n : names) {
      if (need.grantable ? grantable.count(n) > 0 : global.count(n) > 0) return true;
      if (need.on_database && on_database.count(n)) return true;
    }
    return false;
  }
};

Result<Grants> ReadGrants(Connection& c, const std::string& database) {
  Grants g;
  DBR_ASSIGN_OR_RETURN(std::string current, c.QueryValue("SELECT CURRENT_USER()"));
  const size_t at = current.rfind('@');
  g.user = at == std::string::npos
               ? c.Literal(current)
               : c.Literal(current.substr(0, at)) + "@" + c.Literal(current.substr(at + 1));
  DBR_ASSIGN_OR_RETURN(mariadb::Rows global,
                       c.Query("SELECT PRIVILEGE_TYPE, IS_GRANTABLE FROM "
                               "information_schema.USER_PRIVILEGES WHERE GRANTEE = " +
                               c.Literal(g.user)));
  for (int i = 0; i < global.rows(); ++i) {
    g.global.insert(global.Get(i, 0));
    if (global.Get(i, 1) == "YES") g.grantable.insert(global.Get(i, 0));
  }
  DBR_ASSIGN_OR_RETURN(mariadb::Rows db,
                       c.Query("SELECT PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES "
                               "WHERE GRANTEE = " +
                               c.Literal(g.user) + " AND TABLE_SCHEMA = " + c.Literal(database)));
  for (int i = 0; i < db.rows(); ++i) g.on_database.insert(db.Get(i, 0));
  return g;
}

// One check of the relocation's needs on a side, with the GRANTs that would meet them.
CheckResult CheckGrants(Connection& c, const std::string& side, const std::string& database,
                        const std::vector<Need>& needs) {
  const std::string name = side + " privileges";
  auto grants = ReadGrants(c, database);
  if (!grants.ok()) return Outcome(name, CheckLevel::kFail, grants.message());
  const Flavor flavor = c.version().flavor;
  std::vector<std::string> missing, global, on_database, grantable;
  for (const Need& need : needs) {
    if (grants->Has(need, flavor)) continue;
    const std::string privilege = flavor == Flavor::kMariaDb ? need.mariadb : need.mysql;
    missing.push_back(fmt::format("{} (to {})", privilege, need.why));
    (need.grantable ? grantable : need.on_database ? on_database : global).push_back(privilege);
  }
  if (missing.empty())
    return Outcome(name, CheckLevel::kPass,
                   fmt::format("{} has every privilege the relocation uses", grants->user));
  std::vector<std::string> statements;
  if (!global.empty())
    statements.push_back(fmt::format("GRANT {} ON *.* TO {};", Join(global, ", "), grants->user));
  if (!on_database.empty())
    statements.push_back(fmt::format("GRANT {} ON {}.* TO {};", Join(on_database, ", "),
                                     mariadb::QuoteIdent(database), grants->user));
  if (!grantable.empty())
    statements.push_back(fmt::format("GRANT {} ON *.* TO {} WITH GRANT OPTION;",
                                     Join(grantable, ", "), grants->user));
  return Outcome(name, CheckLevel::kFail,
                 fmt::format("{} lacks {} of the privileges the relocation uses (granted through a "
                             "role they are not seen: grant them to the user itself)",
                             grants->user, missing.size()),
                 missing, "on the " + side + ": " + Join(statements, " "));
}

class Preflight {
 public:
  Preflight(const Config& config, bool destination_is_ours)
      : config_(config), destination_is_ours_(destination_is_ours) {}

  PreflightReport Run() {
    auto src = Connect(SourceParams(config_), "source connection");
    auto dst = Connect(DestinationParams(config_), "destination connection");
    if (!src || !dst) return std::move(report_);
    auto src_vars = ReadVariables(*src);
    auto dst_vars = ReadVariables(*dst);
    if (!src_vars.ok() || !dst_vars.ok()) {
      Add(Outcome("server settings", CheckLevel::kFail,
                  src_vars.ok() ? dst_vars.message() : src_vars.message()));
      return std::move(report_);
    }
    Add(CompareVersions(src->version(), dst->version()));
    CheckBinaryLog(*src_vars, *dst_vars);
    CheckServerIds(*src_vars, *dst_vars);
    CheckGtid(*src, *dst, *src_vars);
    CheckNameCase(*src_vars, *dst_vars);
    CheckOtherRelocations(*src, *dst);
    CheckOtherReplications(*src, *dst, *src_vars);
    const bool source_database = CheckSourceDatabase(*src);
    Add(CheckGrants(*src, "source", config_.src.name, kSourceNeeds));
    Add(CheckGrants(*dst, "destination", config_.dst.name, kDestinationNeeds));
    if (source_database) {
      CheckRetention(*src, *src_vars);
      CheckPrimaryKeys(*src);
      CheckRenamedDatabase(*src, *dst);
      CheckStorageEngines(*src);
      CheckSchemaObjects(*src);
      CheckDefiners(*src, *dst);
    }
    CheckDestinationDatabase(*dst);
    return std::move(report_);
  }

 private:
  void Add(CheckResult result) { report_.checks.push_back(std::move(result)); }

  std::optional<Connection> Connect(const mariadb::ConnParams& params, const std::string& name) {
    auto conn = Connection::Open(params);
    if (conn.ok()) return std::move(*conn);
    Add(Outcome(name, CheckLevel::kFail, conn.message(), {},
                "check host, port, user and password in the config, and that the server "
                "accepts TCP connections from this machine"));
    return std::nullopt;
  }

  // The source writes every change in full rows to its binary log, and so does the destination
  // (a rollback's way back reads it).
  void CheckBinaryLog(const Variables& src, const Variables& dst) {
    struct Setting {
      const char* variable;
      const char* wanted;
      const char* purpose;
    };
    const Setting kSettings[] = {
        {"log_bin", "ON", "replication reads the binary log"},
        {"binlog_format", "ROW", "replication applies row changes, not statements"},
        {"binlog_row_image", "FULL", "verify and the way back need whole rows"},
    };
    std::vector<std::string> wrong;
    for (const auto& s : kSettings) {
      for (const auto& [side, vars] : {std::pair{"source", &src}, std::pair{"destination", &dst}}) {
        const std::string value = Get(*vars, s.variable);
        if (AsciiUpper(value) != s.wanted)
          wrong.push_back(fmt::format("{} {} = {} (must be {}: {})", side, s.variable,
                                      value.empty() ? "unset" : value, s.wanted, s.purpose));
      }
    }
    if (wrong.empty())
      return Add(Outcome("binary log", CheckLevel::kPass,
                         "log_bin ON, binlog_format ROW, binlog_row_image FULL on both sides"));
    Add(Outcome("binary log", CheckLevel::kFail,
                "the binary log is not set up for row-based replication", wrong,
                "in the server's option file: log_bin, binlog_format=ROW, binlog_row_image=FULL "
                "(log_bin needs a restart; the destination's is read by the way back after a "
                "cut-over)"));
  }

  void CheckServerIds(const Variables& src, const Variables& dst) {
    const std::string a = Get(src, "server_id"), b = Get(dst, "server_id");
    if (a == "0" || b == "0" || a == b)
      return Add(Outcome("server_id", CheckLevel::kFail,
                         fmt::format("source server_id {}, destination {}: replication needs two "
                                     "distinct, non-zero ids",
                                     a, b),
                         {}, "set server_id in each server's option file"));
    Add(Outcome("server_id", CheckLevel::kPass, fmt::format("source {}, destination {}", a, b)));
  }

  // Noted: how the replication will be positioned (mysql/replication.h).
  void CheckGtid(Connection& src, Connection& dst, const Variables& vars) {
    auto why_not = WhyNotByGtid(dst, NamesOf(config_).channel);
    if (!why_not.ok()) return Add(Outcome("GTID", CheckLevel::kFail, why_not.message()));
    const std::string how = why_not->empty()
                                ? "the replication starts at the snapshot's GTID position"
                                : "the replication starts " + *why_not;
    if (src.version().flavor != Flavor::kMariaDb)
      return Add(
          Outcome("GTID", CheckLevel::kPass, "gtid_mode " + Get(vars, "gtid_mode") + "; " + how));
    const std::string pos = Get(vars, "gtid_binlog_pos");
    Add(Outcome("GTID", CheckLevel::kPass,
                fmt::format("MariaDB GTID domain {}, binary log at {}; {}",
                            Get(vars, "gtid_domain_id"), pos.empty() ? "(none yet)" : pos, how)));
  }

  // The replication user serves this relocation alone, and the source's database is not
  // relocated into another server already (mysql/neighbours.h).
  void CheckOtherRelocations(Connection& src, Connection& dst) {
    const std::string& user = config_.upgrade.user;
    const std::string name = NamesOf(config_).database;
    Status free = UserIsFree(src, dst, name, user);
    if (!free.ok())
      return Add(Outcome("other relocations", CheckLevel::kFail, free.message(), {user},
                         "set upgrade.user to a user no other relocation uses"));
    if (Status other = NotAnotherRelocationOnEither(src, dst, name, /*owner=*/"");
        other.is_bad_config())
      return Add(Outcome("other relocations", CheckLevel::kFail, other.message(), {name},
                         "finish and clean up that relocation first"));
    else if (!other.ok())
      return Add(Outcome("other relocations", CheckLevel::kFail, other.message()));
    Add(Outcome("other relocations", CheckLevel::kPass,
                fmt::format("upgrade.user {} serves no other relocation; this one is named {}",
                            user, name)));
  }

  // The servers' other replications (other relocations', or the servers' own). MariaDB and MySQL
  // refuse a second one from the same source (MariaDB's error 1934): none into the destination
  // from the source, nor into the source from the destination (it would take back what the
  // relocation writes there, and refuse a cut-over's way back). On MariaDB, whose gtid_slave_pos
  // is server-wide, every applied transaction moves its domain's position there: one into the
  // destination positioned by GTID must not share a GTID domain with this source.
  void CheckOtherReplications(Connection& src, Connection& dst, const Variables& src_vars) {
    const char* name = "other replications";
    const std::string channel = NamesOf(config_).channel;
    auto back = OtherReplications(src, channel);
    std::string unread;  // why the source's could not be read
    if (!back.ok()) {
      unread = back.message();
    } else if (const OtherReplication* other = Following(*back, config_.dst)) {
      return Add(Outcome(
          name, CheckLevel::kFail,
          fmt::format("the source replicates from the destination already, through {}: it "
                      "would take back what the relocation writes there, and a cut-over "
                      "could not make its way back",
                      other->Called()),
          {other->name}, "remove that replication on the source, or relocate into another server"));
    }
    auto others = OtherReplications(dst, channel);
    if (!others.ok()) return Add(Outcome(name, CheckLevel::kFail, others.message()));
    if (const OtherReplication* other = Following(*others, config_.src))
      return Add(Outcome(
          name, CheckLevel::kFail,
          fmt::format("the destination replicates from the source already, through {}: a "
                      "server follows one source once",
                      other->Called()),
          {other->name},
          "relocate into another server, or after the relocation that replication serves is "
          "cleaned up"));
    const std::set<std::string> ours =
        GtidDomains(Get(src_vars, "gtid_binlog_pos"), Get(src_vars, "gtid_domain_id"));
    for (const OtherReplication& other : *others) {
      if (src.version().flavor != Flavor::kMariaDb || !other.by_gtid) continue;
      const std::string called = other.Called();
      for (const std::string& domain : GtidDomains(other.gtid_io_pos, ""))
        if (ours.contains(domain))
          return Add(Outcome(
              name, CheckLevel::kFail,
              fmt::format("the destination's replication {} is positioned by GTID and receives "
                          "GTID domain {}, which the source writes too: MariaDB's gtid_slave_pos "
                          "is server-wide, and this relocation's replication would move {}'s "
                          "position there",
                          called, domain, called),
              {other.name},
              "give each source its own gtid_domain_id, or relocate into another server"));
    }
    const std::string into = fmt::format(
        "{} other replication(s) into the destination, none from the source nor sharing its GTID "
        "domains",
        others->size());
    if (!unread.empty())
      return Add(
          Outcome(name, CheckLevel::kWarn,
                  into + "; the source's could not be read (a cut-over reads them): " + unread));
    Add(Outcome(name, CheckLevel::kPass, into + "; none into the source from the destination"));
  }

  // Table names that fold differently on the two sides would make two tables one.
  void CheckNameCase(const Variables& src, const Variables& dst) {
    const std::string a = Get(src, "lower_case_table_names"),
                      b = Get(dst, "lower_case_table_names");
    if (a == b)
      return Add(Outcome("table name case", CheckLevel::kPass, "lower_case_table_names " + a));
    Add(Outcome(
        "table name case", CheckLevel::kFail,
        fmt::format("lower_case_table_names is {} on the source and {} on the destination", a, b),
        {}, "start the destination with the source's lower_case_table_names"));
  }

  bool CheckSourceDatabase(Connection& src) {
    auto n = src.QueryInt("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = " +
                          src.Literal(config_.src.name));
    if (!n.ok()) return Add(Outcome("source database", CheckLevel::kFail, n.message())), false;
    if (*n == 0) {
      CheckResult r = Outcome("source database", CheckLevel::kFail,
                              "the source has no database " + mariadb::QuoteIdent(config_.src.name),
                              {config_.src.name}, "set src.name to the database to relocate");
      r.bad_config = true;
      return Add(std::move(r)), false;
    }
    Add(Outcome("source database", CheckLevel::kPass,
                mariadb::QuoteIdent(config_.src.name) + " is there"));
    return true;
  }

  void CheckRetention(Connection& src, const Variables& vars) {
    auto bytes = src.QueryInt(
        "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = " +
        src.Literal(config_.src.name));
    if (!bytes.ok())
      return Add(Outcome("binary log retention", CheckLevel::kFail, bytes.message()));
    // MariaDB before 10.6 and its expire_logs_days; both read the same variable since.
    int64_t seconds = ParseInt(Get(vars, "binlog_expire_logs_seconds")).value_or(-1);
    if (seconds < 0)
      seconds =
          static_cast<int64_t>(ParseDouble(Get(vars, "expire_logs_days")).value_or(0) * 86400);
    Add(CompareRetention(seconds, *bytes));
  }

  // Rows are copied, compared and matched by their primary key.
  void CheckPrimaryKeys(Connection& src) {
    auto rows = src.Query(
        "SELECT t.TABLE_NAME FROM information_schema.TABLES t WHERE t.TABLE_SCHEMA = " +
        src.Literal(config_.src.name) +
        " AND t.TABLE_TYPE = 'BASE TABLE' AND NOT EXISTS (SELECT 1 FROM "
        "information_schema.TABLE_CONSTRAINTS c WHERE c.TABLE_SCHEMA = t.TABLE_SCHEMA AND "
        "c.TABLE_NAME = t.TABLE_NAME AND c.CONSTRAINT_TYPE = 'PRIMARY KEY') ORDER BY 1");
    if (!rows.ok()) return Add(Outcome("primary keys", CheckLevel::kFail, rows.message()));
    if (rows->rows() == 0)
      return Add(Outcome("primary keys", CheckLevel::kPass, "every table has a primary key"));
    std::vector<std::string> tables;
    for (int i = 0; i < rows->rows(); ++i) tables.push_back(rows->Get(i, 0));
    CheckResult r = Outcome(
        "primary keys", CheckLevel::kFail,
        fmt::format("{} tables have no primary key: they are copied in one piece, and verify can "
                    "only compare them whole (with force: true they move anyway)",
                    tables.size()),
        tables, "add a primary key to each (ALTER TABLE ... ADD PRIMARY KEY (...))");
    r.overridable = true;
    Add(std::move(r));
  }

  // dst.name other than src.name: the copy renames the database in the objects' texts, and the
  // replication (replicate_rewrite_db) in the binary log's rows and in statements run with it as
  // the default database. A statement naming it explicitly keeps its name, which the filter
  // then leaves out.
  void CheckRenamedDatabase(Connection& src, Connection& dst) {
    if (config_.src.name == config_.dst.name) return;
    const char* check = "database renamed";
    // MariaDB's replicate_rewrite_db is a variable (settable per connection) from 10.11.
    const mariadb::ServerVersion& version = dst.version();
    if (version.flavor == Flavor::kMariaDb && version.major * 100 + version.minor < 1011)
      return Add(Outcome(
          check, CheckLevel::kFail,
          fmt::format("the destination runs {}: replicate_rewrite_db, which renames the "
                      "database in the replication, can be set at runtime from MariaDB 10.11",
                      version.Display()),
          {}, "relocate under the same name (dst.name: " + config_.src.name + ")"));
    auto same = src.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                          src.Literal(config_.src.name) +
                          " AND BINARY TABLE_NAME = " + src.Literal(config_.src.name));
    if (!same.ok()) return Add(Outcome(check, CheckLevel::kFail, same.message()));
    if (same->rows() > 0)
      return Add(Outcome(
          check, CheckLevel::kFail,
          fmt::format("{} holds a table or view named as the database: where a text names "
                      "{}.x, the database cannot be told from the table, so it cannot be renamed "
                      "to {}",
                      mariadb::QuoteIdent(config_.src.name), config_.src.name, config_.dst.name),
          {config_.src.name}, "relocate under the same name (dst.name: " + config_.src.name + ")"));
    Add(Outcome(
        check, CheckLevel::kWarn,
        fmt::format("{} is made as {} on the destination; a schema change run on the "
                    "source must name its tables without the database (USE {}; ALTER "
                    "TABLE t ...): the replication renames only the default database of a "
                    "statement, and one naming {}.t is left out (verify would show it). A "
                    "table alias named {} in a view, routine, trigger or event is renamed with "
                    "the database",
                    mariadb::QuoteIdent(config_.src.name), mariadb::QuoteIdent(config_.dst.name),
                    config_.src.name, config_.src.name, config_.src.name)));
  }

  // Only a transactional engine's tables are read under the snapshot.
  void CheckStorageEngines(Connection& src) {
    auto rows = src.Query(
        "SELECT CONCAT(TABLE_NAME, ' (', ENGINE, ')') FROM information_schema.TABLES WHERE "
        "TABLE_SCHEMA = " +
        src.Literal(config_.src.name) +
        " AND TABLE_TYPE = 'BASE TABLE' AND ENGINE <> 'InnoDB' ORDER BY 1");
    if (!rows.ok()) return Add(Outcome("storage engines", CheckLevel::kFail, rows.message()));
    if (rows->rows() == 0)
      return Add(Outcome("storage engines", CheckLevel::kPass, "every table is InnoDB"));
    std::vector<std::string> tables;
    for (int i = 0; i < rows->rows(); ++i) tables.push_back(rows->Get(i, 0));
    Add(Outcome(
        "storage engines", CheckLevel::kWarn,
        fmt::format("{} tables are not InnoDB: not transactional, so the snapshot cannot be "
                    "consistent for them; writes to them during the copy may be lost or "
                    "doubled",
                    tables.size()),
        tables, "ALTER TABLE ... ENGINE=InnoDB, or keep them unwritten during the copy"));
  }

  // Views, routines, triggers and events move with the schema (triggers after the rows).
  void CheckSchemaObjects(Connection& src) {
    const std::string db = src.Literal(config_.src.name);
    auto counts = src.Query(
        "SELECT (SELECT COUNT(*) FROM information_schema.VIEWS WHERE TABLE_SCHEMA = " + db +
        "), (SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = " + db +
        "), (SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = " + db +
        "), (SELECT COUNT(*) FROM information_schema.EVENTS WHERE EVENT_SCHEMA = " + db + ")");
    if (!counts.ok()) return Add(Outcome("schema objects", CheckLevel::kFail, counts.message()));
    Add(Outcome(
        "schema objects", CheckLevel::kPass,
        fmt::format("{} views, {} routines, {} triggers, {} events move with the tables",
                    counts->Get(0, 0), counts->Get(0, 1), counts->Get(0, 2), counts->Get(0, 3))));
  }

  // A view, routine, trigger or event runs as its definer: that account must exist on the
  // destination, or the object fails there when used.
  void CheckDefiners(Connection& src, Connection& dst) {
    const std::string db = src.Literal(config_.src.name);
    auto rows = src.Query(
        "SELECT DISTINCT DEFINER FROM (SELECT DEFINER FROM information_schema.VIEWS WHERE "
        "TABLE_SCHEMA = " +
        db + " UNION SELECT DEFINER FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = " + db +
        " UNION SELECT DEFINER FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = " + db +
        " UNION SELECT DEFINER FROM information_schema.EVENTS WHERE EVENT_SCHEMA = " + db +
        ") d ORDER BY 1");
    if (!rows.ok()) return Add(Outcome("definers", CheckLevel::kFail, rows.message()));
    if (rows->rows() == 0)
      return Add(Outcome("definers", CheckLevel::kPass, "no view, routine, trigger or event"));
    std::vector<std::string> missing, unknown;
    for (int i = 0; i < rows->rows(); ++i) {
      const std::string definer = rows->Get(i, 0);
      const size_t at = definer.rfind('@');
      if (at == std::string::npos) continue;
      auto n = dst.QueryInt(
          "SELECT COUNT(*) FROM mysql.user WHERE User = " + dst.Literal(definer.substr(0, at)) +
          " AND Host = " + dst.Literal(definer.substr(at + 1)));
      if (!n.ok())
        unknown.push_back(definer);
      else if (*n == 0)
        missing.push_back(definer);
    }
    if (!missing.empty())
      return Add(Outcome("definers", CheckLevel::kWarn,
                         fmt::format("{} accounts define views, routines, triggers or events and "
                                     "do not exist on the destination: those objects would fail "
                                     "there when used",
                                     missing.size()),
                         missing, "create these accounts on the destination, with their grants"));
    if (!unknown.empty())
      return Add(Outcome("definers", CheckLevel::kWarn,
                         "the destination's accounts cannot be read (no SELECT on mysql.user): "
                         "make sure these definers exist there",
                         unknown));
    Add(Outcome("definers", CheckLevel::kPass,
                fmt::format("the {} definers exist on the destination", rows->rows())));
  }

  void CheckDestinationDatabase(Connection& dst) {
    if (destination_is_ours_)
      return Add(Outcome("destination is empty", CheckLevel::kPass,
                         "its tables were made by this relocation's copy"));
    auto tables =
        dst.Query("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                  dst.Literal(config_.dst.name) + " ORDER BY 1");
    if (!tables.ok())
      return Add(Outcome("destination is empty", CheckLevel::kFail, tables.message()));
    if (tables->rows() == 0)
      return Add(Outcome("destination is empty", CheckLevel::kPass,
                         mariadb::QuoteIdent(config_.dst.name) + " is absent or empty there"));
    std::vector<std::string> names;
    for (int i = 0; i < tables->rows(); ++i) names.push_back(tables->Get(i, 0));
    Add(Outcome("destination is empty", CheckLevel::kFail,
                fmt::format("{} tables already exist in {} on the destination; db_relocate never "
                            "overwrites them",
                            names.size(), mariadb::QuoteIdent(config_.dst.name)),
                names,
                "relocate into an absent or empty database (dst.name), or drop these tables"));
  }

  const Config& config_;
  const bool destination_is_ours_;
  PreflightReport report_;
};

}  // namespace

CheckResult CompareVersions(const ServerVersion& src, const ServerVersion& dst) {
  const char* name = "versions";
  const std::string both = fmt::format("source {}, destination {}", src.Display(), dst.Display());
  if (src.flavor != dst.flavor)
    return Outcome(name, CheckLevel::kFail,
                   both +
                       ": relocating between MySQL and MariaDB is not supported (their binary "
                       "logs and GTIDs differ)");
  const ServerVersion& oldest = src.flavor == Flavor::kMariaDb ? kOldestMariaDb : kOldestMySql;
  std::vector<std::string> old;
  if (src < oldest) old.push_back("source " + src.Display());
  if (dst < oldest) old.push_back("destination " + dst.Display());
  if (!old.empty())
    return Outcome(name, CheckLevel::kFail,
                   fmt::format("{}: older than {}, the oldest release db_relocate supports", both,
                               oldest.Display()),
                   old);
  if (dst < src)
    return Outcome(name, CheckLevel::kFail,
                   both +
                       ": the destination is older than the source; replication goes from an "
                       "older server to a newer one only",
                   {}, "relocate to a server of the source's release or newer");
  if (dst.major != src.major || dst.minor != src.minor)
    return Outcome(name, CheckLevel::kWarn,
                   both +
                       ": after a cut-over the way back (rollback) replicates from the newer "
                       "server to the older one, which " +
                       std::string(NameOf(src.flavor)) +
                       " does not promise to support: rehearse the rollback before relying on it");
  return Outcome(name, CheckLevel::kPass, both);
}

CheckResult CompareRetention(int64_t retention_seconds, int64_t bytes) {
  const char* name = "binary log retention";
  const double copy_seconds = static_cast<double>(bytes) / kSlowCopyBytesPerSecond;
  // Room for the copy twice over, and an hour for catch-up and the switch.
  const double needed = 2 * copy_seconds + 3600;
  if (retention_seconds == 0)
    return Outcome(name, CheckLevel::kPass, "binary logs are not purged by age");
  const std::string what =
      fmt::format("binary logs are kept {} and the database is {}",
                  HumanDuration(retention_seconds), HumanBytes(static_cast<double>(bytes)));
  if (retention_seconds < needed)
    return Outcome(name, CheckLevel::kFail,
                   what + fmt::format(": a copy at {}/s and the catch-up need about {}",
                                      HumanBytes(kSlowCopyBytesPerSecond), HumanDuration(needed)),
                   {}, "raise binlog_expire_logs_seconds on the source for the relocation");
  return Outcome(name, CheckLevel::kPass, what);
}

PreflightReport RunPreflight(const Config& config, bool destination_is_ours) {
  return Preflight(config, destination_is_ours).Run();
}

}  // namespace dbr::mysql
