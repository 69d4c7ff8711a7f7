#include "model/scope.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fnmatch.h>

#include <algorithm>
#include <set>

#include "model/names.h"
#include "pg/quote.h"

namespace dbr {

bool MatchesPattern(const std::string& pattern, std::string_view name) {
  return name == pattern || fnmatch(pattern.c_str(), std::string(name).c_str(), FNM_NOESCAPE) == 0;
}

// The end of a bracket expression opened at `open` (a ']' first, or after '!', is a member), or
// npos when it is not closed (then '[' stands for itself, as in fnmatch).
size_t BracketEnd(const std::string& pattern, size_t open) {
  size_t at = open + 1;
  if (at < pattern.size() && pattern[at] == '!') ++at;
  if (at < pattern.size() && pattern[at] == ']') ++at;
  return pattern.find(']', at);
}

std::string GlobToRegex(const std::string& pattern) {
  std::string re = "^";
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    const size_t end = c == '[' ? BracketEnd(pattern, i) : std::string::npos;
    if (c == '*') {
      re += ".*";
    } else if (c == '?') {
      re += ".";
    } else if (end != std::string::npos) {
      std::string set = pattern.substr(i + 1, end - i - 1);
      if (set[0] == '!') set[0] = '^';
      re += "[" + set + "]";
      i = end;
    } else if (std::string_view("\\.^$|()+{}[]").find(c) != std::string_view::npos) {
      re += std::string("\\") + c;
    } else {
      re += c;
    }
  }
  return re + "$";
}

namespace {

std::string SqlMatchesAny(const std::vector<std::string>& patterns, const std::string& schema_expr,
                          const std::string& name_expr, bool relation) {
  std::vector<std::string> terms;
  for (const auto& p : patterns) {
    const std::string subject = relation ? name_expr : schema_expr;
    terms.push_back(subject + " = " + pg::QuoteLiteral(p));
    terms.push_back(subject + " ~ " + pg::QuoteLiteral(GlobToRegex(p)));
    if (relation && p.find('.') != std::string::npos)
      terms.push_back("(" + schema_expr + " || '.' || " + name_expr + ") ~ " +
                      pg::QuoteLiteral(GlobToRegex(p)));
  }
  if (terms.empty()) return "false";
  return "(" + fmt::format("{}", fmt::join(terms, " OR ")) + ")";
}

// A pattern matches the name, in any schema, or `schema.name`.
bool MatchesRelation(const std::string& pattern, std::string_view schema, std::string_view name) {
  return MatchesPattern(pattern, name) ||
         (pattern.find('.') != std::string::npos &&
          MatchesPattern(pattern, std::string(schema) + "." + std::string(name)));
}

bool AnyMatchesRelation(const std::vector<std::string>& patterns, std::string_view schema,
                        std::string_view name) {
  return std::any_of(patterns.begin(), patterns.end(),
                     [&](const std::string& p) { return MatchesRelation(p, schema, name); });
}

using Key = std::pair<std::string, std::string>;

// Every relation of the schemas in scope, with the one it follows (partition root, indexed
// table, owning table of a sequence), extension members left out as pg_dump leaves them out.
Result<std::map<Key, std::pair<char, Key>>> ReadRelations(pg::Connection& conn,
                                                          const std::vector<std::string>& schemas) {
  auto r = conn.Query(R"sql(
    SELECT n.nspname, c.relname, c.relkind, COALESCE(fn.nspname, ''), COALESCE(f.relname, '')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN LATERAL (
        SELECT CASE
          WHEN c.relispartition THEN pg_partition_root(c.oid)
          WHEN c.relkind IN ('i', 'I') THEN (SELECT indrelid FROM pg_index WHERE indexrelid = c.oid)
          WHEN c.relkind = 'S' THEN (
            SELECT d.refobjid FROM pg_depend d
             WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i') LIMIT 1)
        END AS oid) o ON true
      LEFT JOIN pg_class f ON f.oid = o.oid
      LEFT JOIN pg_namespace fn ON fn.oid = f.relnamespace
     WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f', 'i', 'I')
       AND c.relpersistence <> 't'
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                          AND e.objid = c.oid AND e.deptype = 'e'))sql",
                      {pg::TextArrayLiteral(schemas)});
  if (!r.ok()) return r.status();
  std::map<Key, std::pair<char, Key>> out;
  for (int i = 0; i < r->rows(); ++i)
    out[{r->Get(i, 0), r->Get(i, 1)}] = {r->Get(i, 2)[0], {r->Get(i, 3), r->Get(i, 4)}};
  return out;
}

