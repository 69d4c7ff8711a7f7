// DDL run on the sending side while replication is live: logical replication carries rows, not
// schema changes, so a column added on the source makes the apply worker fail on the first row
// that carries it, over and over, and a table created there is not replicated at all. This reads
// both catalogs for the tables of one replication link and names each difference with the
// statement that fixes it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.h"
#include "model/names.h"
#include "pg/connection.h"
#include "util/status.h"

namespace dbr {

struct DriftItem {
  std::string table;    // schema.table, for humans
  std::string problem;  // "column note (text) exists on the source but not on the destination"
  std::string fix;      // the statement(s) to run, and where
  // The apply worker fails on it (a missing column, a missing table, a NOT NULL column the
  // sender does not fill), rather than merely risking it (a different type).
  bool stalls_apply = false;
  // Rows of this table are not replicated at all (a table created on the sender after the
  // publication): nothing fails, they are simply missing on the receiver.
  bool not_replicated = false;

  bool Blocking() const { return stalls_apply || not_replicated; }
  std::string ToString() const;  // "table T: problem; fix: ..."
};

// One column as the drift check sees it.
struct ColumnShape {
  std::string table;  // schema.table
  std::string schema, relname;
  std::string column;
  std::string type;                       // format_type()
  bool required_without_default = false;  // NOT NULL, no default, not identity or generated
};

struct LinkCatalog {
  std::vector<ColumnShape> sender;    // columns of the published tables (not generated)
  std::vector<ColumnShape> receiver;  // columns of the same tables; absent tables have none
  // (schema, table) on the sender, in scope, not published.
  std::vector<std::pair<std::string, std::string>> unpublished;
  std::string replication_user;  // reads the published tables on the sender
};

// The pure comparison, sorted by table.
std::vector<DriftItem> CompareLinkCatalog(const LinkCatalog& catalog, const names::Link& link);

// Reads both catalogs for the lanes of one direction (publisher = sending side) over the schemas
// in scope; a fix names the first lane (a table created later joins lane 1).
Result<std::vector<DriftItem>> ReadSchemaDrift(pg::Connection& publisher,
                                               pg::Connection& subscriber,
                                               const std::vector<names::Link>& lanes,
                                               const Config& config);

// An error listing the blocking items of `drift` (with their fixes) after `lead`, or Ok.
Status NoBlockingDrift(const std::vector<DriftItem>& drift, const std::string& lead);

}  // namespace dbr
