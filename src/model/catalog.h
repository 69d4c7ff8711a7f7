// The tables of a list of schemas, read from a server's catalog: their kind, keys, sizes and owners
// (model/scope.h decides which of them the relocation covers).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "util/status.h"

namespace dbr {

struct TableInfo {
  std::string schema;
  std::string name;
  char relkind = 'r';      // r table, p partitioned, f foreign, m materialized view
  char persistence = 'p';  // p permanent, u unlogged
  char replica_identity = 'd';
  bool has_primary_key = false;
  bool has_identity_index = false;
  int64_t bytes = 0;  // heap size on disk
  std::string owner;
  bool owned_by_current_user = false;  // owner is the current user or a role it belongs to

  std::string Qualified() const;  // "schema"."name", quoted
  std::string Display() const;    // schema.name, for messages
  // Rows can be copied and kept in sync: a permanent plain table or partition.
  bool Replicable() const { return relkind == 'r' && persistence == 'p'; }
  // UPDATE and DELETE keep working once the table is published.
  bool HasUsableReplicaIdentity() const;
};

// Every table of `schemas`; model/scope.h narrows it to what the relocation covers.
Result<std::vector<TableInfo>> ListTables(pg::Connection& conn,
                                          const std::vector<std::string>& schemas);

}  // namespace dbr
