// The schema half of engine mysql's verify (issue #25): the database's objects read from both
// sides' information_schema and compared kind by kind. Each object is compared by a text of what
// defines it, not by SHOW CREATE, whose wording changes between server versions:
//   table      type, engine, collation, create options
//   column     position, type, NULL, default, extra (auto_increment, ON UPDATE), generation,
//              collation
//   index      uniqueness, type and columns (with prefix lengths)
//   foreign key  columns, referenced table and columns, ON UPDATE / ON DELETE
//   check constraint  its clause (MariaDB: and whether on a column or the table; MySQL: and
//              whether enforced)
//   view       definer, security, check option, definition
//   routine    definer, security, parameters, returns, sql_mode, body
//   trigger    definer, timing, event, table, sql_mode, statement
//   event      definer, schedule, on completion, sql_mode, body; whether it is enabled is only
//              shown (the copy makes events DISABLE ON SLAVE on the side that replicates)
// Not compared: partitioning beyond CREATE_OPTIONS, grants.
#pragma once

#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::mysql {

enum class ObjectVerdict { kOk, kDiffers, kMissing, kExtra };

struct ObjectComparison {
  std::string kind;  // table, column, index, foreign key, view, routine, trigger, event
  std::string name;  // database.table[.column] and the like, unquoted
  ObjectVerdict verdict = ObjectVerdict::kOk;
  std::string detail;  // what differs, with both sides' texts; for OK ones, what is only shown
};

// Every object of the database (`primary_database` on `primary`, `follower_database` on
// `follower`; objects named and texts worded by the primary's name) on `primary` against
// `follower` (MISSING: absent on the follower; EXTRA: only there), sorted by kind then name;
// the labels name the sides in details.
Result<std::vector<ObjectComparison>> CompareSchemas(mariadb::Connection& primary,
                                                     mariadb::Connection& follower,
                                                     const std::string& primary_database,
                                                     const std::string& follower_database,
                                                     const std::string& primary_label,
                                                     const std::string& follower_label);

// "... source `abc` ... destination `abd` ...": both texts from a little before their first
// difference, cut to a readable length.
std::string WhereTextsDiffer(const std::string& a, const std::string& b, const std::string& a_label,
                             const std::string& b_label);

}  // namespace dbr::mysql
