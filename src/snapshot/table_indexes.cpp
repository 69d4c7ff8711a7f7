#include "snapshot/table_indexes.h"

#include "pg/quote.h"
#include "snapshot/restore_list.h"
#include "util/text.h"

namespace dbr {

Result<TableIndexes> TableIndexes::Plan(pg::Connection& src, const std::string& toc) {
  // The descriptions pg_dump gives them: "INDEX <schema> <index> <owner>" and
  // "CONSTRAINT <schema> <table> <constraint> <owner>"; a constraint's index is its own entry.
  auto rows = src.Query(R"sql(
    SELECT t.relname, n.nspname, i.relname,
           CASE WHEN c.oid IS NULL THEN 'INDEX ' || n.nspname || ' ' || i.relname
                ELSE 'CONSTRAINT ' || n.nspname || ' ' || t.relname || ' ' || c.conname
           END || ' ' || pg_get_userbyid(t.relowner)
      FROM pg_index x
      JOIN pg_class i ON i.oid = x.indexrelid
      JOIN pg_class t ON t.oid = x.indrelid
      JOIN pg_namespace n ON n.oid = t.relnamespace
      LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = t.oid
                               AND c.contype IN ('p', 'u', 'x')
     WHERE t.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND n.nspname NOT LIKE 'pg\_toast%')sql");
  if (!rows.ok()) return rows.status().Wrap("listing the source's indexes");
  std::map<std::string, const Entry*> by_description;
  TableIndexes out;
  out.entries_.reserve(static_cast<size_t>(rows->rows()));
  for (int r = 0; r < rows->rows(); ++r)
    out.entries_.push_back({pg::QualifiedName(rows->Get(r, 1), rows->Get(r, 0)), rows->Get(r, 1),
                            rows->Get(r, 2), rows->Get(r, 3)});
  for (const Entry& e : out.entries_) by_description[e.description] = &e;
  std::vector<Entry> in_archive;
  for (const std::string& line : SplitLines(toc)) {
    auto description = RestoreEntryDescription(line);
    if (!description) continue;
    auto it = by_description.find(*description);
    if (it == by_description.end()) continue;
    out.lists_[it->second->table] += line + "\n";
    in_archive.push_back(*it->second);
  }
  out.entries_ = std::move(in_archive);
  return out;
}

std::string TableIndexes::ListOf(const std::string& qualified) const {
  auto it = lists_.find(qualified);
  return it == lists_.end() ? "" : it->second;
}

Result<std::set<std::string>> TableIndexes::Built(pg::Connection& dst) const {
  std::vector<std::string> schemas, indexes;
  for (const Entry& e : entries_) {
    schemas.push_back(e.schema);
    indexes.push_back(e.index);
  }
  auto rows = dst.Query(
      "SELECT u.n FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(s, i, n) "
      "WHERE to_regclass(format('%I.%I', u.s, u.i)) IS NOT NULL",
      {pg::TextArrayLiteral(schemas), pg::TextArrayLiteral(indexes)});
  if (!rows.ok()) return rows.status().Wrap("listing the indexes the destination has");
  std::set<std::string> out;
  for (int r = 0; r < rows->rows(); ++r)
    out.insert(entries_[static_cast<size_t>(rows->GetInt(r, 0) - 1)].description);
  return out;
}

}  // namespace dbr
