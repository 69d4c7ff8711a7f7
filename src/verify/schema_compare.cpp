#include "verify/schema_compare.h"

#include <algorithm>
#include <functional>
#include <set>

#include "model/names.h"
#include "pg/quote.h"
#include "util/parse.h"
#include "verify/schema_diff.h"
#include "verify/schema_normalize.h"

namespace dbr::verify {
namespace {

// Object names are shown as written, but a part holding "." or '"' is double-quoted ("" for "):
// schema "a.b" table "c" is not schema "a" table "b.c". Only those parts, so that names stay as
// readable as before and the same on every major (quote_ident() follows each major's keywords).
// DN(expr) in the queries below stands for that, on the server.
std::string DisplayPart(const std::string& part) {
  if (part.find_first_of(".\"") == std::string::npos) return part;
  return pg::QuoteIdent(part);
}

std::string ExpandDisplayNames(std::string sql) {
  for (size_t at = sql.find("DN("); at != std::string::npos; at = sql.find("DN(", at)) {
    int depth = 1;
    size_t end = at + 3;
    for (; end < sql.size() && depth > 0; ++end)
      depth += sql[end] == '(' ? 1 : sql[end] == ')' ? -1 : 0;
    const std::string expr = sql.substr(at + 3, end - at - 4);
    const std::string quoted = "CASE WHEN strpos(" + expr + ", '.') = 0 AND strpos(" + expr +
                               ", '\"') = 0 THEN " + expr + " ELSE '\"' || replace(" + expr +
                               ", '\"', '\"\"') || '\"' END";
    sql.replace(at, end - at, quoted);
    at += quoted.size();
  }
  return sql;
}

// Each query returns kind, name, then one column per label, then any extra columns `finish`
// reads. All take the schemas as $1.
struct CatalogQuery {
  std::string sql;
  std::vector<Property> labels;  // value filled in per row
  std::function<void(const pg::QueryResult&, int row, int extra, CatalogObject&)> finish;
  bool takes_schemas = true;
};

const char* const kTables = R"sql(
  SELECT 'table', DN(n.nspname) || '.' || DN(c.relname),
         CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'partitioned table'
                        ELSE 'foreign table' END,
         CASE c.relpersistence WHEN 'u' THEN 'unlogged' ELSE 'logged' END,
         COALESCE(pg_get_partkeydef(c.oid), ''),
         COALESCE((SELECT pn.nspname || '.' || p.relname FROM pg_inherits i
                     JOIN pg_class p ON p.oid = i.inhparent
                     JOIN pg_namespace pn ON pn.oid = p.relnamespace
                    WHERE i.inhrelid = c.oid AND c.relispartition), ''),
         COALESCE(pg_get_expr(c.relpartbound, c.oid), ''),
         COALESCE((SELECT string_agg(pn.nspname || '.' || p.relname, ', ' ORDER BY i.inhseqno)
                     FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                     JOIN pg_namespace pn ON pn.oid = p.relnamespace
                    WHERE i.inhrelid = c.oid AND NOT c.relispartition), ''),
         COALESCE(array_to_string(c.reloptions, ', '), ''),
         c.relrowsecurity::text
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'f')
     AND c.relpersistence <> 't'
     AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                        AND e.objid = c.oid AND e.deptype = 'e'))sql";

// Identity and generated columns keep their expression out of "default" so that turning one
// into the other shows as such.
const char* const kColumns = R"sql(
  SELECT 'column', DN(n.nspname) || '.' || DN(c.relname) || '.' || DN(a.attname),
         format_type(a.atttypid, a.atttypmod),
         CASE WHEN a.attnotnull THEN 'NOT NULL' ELSE 'nullable' END,
         CASE WHEN a.attgenerated = '' THEN COALESCE(pg_get_expr(d.adbin, d.adrelid), '')
              ELSE '' END,
         CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' ELSE '' END,
         CASE WHEN a.attgenerated <> '' THEN pg_get_expr(d.adbin, d.adrelid)
              || CASE a.attgenerated WHEN 's' THEN ' STORED' ELSE ' VIRTUAL' END
              ELSE '' END,
         COALESCE((SELECT cn.nspname || '.' || co.collname FROM pg_collation co
                     JOIN pg_namespace cn ON cn.oid = co.collnamespace
                    WHERE co.oid = a.attcollation AND a.attcollation <> t.typcollation), '')
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
    JOIN pg_type t ON t.oid = a.atttypid
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
   WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'f')
     AND c.relpersistence <> 't' AND a.attnum > 0 AND NOT a.attisdropped
     AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                        AND e.objid = c.oid AND e.deptype = 'e'))sql";