// The patterns that match no schema or relation of the server (a misspelt filter).
void FindUnmatched(const Config& config, const std::vector<std::string>& all_schemas,
                   const std::map<Key, std::pair<char, Key>>& relations, ScopeListing& listing) {
  auto schema_used = [&](const std::string& p) {
    return std::any_of(all_schemas.begin(), all_schemas.end(),
                       [&](const std::string& s) { return MatchesPattern(p, s); });
  };
  auto relation_used = [&](const std::string& p) {
    return std::any_of(relations.begin(), relations.end(), [&](const auto& r) {
      return MatchesRelation(p, r.first.first, r.first.second);
    });
  };
  auto check = [&](const char* key, const std::vector<std::string>& patterns, auto used) {
    for (const auto& p : patterns)
      if (!used(p)) listing.unmatched.push_back(std::string(key) + ": " + p);
  };
  check("src.schema", config.src.schemas, schema_used);
  check("schemas.exclude", config.scope.exclude_schemas, schema_used);
  check("tables.include", config.scope.include_tables, relation_used);
  check("tables.exclude", config.scope.exclude_tables, relation_used);
  check("exclude_table_data", config.scope.exclude_table_data, relation_used);
}

}  // namespace

// Foreign keys and views whose two ends are covered differently in a way the copy cannot
// honour: a reference to a relation that stays behind (the restore would fail), or rows that
// reference rows which do not move (the constraint would fail to validate).
Result<std::vector<ScopeProblem>> EdgeProblems(pg::Connection& conn, const ScopeListing& listing) {
  std::vector<ScopeProblem> problems;
  auto fks = conn.Query(R"sql(
    SELECT co.conname, rn.nspname, r.relname, fn.nspname, f.relname
      FROM pg_constraint co
      JOIN pg_class r ON r.oid = co.conrelid JOIN pg_namespace rn ON rn.oid = r.relnamespace
      JOIN pg_class f ON f.oid = co.confrelid JOIN pg_namespace fn ON fn.oid = f.relnamespace
     WHERE co.contype = 'f' AND co.conparentid = 0 AND rn.nspname = ANY($1::text[])
     ORDER BY 2, 3, 1)sql",
                        {pg::TextArrayLiteral(listing.schemas)});
  if (!fks.ok()) return fks.status();
  for (int i = 0; i < fks->rows(); ++i) {
    const std::string from = fks->Get(i, 1) + "." + fks->Get(i, 2);
    const std::string to = fks->Get(i, 3) + "." + fks->Get(i, 4);
    const Coverage a = listing.Of(fks->Get(i, 1), fks->Get(i, 2));
    const Coverage b = listing.Of(fks->Get(i, 3), fks->Get(i, 4));
    const std::string object = "foreign key " + fks->Get(i, 0) + " on " + from;
    if (a != Coverage::kOut && b == Coverage::kOut) {
      problems.push_back(
          {object, "references " + to + ", which is not in scope",
           fmt::format("bring {} into scope (src.schema, tables.include), or leave {} out too "
                       "(tables.exclude)",
                       to, from)});
    } else if (a == Coverage::kRows && b == Coverage::kDefinition) {
      problems.push_back(
          {object, "its rows reference rows of " + to + ", which do not move (exclude_table_data)",
           fmt::format("move the rows of {} too, or add {} to exclude_table_data", to, from)});
    }
  }
  auto views = conn.Query(R"sql(
    SELECT DISTINCT vn.nspname, v.relname, tn.nspname, t.relname
      FROM pg_rewrite rw
      JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                      AND d.refclassid = 'pg_class'::regclass
      JOIN pg_class v ON v.oid = rw.ev_class JOIN pg_namespace vn ON vn.oid = v.relnamespace
      JOIN pg_class t ON t.oid = d.refobjid JOIN pg_namespace tn ON tn.oid = t.relnamespace
     WHERE t.oid <> v.oid AND vn.nspname = ANY($1::text[]) AND t.relkind <> 'c'
     ORDER BY 1, 2, 3, 4)sql",
                          {pg::TextArrayLiteral(listing.schemas)});
  if (!views.ok()) return views.status();
  for (int i = 0; i < views->rows(); ++i) {
    if (listing.Of(views->Get(i, 0), views->Get(i, 1)) == Coverage::kOut) continue;
    if (listing.Of(views->Get(i, 2), views->Get(i, 3)) != Coverage::kOut) continue;
    const std::string view = views->Get(i, 0) + "." + views->Get(i, 1);
    const std::string table = views->Get(i, 2) + "." + views->Get(i, 3);
    problems.push_back(
        {"view " + view, "reads " + table + ", which is not in scope",
         fmt::format("leave {} out too (tables.exclude), or bring {} into scope", view, table)});
  }
  return problems;
}

ScopeFilter::ScopeFilter(const Config& config)
    : scope_(config.scope), schemas_(config.src.schemas) {}

bool ScopeFilter::CoversSchema(std::string_view schema) const {
  if (schema == names::kSchema) return true;
  const bool named = std::any_of(schemas_.begin(), schemas_.end(),
                                 [&](const std::string& p) { return MatchesPattern(p, schema); });
  return named && std::none_of(scope_.exclude_schemas.begin(), scope_.exclude_schemas.end(),
                               [&](const std::string& p) { return MatchesPattern(p, schema); });
}

