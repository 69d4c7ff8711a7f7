// What a relocation covers. `src.schema` names the schemas (names or glob patterns),
// `schemas.exclude` takes some back; in those schemas `tables.include` / `tables.exclude` choose
// the relations (tables, views, materialized views, sequences, foreign tables) that move, and
// `exclude_table_data` the tables whose definition moves without their rows.
//
// Patterns are shell globs (`*`, `?`, `[...]`, matched by fnmatch, no escapes) on the names as
// the catalog spells them; a name written out whole always matches itself, whatever it holds. A
// relation pattern matches `name` in any schema in scope, or `schema.name`. A relation that belongs
// to another follows it: a partition its partitioned root, an index its table, a sequence the
// column that owns it. db_relocate's own schema is always in.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "model/catalog.h"
#include "pg/connection.h"
#include "util/status.h"

namespace dbr {

enum class Coverage {
  kOut,         // does not move
  kDefinition,  // its definition moves, its rows do not (exclude_table_data)
  kRows,        // moves with its rows, kept in sync
};

// A shell glob (fnmatch, no escapes) against a name, whole; or the name itself.
bool MatchesPattern(const std::string& pattern, std::string_view name);
// The same glob as an anchored POSIX regular expression, as PostgreSQL's `~` reads it.
std::string GlobToRegex(const std::string& pattern);

// The config's patterns, without a server.
class ScopeFilter {
 public:
  explicit ScopeFilter(const Config& config);

  bool CoversSchema(std::string_view schema) const;
  // For a relation of a schema in scope that follows no other.
  Coverage Of(std::string_view schema, std::string_view name) const;
  // Any relation filter is set: a schema in scope may not move whole.
  bool FiltersRelations() const;
  // The same decision as Of() != kOut, as an SQL boolean expression over two text expressions
  // (for a trigger on the server that must decide alone).
  std::string SqlCovers(const std::string& schema_expr, const std::string& name_expr) const;
  // CoversSchema as SQL.
  std::string SqlCoversSchema(const std::string& schema_expr) const;

 private:
  std::string SqlInSchema(const std::string& schema_expr, const std::string& relations) const;

  const ScopeConfig& scope_;
  const std::vector<std::string>& schemas_;
};

struct RelationName {
  std::string schema;
  std::string name;
  char relkind = 'r';
  std::string Display() const { return schema + "." + name; }
  auto operator<=>(const RelationName&) const = default;
};

// A dependency that crosses the scope's edge: what the restore or the rows would need and not get.
struct ScopeProblem {
  std::string object;  // "foreign key orders_customer_fk on public.orders", "view public.v"
  std::string detail;
  std::string fix;
};

// The scope resolved against one server's catalog.
struct ScopeListing {
  std::vector<std::string> schemas;     // in scope, plus db_relocate's own
  std::vector<TableInfo> tables;        // move with their rows (what ListTables returns)
  std::vector<TableInfo> without_rows;  // exclude_table_data
  std::vector<RelationName> excluded;   // relations of schemas in scope that do not move
  std::vector<RelationName> sequences;  // in scope
  std::vector<std::string> unmatched;   // patterns that matched nothing ("tables.exclude: x*")
  std::map<std::pair<std::string, std::string>, Coverage> coverage;  // every relation read

  Coverage Of(const std::string& schema, const std::string& name) const;
  // The relations that stay behind, for pg_dump --exclude-table.
  std::vector<RelationName> ExcludedTablesAndSequences() const;
};

Result<ScopeListing> ListScope(pg::Connection& conn, const Config& config);
// Foreign keys and views that cross the scope's edge.
Result<std::vector<ScopeProblem>> EdgeProblems(pg::Connection& conn, const ScopeListing& listing);

// The tables in scope whose rows move (the copy, the publication, verify).
Result<std::vector<TableInfo>> TablesInScope(pg::Connection& conn, const Config& config);
// The schemas in scope that exist on the server, plus db_relocate's own.
Result<std::vector<std::string>> SchemasInScope(pg::Connection& conn, const Config& config);

}  // namespace dbr
