// The schema half of `db_relocate verify`: every schema object in scope compared between source
// and destination, read from both catalogs, with the text forms that change between majors
// normalised (see schema_normalize.h).
#pragma once

#include <string>
#include <vector>

#include "model/scope.h"
#include "pg/connection.h"
#include "util/status.h"
#include "verify/verdict.h"

namespace dbr::verify {

struct ObjectResult {
  std::string kind;  // "table", "column", "index", "constraint", "sequence", "view", ...
  std::string name;  // schema.table[.column] / schema.index etc, for humans (unquoted, dotted)
  Verdict status = Verdict::kOk;  // OK, DIFFERS, MISSING, EXTRA or BEHIND
  std::string detail;             // what differs, with both sides' values: "type: source integer,
                                  // destination bigint"; for OK objects, informational differences
};

// Compares the schema objects of `schemas` (db_relocate's own schema is ignored) between the two
// servers, plus the database's extensions. Returns one result per object, sorted by kind then
// name. Each side is read in one read-only REPEATABLE READ transaction with search_path set to
// pg_catalog (so every name in a definition is schema-qualified the same way on both sides):
// call it on connections that are not inside a transaction.
//
// Kinds: schema, table (partitions included), column, index, constraint, trigger, sequence,
// view, materialized view, function, procedure, aggregate, policy, statistics, type (enum,
// domain, composite, range), extension. Objects that belong to an extension, and objects the
// server derives from another one (partition clones of triggers and of foreign keys to a
// partitioned table, multirange constructors, NOT NULL constraints) are covered by their owner.
//
// Sequences are OK when the destination's next value is not one the source may have handed out
// (ahead is fine), BEHIND otherwise; the values are read from the sequence relations, so with
// CACHE > 1 the source's figure includes values its sessions hold in their caches. Extensions
// are OK when present on both sides in the same schema; a different version is shown in the
// detail (majors ship different versions). A view's definition is compared, and shown, with
// column qualifiers left out (see StripColumnQualifiers); the columns it reads are compared too.
//
// Objects of the relations in `excluded` (filtered out of the relocation: ScopeListing::excluded)
// are left out: the relation, its columns, constraints, triggers and policies, and its indexes
// (which the listing names too).
Result<std::vector<ObjectResult>> CompareSchemas(pg::Connection& src, pg::Connection& dst,
                                                 const std::vector<std::string>& schemas,
                                                 const std::vector<RelationName>& excluded = {});

}  // namespace dbr::verify