Coverage ScopeFilter::Of(std::string_view schema, std::string_view name) const {
  if (schema == names::kSchema) return Coverage::kRows;
  if (!CoversSchema(schema)) return Coverage::kOut;
  if (!scope_.include_tables.empty() && !AnyMatchesRelation(scope_.include_tables, schema, name))
    return Coverage::kOut;
  if (AnyMatchesRelation(scope_.exclude_tables, schema, name)) return Coverage::kOut;
  if (AnyMatchesRelation(scope_.exclude_table_data, schema, name)) return Coverage::kDefinition;
  return Coverage::kRows;
}

bool ScopeFilter::FiltersRelations() const {
  return !scope_.include_tables.empty() || !scope_.exclude_tables.empty() ||
         !scope_.exclude_table_data.empty();
}

// db_relocate's own schema, or one named and not excluded, and `relations` (SQL) holding.
std::string ScopeFilter::SqlInSchema(const std::string& schema_expr,
                                     const std::string& relations) const {
  return "(" + schema_expr + " = " + pg::QuoteLiteral(names::kSchema) + " OR (" +
         SqlMatchesAny(schemas_, schema_expr, "", false) + " AND NOT " +
         SqlMatchesAny(scope_.exclude_schemas, schema_expr, "", false) + relations + "))";
}

std::string ScopeFilter::SqlCoversSchema(const std::string& schema_expr) const {
  return SqlInSchema(schema_expr, "");
}

std::string ScopeFilter::SqlCovers(const std::string& schema_expr,
                                   const std::string& name_expr) const {
  std::string relations;
  if (!scope_.include_tables.empty())
    relations += " AND " + SqlMatchesAny(scope_.include_tables, schema_expr, name_expr, true);
  relations += " AND NOT " + SqlMatchesAny(scope_.exclude_tables, schema_expr, name_expr, true);
  return SqlInSchema(schema_expr, relations);
}

Coverage ScopeListing::Of(const std::string& schema, const std::string& name) const {
  auto it = coverage.find({schema, name});
  return it == coverage.end() ? Coverage::kOut : it->second;
}

std::vector<RelationName> ScopeListing::ExcludedTablesAndSequences() const {
  std::vector<RelationName> out;
  for (const auto& r : excluded)
    if (r.relkind != 'i' && r.relkind != 'I') out.push_back(r);
  return out;
}

Result<ScopeListing> ListScope(pg::Connection& conn, const Config& config) {
  const ScopeFilter filter(config);
  auto all = conn.Query(
      "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' AND nspname <> "
      "'information_schema' ORDER BY 1");
  if (!all.ok()) return all.status();
  std::vector<std::string> all_schemas;
  ScopeListing listing;
  for (int i = 0; i < all->rows(); ++i) {
    all_schemas.push_back(all->Get(i, 0));
    if (filter.CoversSchema(all_schemas.back())) listing.schemas.push_back(all_schemas.back());
  }
  if (std::find(listing.schemas.begin(), listing.schemas.end(), names::kSchema) ==
      listing.schemas.end())
    listing.schemas.push_back(names::kSchema);

  DBR_ASSIGN_OR_RETURN(auto relations, ReadRelations(conn, listing.schemas));
  // A relation's coverage is that of the one it follows, up the chain (an index of a partition
  // follows the partition, which follows its root).
  for (const auto& [key, rel] : relations) {
    Key at = key;
    for (int depth = 0; depth < 4; ++depth) {
      auto it = relations.find(at);
      if (it == relations.end() || it->second.second.second.empty()) break;
      at = it->second.second;
    }
    const bool followed_outside = !relations.count(at);  // e.g. an index on another schema's table
    Coverage c = followed_outside ? (filter.CoversSchema(at.first) ? filter.Of(at.first, at.second)
                                                                   : Coverage::kOut)
                                  : filter.Of(at.first, at.second);
    // Views, sequences and indexes have no rows of their own to leave behind.
    if (c == Coverage::kDefinition && rel.first != 'r' && rel.first != 'p') c = Coverage::kRows;
    listing.coverage[key] = c;
    if (c == Coverage::kOut) listing.excluded.push_back({key.first, key.second, rel.first});
    if (c != Coverage::kOut && rel.first == 'S')
      listing.sequences.push_back({key.first, key.second, 'S'});
  }
  DBR_ASSIGN_OR_RETURN(auto tables, ListTables(conn, listing.schemas));
  for (auto& t : tables) {
    switch (listing.Of(t.schema, t.name)) {
      case Coverage::kRows:
        listing.tables.push_back(std::move(t));
        break;
      case Coverage::kDefinition:
        listing.without_rows.push_back(std::move(t));
        break;
      case Coverage::kOut:
        break;
    }
  }
  FindUnmatched(config, all_schemas, relations, listing);
  return listing;
}

Result<std::vector<TableInfo>> TablesInScope(pg::Connection& conn, const Config& config) {
  DBR_ASSIGN_OR_RETURN(auto listing, ListScope(conn, config));
  return std::move(listing.tables);
}

Result<std::vector<std::string>> SchemasInScope(pg::Connection& conn, const Config& config) {
  DBR_ASSIGN_OR_RETURN(auto listing, ListScope(conn, config));
  return std::move(listing.schemas);
}

}  // namespace dbr
