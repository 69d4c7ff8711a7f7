#include "engine/schema_drift.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "model/catalog.h"
#include "model/scope.h"
#include "model/servers.h"
#include "pg/quote.h"

namespace dbr {
namespace {

// Columns of the tables the publications $1 send, as the sender has them. Generated columns
// are computed on each side and not sent.
const char* const kSenderColumns = R"sql(
  SELECT pt.schemaname, pt.tablename, a.attname, format_type(a.atttypid, a.atttypmod)
    FROM pg_publication_tables pt
    JOIN pg_namespace n ON n.nspname = pt.schemaname
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                       AND a.attgenerated = ''
   WHERE pt.pubname = ANY($1::text[])
   ORDER BY 1, 2, a.attnum)sql";

// The same tables on the receiver ($1 schemas, $2 names, pairwise); a table that is not there
// yields no row.
const char* const kReceiverColumns = R"sql(
  SELECT n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
         a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' AND a.attgenerated = ''
    FROM unnest($1::text[], $2::text[]) AS w(nsp, rel)
    JOIN pg_namespace n ON n.nspname = w.nsp
    JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.rel
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
   ORDER BY 1, 2, a.attnum)sql";

std::vector<ColumnShape> ReadColumns(const pg::QueryResult& r) {
  std::vector<ColumnShape> out;
  for (int i = 0; i < r.rows(); ++i) {
    ColumnShape c;
    c.schema = r.Get(i, 0);
    c.relname = r.Get(i, 1);
    c.table = c.schema + "." + c.relname;
    c.column = r.Get(i, 2);
    c.type = r.Get(i, 3);
    c.required_without_default = r.cols() > 4 && r.GetBool(i, 4);
    out.push_back(std::move(c));
  }
  return out;
}

using Columns = std::map<std::string, const ColumnShape*>;  // by column name

}  // namespace

std::string DriftItem::ToString() const {
  return fmt::format("table {}: {}; fix: {}", table, problem, fix);
}

std::vector<DriftItem> CompareLinkCatalog(const LinkCatalog& catalog, const names::Link& link) {
  const std::string from = SideName(link.from), to = SideName(link.to);
  std::map<std::string, Columns> sender, receiver;
  // Keyed by the quoted name: schema "a.b" table "c" is not schema "a" table "b.c".
  for (const auto& c : catalog.sender)
    sender[pg::QualifiedName(c.schema, c.relname)][c.column] = &c;
  for (const auto& c : catalog.receiver)
    receiver[pg::QualifiedName(c.schema, c.relname)][c.column] = &c;

  std::vector<DriftItem> out;
  for (const auto& [qualified, columns] : sender) {
    const std::string& table = columns.begin()->second->table;
    auto there = receiver.find(qualified);
    if (there == receiver.end()) {
      out.push_back({table, fmt::format("published on the {} but missing on the {}", from, to),
                     fmt::format("create it on the {} as it is on the {}", to, from), true});
      continue;
    }
    for (const auto& [name, col] : columns) {
      auto other = there->second.find(name);
      if (other == there->second.end()) {
        out.push_back({table,
                       fmt::format("column {} ({}) exists on the {} but not on the {}", name,
                                   col->type, from, to),
                       fmt::format("on the {}: ALTER TABLE {} ADD COLUMN {} {}", to, qualified,
                                   pg::QuoteIdent(name), col->type),
                       true});
      } else if (other->second->type != col->type) {
        out.push_back({table,
                       fmt::format("column {} is {} on the {} but {} on the {}", name, col->type,
                                   from, other->second->type, to),
                       fmt::format("on the {}: ALTER TABLE {} ALTER COLUMN {} TYPE {}", to,
                                   qualified, pg::QuoteIdent(name), col->type)});
      }
    }
    for (const auto& [name, col] : there->second) {
      if (!col->required_without_default || columns.count(name) > 0) continue;
      out.push_back(
          {table,
           fmt::format("column {} is NOT NULL without a default on the {} and does not exist on "
                       "the {}: inserts cannot be applied",
                       name, to, from),
           fmt::format("on the {}: ALTER TABLE {} ALTER COLUMN {} DROP NOT NULL", to, qualified,
                       pg::QuoteIdent(name)),
           true});
    }
  }
  for (const auto& [schema, name] : catalog.unpublished) {
    const std::string qualified = pg::QualifiedName(schema, name);
    out.push_back(
        {schema + "." + name,
         fmt::format("created on the {} after the relocation started: its rows are not replicated",
                     from),
         fmt::format(
             "create it on the {} as it is on the {}; then on the {}: GRANT SELECT ON {} TO "
             "{}; ALTER PUBLICATION {} ADD TABLE {}; then on the {}: ALTER SUBSCRIPTION {} "
             "REFRESH PUBLICATION (this copies its rows)",
             to, from, from, qualified, pg::QuoteIdent(catalog.replication_user),
             pg::QuoteIdent(link.publication), qualified, to, pg::QuoteIdent(link.subscription)),
         false, true});
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const DriftItem& a, const DriftItem& b) { return a.table < b.table; });
  return out;
}

Result<std::vector<DriftItem>> ReadSchemaDrift(pg::Connection& publisher,
                                               pg::Connection& subscriber,
                                               const std::vector<names::Link>& lanes,
                                               const Config& config) {
  auto sent = publisher.Query(kSenderColumns, {pg::TextArrayLiteral(names::PublicationsOf(lanes))});
  if (!sent.ok()) return sent.status().Wrap("reading the published tables' columns");
  LinkCatalog catalog;
  catalog.sender = ReadColumns(*sent);
  catalog.replication_user = config.upgrade.user;

  std::vector<std::string> nsps, rels;
  std::set<std::string> published;
  for (const auto& c : catalog.sender)
    if (published.insert(pg::QualifiedName(c.schema, c.relname)).second) {
      nsps.push_back(c.schema);
      rels.push_back(c.relname);
    }
  auto received =
      subscriber.Query(kReceiverColumns, {pg::TextArrayLiteral(nsps), pg::TextArrayLiteral(rels)});
  if (!received.ok()) return received.status().Wrap("reading the replicated tables' columns");
  catalog.receiver = ReadColumns(*received);

  // A publication FOR TABLE does not grow: tables created later in scope are left out. Our own
  // schema's tables are added by the step that needs them.
  auto listed = TablesInScope(publisher, config);
  if (!listed.ok()) return listed.status();
  for (const auto& t : *listed)
    if (t.Replicable() && t.schema != names::kSchema && published.count(t.Qualified()) == 0)
      catalog.unpublished.emplace_back(t.schema, t.name);
  return CompareLinkCatalog(catalog, lanes.front());
}

Status NoBlockingDrift(const std::vector<DriftItem>& drift, const std::string& lead) {
  std::string list;
  for (const auto& d : drift)
    if (d.Blocking()) list += "\n  " + d.ToString();
  if (list.empty()) return Status::Ok();
  return Status::Error(lead + list);
}

}  // namespace dbr
