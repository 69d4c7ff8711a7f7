#include "model/catalog.h"

#include <algorithm>

#include "model/names.h"
#include "pg/quote.h"

namespace dbr {

std::string TableInfo::Qualified() const {
  return pg::QualifiedName(schema, name);
}
std::string TableInfo::Display() const {
  return schema + "." + name;
}

bool TableInfo::HasUsableReplicaIdentity() const {
  switch (replica_identity) {
    case 'f':
      return true;
    case 'd':
      return has_primary_key;
    case 'i':
      return has_identity_index;
    default:
      return false;
  }
}

Result<std::vector<TableInfo>> ListTables(pg::Connection& conn,
                                          const std::vector<std::string>& schemas) {
  auto res = conn.Query(R"sql(
    SELECT n.nspname, c.relname, c.relkind, c.relpersistence, c.relreplident,
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
           EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident),
           CASE WHEN c.relkind IN ('r', 'm') THEN pg_relation_size(c.oid) ELSE 0 END,
           pg_get_userbyid(c.relowner), pg_has_role(c.relowner, 'USAGE')
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = ANY($1::text[]) AND c.relkind IN ('r', 'p', 'f', 'm')
       AND c.relpersistence <> 't'
     ORDER BY 1, 2)sql",
                        {pg::TextArrayLiteral(schemas)});
  if (!res.ok()) return res.status();
  std::vector<TableInfo> tables;
  for (int r = 0; r < res->rows(); ++r) {
    TableInfo t;
    t.schema = res->Get(r, 0);
    t.name = res->Get(r, 1);
    t.relkind = res->Get(r, 2)[0];
    t.persistence = res->Get(r, 3)[0];
    t.replica_identity = res->Get(r, 4)[0];
    t.has_primary_key = res->GetBool(r, 5);
    t.has_identity_index = res->GetBool(r, 6);
    t.bytes = res->GetInt(r, 7);
    t.owner = res->Get(r, 8);
    t.owned_by_current_user = res->GetBool(r, 9);
    tables.push_back(std::move(t));
  }
  return tables;
}

}  // namespace dbr
