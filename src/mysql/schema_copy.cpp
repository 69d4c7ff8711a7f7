#include "mysql/schema_copy.h"

#include <fmt/format.h>

#include <algorithm>

#include "mariadb/quote.h"
#include "mysql/database_rename.h"
#include "mysql/exact_text.h"
#include "util/log.h"

namespace dbr::mysql {
namespace {

using mariadb::QualifiedName;
using mariadb::QuoteIdent;

// The names of one kind of object in `database`, from information_schema.
Result<std::vector<std::string>> Names(mariadb::Connection& c, const std::string& query) {
  DBR_ASSIGN_OR_RETURN(mariadb::Rows rows, c.Query(query));
  std::vector<std::string> names;
  for (int i = 0; i < rows.rows(); ++i) names.push_back(rows.Get(i, 0));
  return names;
}

// SHOW CREATE <kind> of each name: the statement is in column `sql_column`, its sql_mode in
// `sql_mode` when the server gives one.
Status ShowCreate(mariadb::Connection& c, const std::string& database,
                  const std::vector<std::string>& names, const char* kind, const char* sql_column,
                  std::vector<Definition>& out) {
  for (const auto& name : names) {
    DBR_ASSIGN_OR_RETURN(mariadb::Rows rows, c.Query(fmt::format("SHOW CREATE {} {}", kind,
                                                                 QualifiedName(database, name))));
    const int sql = rows.Column(sql_column);
    if (rows.rows() == 0 || sql < 0 || rows.IsNull(0, sql))
      return Status::Error(fmt::format(
          "SHOW CREATE {} {} gives no definition: the source's user lacks a privilege to see it",
          kind, QualifiedName(database, name)));
    const int mode = rows.Column("sql_mode");
    const int zone = rows.Column("time_zone");
    out.push_back({.kind = kind,
                   .name = name,
                   .sql = rows.Get(0, sql),
                   .sql_mode = mode >= 0 ? rows.Get(0, mode) : "",
                   .time_zone = zone >= 0 ? rows.Get(0, zone) : ""});
  }
  return Status::Ok();
}

// Made again when it exists (a step resumed after it made some): the destination's objects
// are the relocation's own (pre-flight found the database empty). Tables are never dropped.
Status Create(mariadb::Connection& c, const Definition& d) {
  DBR_RETURN_IF_ERROR(c.Exec("SET SESSION sql_mode = " + c.Literal(d.sql_mode)));
  if (!d.time_zone.empty())
    DBR_RETURN_IF_ERROR(c.Exec("SET SESSION time_zone = " + c.Literal(d.time_zone)));
  if (d.kind != "TABLE")
    DBR_RETURN_IF_ERROR(c.Exec(fmt::format("DROP {} IF EXISTS {}", d.kind, QuoteIdent(d.name))));
  return c.Exec(d.sql).Wrap(fmt::format("creating {} {}", d.kind, QuoteIdent(d.name)));
}

// SHOW CREATE EVENT's "... PRESERVE ENABLE ..." made "DISABLE ON SLAVE".
std::string DisabledOnReplica(std::string sql) {
  const size_t preserve = sql.find(" PRESERVE ");
  const size_t enable = sql.find(" ENABLE ", preserve == std::string::npos ? 0 : preserve);
  if (enable != std::string::npos) sql.replace(enable, 8, " DISABLE ON SLAVE ");
  return sql;
}

// SHOW CREATE DATABASE's statement (its options) for `target`, made only when absent.
std::string CreateDatabaseStatement(const SchemaDefinitions& s) {
  std::string options;
  for (const std::string& head :
       {"CREATE DATABASE " + QuoteIdent(s.database), "CREATE DATABASE " + s.database})
    if (s.create_database.starts_with(head)) {
      options = s.create_database.substr(head.size());
      break;
    }
  return "CREATE DATABASE IF NOT EXISTS " + QuoteIdent(s.target) + options;
}

}  // namespace

Result<SchemaDefinitions> ReadSchema(mariadb::Connection& c, const std::string& database) {
  SchemaDefinitions s;
  s.database = database;
  s.target = database;
  const std::string db = c.Literal(database);
  DBR_ASSIGN_OR_RETURN(mariadb::Rows created,
                       c.Query("SHOW CREATE DATABASE " + QuoteIdent(database)));
  if (created.rows() == 0 || created.cols() < 2)
    return Status::Error("SHOW CREATE DATABASE " + QuoteIdent(database) + " gives nothing");
  s.create_database = created.Get(0, 1);
  DBR_ASSIGN_OR_RETURN(
      auto tables,
      Names(c, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " + db +
                   " AND TABLE_TYPE = 'BASE TABLE' ORDER BY 1"));
  DBR_ASSIGN_OR_RETURN(
      auto views, Names(c, "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = " +
                               db + " ORDER BY 1"));
  DBR_ASSIGN_OR_RETURN(
      auto procedures,
      Names(c, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = " + db +
                   " AND ROUTINE_TYPE = 'PROCEDURE' ORDER BY 1"));
  DBR_ASSIGN_OR_RETURN(
      auto functions,
      Names(c, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = " + db +
                   " AND ROUTINE_TYPE = 'FUNCTION' ORDER BY 1"));
  // Triggers of one table and timing in the order they fire.
  DBR_ASSIGN_OR_RETURN(
      auto triggers,
      Names(c, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = " + db +
                   " ORDER BY EVENT_OBJECT_TABLE, ACTION_TIMING, EVENT_MANIPULATION, "
                   "ACTION_ORDER"));
  DBR_ASSIGN_OR_RETURN(
      auto events,
      Names(c, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA = " + db +
                   " ORDER BY 1"));
  DBR_RETURN_IF_ERROR(ShowCreate(c, database, tables, "TABLE", "Create Table", s.tables));
  DBR_RETURN_IF_ERROR(ShowCreate(c, database, views, "VIEW", "Create View", s.views));
  DBR_RETURN_IF_ERROR(
      ShowCreate(c, database, procedures, "PROCEDURE", "Create Procedure", s.routines));
  DBR_RETURN_IF_ERROR(
      ShowCreate(c, database, functions, "FUNCTION", "Create Function", s.routines));
  DBR_RETURN_IF_ERROR(
      ShowCreate(c, database, triggers, "TRIGGER", "SQL Original Statement", s.triggers));
  DBR_RETURN_IF_ERROR(ShowCreate(c, database, events, "EVENT", "Create Event", s.events));
  return s;
}

void MakeAs(SchemaDefinitions& s, const std::string& target) {
  s.target = target;
  if (target == s.database) return;
  for (auto* list : {&s.tables, &s.views, &s.routines, &s.triggers, &s.events})
    for (Definition& d : *list)
      d.sql = RenameDatabaseIn(d.sql, s.database, target, SqlQuoting::OfSqlMode(d.sql_mode));
}

Status CreateTables(mariadb::Connection& c, const SchemaDefinitions& s) {
  DBR_RETURN_IF_ERROR(c.Exec(kUtcSession));  // as ReadSchema read them
  DBR_RETURN_IF_ERROR(c.Exec(CreateDatabaseStatement(s)));
  DBR_RETURN_IF_ERROR(c.Exec("USE " + QuoteIdent(s.target)));
  DBR_ASSIGN_OR_RETURN(
      auto existing,
      Names(c, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = " +
                   c.Literal(s.target)));
  DBR_RETURN_IF_ERROR(c.Exec("SET SESSION foreign_key_checks = 0"));
  for (const auto& t : s.tables) {
    if (std::find(existing.begin(), existing.end(), t.name) != existing.end()) continue;
    DBR_RETURN_IF_ERROR(Create(c, t));
  }
  return Status::Ok();
}

Status CreateObjectsAfterRows(mariadb::Connection& c, const SchemaDefinitions& s) {
  DBR_RETURN_IF_ERROR(c.Exec(kUtcSession));
  DBR_RETURN_IF_ERROR(c.Exec("USE " + QuoteIdent(s.target)));
  // A view may read another: make those that can be made, again, until none is left.
  std::vector<const Definition*> pending;
  for (const auto& v : s.views) pending.push_back(&v);
  while (!pending.empty()) {
    std::vector<const Definition*> failed;
    Status last;
    for (const Definition* v : pending) {
      Status st = Create(c, *v);
      if (!st.ok()) failed.push_back(v), last = st;
    }
    if (failed.size() == pending.size()) return last;
    pending = std::move(failed);
  }
  for (const auto* list : {&s.routines, &s.triggers})
    for (const auto& d : *list) DBR_RETURN_IF_ERROR(Create(c, d));
  for (const auto& e : s.events) {
    Definition disabled = e;
    disabled.sql = DisabledOnReplica(e.sql);
    DBR_RETURN_IF_ERROR(Create(c, disabled));
  }
  log::info("{} views, {} routines, {} triggers and {} events made on the destination",
            s.views.size(), s.routines.size(), s.triggers.size(), s.events.size());
  return Status::Ok();
}

}  // namespace dbr::mysql