const char* const kIndexes = R"sql(
  SELECT 'index', DN(n.nspname) || '.' || DN(ci.relname), pg_get_indexdef(i.indexrelid),
         i.indisunique::text, i.indisvalid::text
    FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
    JOIN pg_class c ON c.oid = i.indrelid
    JOIN pg_namespace n ON n.oid = ci.relnamespace
   WHERE n.nspname = ANY($1::text[]) AND c.relpersistence <> 't'
     AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                        AND e.objid = c.oid AND e.deptype = 'e'))sql";

// NOT NULL constraints (in pg_constraint since 18, for domains since 17) are compared as the
// columns' and domains' NOT NULL. A foreign key that references a partitioned table has one
// clone per referenced partition on the same table, named differently by each major
// (fkey1 / fkey_1): the parent constraint stands for them.
const char* const kConstraints = R"sql(
  SELECT 'constraint',
         DN(n.nspname) || '.' || DN(COALESCE(c.relname, t.typname)) || '.' || DN(co.conname),
         CASE co.contype WHEN 'c' THEN 'check' WHEN 'f' THEN 'foreign key'
                         WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique'
                         WHEN 'x' THEN 'exclusion' WHEN 't' THEN 'trigger'
                         ELSE co.contype::text END,
         pg_get_constraintdef(co.oid), co.convalidated::text
    FROM pg_constraint co JOIN pg_namespace n ON n.oid = co.connamespace
    LEFT JOIN pg_class c ON c.oid = co.conrelid
    LEFT JOIN pg_type t ON t.oid = co.contypid
   WHERE n.nspname = ANY($1::text[]) AND co.contype <> 'n'
     AND (c.oid IS NULL OR c.relpersistence <> 't')
     AND NOT EXISTS (SELECT 1 FROM pg_constraint p
                      WHERE p.oid = co.conparentid AND p.conrelid = co.conrelid))sql";

// Triggers cloned onto partitions (tgparentid) are internal up to 13, visible from 14.
const char* const kTriggers = R"sql(
  SELECT 'trigger', DN(n.nspname) || '.' || DN(c.relname) || '.' || DN(t.tgname), pg_get_triggerdef(t.oid),
         CASE t.tgenabled WHEN 'O' THEN 'enabled' WHEN 'D' THEN 'disabled'
                          WHEN 'R' THEN 'replica' WHEN 'A' THEN 'always' END
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY($1::text[]) AND NOT t.tgisinternal AND t.tgparentid = 0)sql";

const char* const kSequences = R"sql(
  SELECT 'sequence', DN(n.nspname) || '.' || DN(c.relname), format_type(s.seqtypid, NULL),
         s.seqstart::text, s.seqincrement::text, s.seqmin::text, s.seqmax::text,
         s.seqcache::text, s.seqcycle::text,
         COALESCE((SELECT tn.nspname || '.' || t.relname || '.' || a.attname
                     FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                     JOIN pg_namespace tn ON tn.oid = t.relnamespace
                     JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
                    LIMIT 1), ''),
         n.nspname, c.relname, has_sequence_privilege(c.oid, 'SELECT')
    FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY($1::text[]) AND c.relpersistence <> 't'
     AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                        AND e.objid = c.oid AND e.deptype = 'e'))sql";

// "reads": the relations and columns the view's rule depends on.
const char* const kViews = R"sql(
  SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END,
         DN(n.nspname) || '.' || DN(c.relname), pg_get_viewdef(c.oid),
         COALESCE(array_to_string(c.reloptions, ', '), ''),
         (SELECT string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod), ', '
                            ORDER BY a.attnum)
            FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
             AND NOT a.attisdropped),
         (SELECT string_agg(DISTINCT rn.nspname || '.' || r.relname || COALESCE('.' || a.attname, ''),
                            ', ' ORDER BY rn.nspname || '.' || r.relname || COALESCE('.' || a.attname, ''))
            FROM pg_rewrite rw
            JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
            JOIN pg_class r ON r.oid = d.refobjid
            JOIN pg_namespace rn ON rn.oid = r.relnamespace
            LEFT JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum = d.refobjsubid
                                    AND d.refobjsubid > 0
           WHERE rw.ev_class = c.oid AND d.refclassid = 'pg_class'::regclass
             AND d.refobjid <> c.oid),
         CASE WHEN c.relkind = 'm' THEN c.relispopulated::text ELSE '' END
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('v', 'm')
     AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass
                        AND e.objid = c.oid AND e.deptype = 'e'))sql";

