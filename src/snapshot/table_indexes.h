// The post-data entries of the schema archive that belong to one table and need nothing but its
// rows: its indexes and its primary key, unique and exclusion constraints (with what pg_dump
// writes beside them: replica identity, CLUSTER ON, statistics targets). The logical copy builds
// a large table's entries as soon as its rows are in, while the other tables still copy, as
// pg_restore does with its own data; the post-data restore at the end skips the entries whose
// index the destination has by then (after a crash too: an entry is built in one transaction).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "pg/connection.h"
#include "util/status.h"

namespace dbr {

class TableIndexes {
 public:
  // Maps the entries of `toc` (`pg_restore --list`) to the tables in `src`'s catalog.
  static Result<TableIndexes> Plan(pg::Connection& src, const std::string& toc);

  // The lines of `toc` for the table `qualified` ("schema"."name"); empty when it has none.
  std::string ListOf(const std::string& qualified) const;
  // The descriptions of the entries whose index exists on `dst`.
  Result<std::set<std::string>> Built(pg::Connection& dst) const;

 private:
  struct Entry {
    std::string table;        // "schema"."name"
    std::string schema;       // of the index
    std::string index;        // the index's name (a constraint's index is named as it is)
    std::string description;  // as in the table of contents
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> lists_;  // table -> its lines of the table of contents
};

}  // namespace dbr
