// The database's definitions read on the source and made on the destination (issue #25): the
// database and its tables before the rows; views, routines, triggers and events after them
// (a trigger made before the rows would fire for each copied row). Each object is made with
// the sql_mode it was defined under and keeps its definer. Events are made DISABLE ON SLAVE:
// the source's scheduler still runs them, and the destination's starts them at a cut-over.
#pragma once

#include <string>
#include <vector>

#include "mariadb/connection.h"
#include "util/status.h"

namespace dbr::mysql {

struct Definition {
  std::string kind;  // TABLE, VIEW, PROCEDURE, FUNCTION, TRIGGER, EVENT
  std::string name;
  std::string sql;       // CREATE ... as the source shows it
  std::string sql_mode;  // the object's own; empty: the session's
  // EVENT: the time zone its schedule is in (its STARTS as SHOW CREATE prints it); empty: UTC.
  std::string time_zone;
  // TABLE: the statement to run once its rows are in (mysql/deferred_indexes.h); "": none.
  std::string after_rows;
};

struct SchemaDefinitions {
  std::string database;  // as the source names it
  std::string target;    // as the destination is to (dst.name): ReadSchema makes it `database`
  std::string create_database;
  std::vector<Definition> tables, views, routines, triggers, events;
};

// Read in a snapshot session (object definitions are not versioned: read them first).
Result<SchemaDefinitions> ReadSchema(mariadb::Connection& source, const std::string& database);

// The definitions made for the database named `target` on the destination: their texts'
// qualifiers of the source's name renamed (mysql/database_rename.h), each read by its own
// sql_mode. Before DeferSecondaryKeys.
void MakeAs(SchemaDefinitions& schema, const std::string& target);

// The database and its tables, on a destination connection; existing ones are left as they are
// (a resumed copy).
Status CreateTables(mariadb::Connection& destination, const SchemaDefinitions& schema);
// Views (in an order where each finds the views it reads), routines, triggers and events.
Status CreateObjectsAfterRows(mariadb::Connection& destination, const SchemaDefinitions& schema);

}  // namespace dbr::mysql