// Functions internal to another object (a range type's multirange constructors, 14+) are
// created by the server, not by the schema. Extra columns: schema, name, identity arguments,
// and (14+) pg_get_functiondef of a function with a SQL-standard body.
const char* const kFunctions = R"sql(
  SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate'
                        ELSE 'function' END, '',
         pg_get_function_arguments(p.oid), COALESCE(pg_get_function_result(p.oid), ''),
         l.lanname,
         CASE p.provolatile WHEN 'i' THEN 'immutable' WHEN 's' THEN 'stable'
                            ELSE 'volatile' END,
         p.proisstrict::text, p.prosecdef::text,
         CASE p.proparallel WHEN 's' THEN 'safe' WHEN 'r' THEN 'restricted' ELSE 'unsafe' END,
         p.proleakproof::text, p.procost::text, p.prorows::text,
         COALESCE(array_to_string(p.proconfig, ', '), ''), p.prosrc,
         n.nspname, p.proname, pg_get_function_identity_arguments(p.oid), %SQLBODY%
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
    JOIN pg_language l ON l.oid = p.prolang
   WHERE n.nspname = ANY($1::text[])
     AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass
                        AND e.objid = p.oid AND e.deptype IN ('e', 'i')))sql";

const char* const kSqlBody14 =
    "CASE WHEN p.prosqlbody IS NOT NULL THEN pg_get_functiondef(p.oid) END";

const char* const kPolicies = R"sql(
  SELECT 'policy', DN(n.nspname) || '.' || DN(c.relname) || '.' || DN(p.polname),
         CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'
                       WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,
         p.polpermissive::text,
         (SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(r)::text END, ', '
                            ORDER BY 1)
            FROM unnest(p.polroles) r),
         COALESCE(pg_get_expr(p.polqual, p.polrelid), ''),
         COALESCE(pg_get_expr(p.polwithcheck, p.polrelid), '')
    FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
    JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE n.nspname = ANY($1::text[]))sql";

const char* const kStatistics = R"sql(
  SELECT 'statistics', DN(n.nspname) || '.' || DN(s.stxname), pg_get_statisticsobjdef(s.oid)
    FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace
   WHERE n.nspname = ANY($1::text[]))sql";

// Array types and the row types of tables are covered by what they belong to.
const char* const kTypes = R"sql(
  SELECT 'type', DN(n.nspname) || '.' || DN(t.typname),
         CASE t.typtype WHEN 'e' THEN 'enum' WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite'
                        WHEN 'r' THEN 'range' END,
         CASE t.typtype
           WHEN 'e' THEN (SELECT string_agg(quote_literal(e.enumlabel), ', '
                                            ORDER BY e.enumsortorder)
                            FROM pg_enum e WHERE e.enumtypid = t.oid)
           WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)
           WHEN 'c' THEN (SELECT string_agg(a.attname || ' ' ||
                                            format_type(a.atttypid, a.atttypmod), ', '
                                            ORDER BY a.attnum)
                            FROM pg_attribute a WHERE a.attrelid = t.typrelid
                             AND a.attnum > 0 AND NOT a.attisdropped)
           WHEN 'r' THEN (SELECT format_type(r.rngsubtype, NULL) FROM pg_range r
                           WHERE r.rngtypid = t.oid) END,
         CASE WHEN t.typtype = 'd' THEN t.typnotnull::text ELSE '' END,
         COALESCE(pg_get_expr(t.typdefaultbin, 0), t.typdefault, '')
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
   WHERE n.nspname = ANY($1::text[]) AND t.typtype IN ('e', 'd', 'c', 'r')
     AND (t.typrelid = 0 OR (SELECT relkind FROM pg_class WHERE oid = t.typrelid) = 'c')
     AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_type'::regclass
                        AND e.objid = t.oid AND e.deptype = 'e'))sql";

