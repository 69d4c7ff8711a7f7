#include "snapshot/referencing_tables.h"

#include "pg/quote.h"

namespace dbr {

Result<std::set<std::string>> WithReferencingTables(pg::Connection& conn,
                                                    const std::vector<std::string>& tables) {
  // A foreign key to a partitioned table names that table (and each of its partitions, in
  // constraints of its own); one of a partitioned table is the constraint of each partition. A
  // table dropped on the source since is left out.
  auto rows = conn.Query(R"sql(
    WITH RECURSIVE handed(oid) AS (
        SELECT to_regclass(name)::oid FROM unnest($1::text[]) name
         WHERE to_regclass(name) IS NOT NULL
      UNION
        SELECT r.relid FROM handed h
          CROSS JOIN LATERAL (SELECT h.oid AS relid
                              UNION SELECT relid FROM pg_partition_ancestors(h.oid)) a
          JOIN pg_constraint co ON co.contype = 'f' AND co.confrelid = a.relid
          CROSS JOIN LATERAL (SELECT co.conrelid AS relid
                              UNION SELECT relid FROM pg_partition_tree(co.conrelid)
                                     WHERE isleaf) r)
    SELECT n.nspname, c.relname FROM handed JOIN pg_class c ON c.oid = handed.oid
      JOIN pg_namespace n ON n.oid = c.relnamespace)sql",
                         {pg::TextArrayLiteral(tables)});
  if (!rows.ok()) return rows.status();
  std::set<std::string> out;
  for (int i = 0; i < rows->rows(); ++i)
    out.insert(pg::QualifiedName(rows->Get(i, 0), rows->Get(i, 1)));
  return out;
}

}  // namespace dbr