const char* const kSchemas = R"sql(
  SELECT 'schema', DN(nspname) FROM pg_namespace WHERE nspname = ANY($1::text[]))sql";

// Extensions belong to the database, not to a schema: all of them are compared.
const char* const kExtensions = R"sql(
  SELECT 'extension', e.extname, n.nspname, e.extversion
    FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace)sql";

std::vector<Property> Labels(std::initializer_list<const char*> names) {
  std::vector<Property> out;
  for (const char* n : names) out.push_back({n, "", false});
  return out;
}

Property* Find(CatalogObject& o, const std::string& label) {
  for (auto& p : o.properties)
    if (p.label == label) return &p;
  return nullptr;
}

void CollapseProperty(CatalogObject& o, const char* label) {
  if (Property* p = Find(o, label)) p->value = CollapseWhitespace(p->value);
}

Status ReadSequencePosition(pg::Connection& conn, const pg::QueryResult& r, int row, int extra,
                            CatalogObject& o) {
  std::string schema = r.Get(row, extra), name = r.Get(row, extra + 1);
  if (!r.GetBool(row, extra + 2)) {
    return Status::Error("cannot read sequence " + o.name + " on the " + conn.params().label +
                         ": no SELECT privilege on it");
  }
  auto pos = conn.Query("SELECT last_value, is_called FROM " + pg::QualifiedName(schema, name));
  if (!pos.ok()) return pos.status();
  SequencePosition p;
  p.last_value = pos->GetInt(0, 0);
  p.is_called = pos->GetBool(0, 1);
  if (const Property* inc = Find(o, "increment")) {
    auto increment = ParseInt(inc->value);
    if (!increment)
      return Status::Error("sequence " + o.name + " on the " + conn.params().label +
                           " has an increment that is not an integer: " + inc->value);
    p.increment = *increment;
  }
  o.sequence = p;
  return Status::Ok();
}

std::vector<CatalogQuery> Queries(pg::Connection& conn, const std::set<std::string>& namespaces) {
  std::string functions = kFunctions;
  functions.replace(functions.find("%SQLBODY%"), 9,
                    conn.server_major() >= 14 ? kSqlBody14 : "NULL::text");
  auto collapse = [](const char* label) {
    return
        [label](const pg::QueryResult&, int, int, CatalogObject& o) { CollapseProperty(o, label); };
  };
  std::vector<CatalogQuery> q;
  q.push_back({kSchemas, {}, nullptr});
  q.push_back({kTables,
               Labels({"kind", "persistence", "partition key", "partition of", "partition bound",
                       "inherits", "options", "row level security"}),
               nullptr});
  q.push_back({kColumns,
               Labels({"type", "not null", "default", "identity", "generated", "collation"}),
               nullptr});
  q.push_back({kIndexes, Labels({"definition", "unique", "valid"}), collapse("definition")});
  q.push_back({kConstraints, Labels({"type", "definition", "validated"}), collapse("definition")});
  q.push_back({kTriggers, Labels({"definition", "enabled"}), collapse("definition")});
  q.push_back({kSequences,
               Labels({"data type", "start", "increment", "minimum", "maximum", "cache", "cycle",
                       "owned by"}),
               nullptr});
  q.push_back({kViews, Labels({"definition", "options", "columns", "reads", "populated"}),
               [&namespaces](const pg::QueryResult&, int, int, CatalogObject& o) {
                 Property* def = Find(o, "definition");
                 def->value = CollapseWhitespace(StripColumnQualifiers(def->value, namespaces));
               }});
  q.push_back(
      {functions,
       Labels({"arguments", "result", "language", "volatility", "strict", "security definer",
               "parallel", "leakproof", "cost", "rows", "config", "body"}),
       [](const pg::QueryResult& r, int row, int extra, CatalogObject& o) {
         o.name = DisplayPart(r.Get(row, extra)) + "." + DisplayPart(r.Get(row, extra + 1)) + "(" +
                  StripInModes(r.Get(row, extra + 2)) + ")";
         Property* args = Find(o, "arguments");
         args->value = StripInModes(args->value);
         if (!r.IsNull(row, extra + 3))
           Find(o, "body")->value = CollapseWhitespace(SqlStandardBody(r.Get(row, extra + 3)));
       }});
  q.push_back(
      {kPolicies, Labels({"command", "permissive", "roles", "using", "with check"}), nullptr});
  q.push_back({kStatistics, Labels({"definition"}), collapse("definition")});
  q.push_back({kTypes, Labels({"kind", "definition", "not null", "default"}), nullptr});
  q.push_back({kExtensions, {{"schema", "", false}, {"version", "", true}}, nullptr, false});
  for (auto& query : q) query.sql = ExpandDisplayNames(std::move(query.sql));
  return q;
}

Result<std::vector<CatalogObject>> ReadObjects(pg::Connection& conn, const std::string& schemas) {
  auto all = conn.Query("SELECT nspname FROM pg_namespace");
  if (!all.ok()) return all.status();
  std::set<std::string> namespaces;
  for (int i = 0; i < all->rows(); ++i) namespaces.insert(all->Get(i, 0));
  std::vector<CatalogObject> out;
  for (const auto& query : Queries(conn, namespaces)) {
    auto r = query.takes_schemas ? conn.Query(query.sql, {schemas}) : conn.Query(query.sql);
    if (!r.ok()) return r.status();
    const int extra = 2 + static_cast<int>(query.labels.size());
    for (int row = 0; row < r->rows(); ++row) {
      CatalogObject o{r->Get(row, 0), r->Get(row, 1), query.labels, std::nullopt};
      for (size_t i = 0; i < o.properties.size(); ++i)
        o.properties[i].value = r->Get(row, 2 + static_cast<int>(i));
      if (query.finish) query.finish(*r, row, extra, o);
      if (o.kind == "sequence") DBR_RETURN_IF_ERROR(ReadSequencePosition(conn, *r, row, extra, o));
      out.push_back(std::move(o));
    }
  }
  return out;
}

// One consistent, read-only view of the catalog, with every name qualified in definitions.
Result<std::vector<CatalogObject>> ReadSide(pg::Connection& conn, const std::string& schemas) {
  if (PQtransactionStatus(conn.raw()) != PQTRANS_IDLE) {
    return Status::Error("comparing schemas: the " + conn.params().label +
                         " connection is inside a transaction");
  }
  DBR_RETURN_IF_ERROR(conn.Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  auto objects = [&]() -> Result<std::vector<CatalogObject>> {
    DBR_RETURN_IF_ERROR(conn.Exec("SET LOCAL search_path = pg_catalog, pg_temp"));
    return ReadObjects(conn, schemas);
  }();
  Status end = conn.Exec("ROLLBACK");
  if (!objects.ok()) return objects.status().Wrap("reading the " + conn.params().label + " schema");
  DBR_RETURN_IF_ERROR(end);
  return objects;
}

// An object named after an excluded relation ("s.t") or one of its parts ("s.t.c").
void DropObjectsOf(const std::set<std::string>& excluded, std::vector<CatalogObject>& objects) {
  std::erase_if(objects, [&](const CatalogObject& o) {
    if (excluded.count(o.name)) return true;
    const size_t dot = o.name.rfind('.');
    return dot != std::string::npos && o.kind != "index" && o.kind != "sequence" &&
           excluded.count(o.name.substr(0, dot)) > 0;
  });
}

}  // namespace

Result<std::vector<ObjectResult>> CompareSchemas(pg::Connection& src, pg::Connection& dst,
                                                 const std::vector<std::string>& schemas,
                                                 const std::vector<RelationName>& excluded) {
  std::vector<std::string> in_scope;
  for (const auto& s : schemas)
    if (s != names::kSchema) in_scope.push_back(s);
  const std::string list = pg::TextArrayLiteral(in_scope);
  DBR_ASSIGN_OR_RETURN(auto source, ReadSide(src, list));
  DBR_ASSIGN_OR_RETURN(auto destination, ReadSide(dst, list));
  std::set<std::string> left_out;
  for (const auto& r : excluded) left_out.insert(DisplayPart(r.schema) + "." + DisplayPart(r.name));
  DropObjectsOf(left_out, source);
  DropObjectsOf(left_out, destination);
  return DiffObjects(source, destination);
}

}  // namespace dbr::verify
