// Secondary indexes made once a table's rows are in, as pg_restore does and myloader's
// --innodb-optimize-keys: InnoDB builds an index from the sorted rows of a whole table much
// faster than it keeps it up to date row by row, a unique key of random values most of all.
#pragma once

#include <string>

#include "mysql/schema_copy.h"

namespace dbr::mysql {

struct SplitTable {
  std::string create;     // the CREATE TABLE without the deferred keys
  std::string add_later;  // ALTER TABLE ... ADD each of them, in one statement; "": none
};

// SHOW CREATE TABLE's text of `table` split in two. Deferred: the plain and unique secondary
// keys of an InnoDB table. Kept in the CREATE: the primary key, FULLTEXT and SPATIAL keys, a
// key holding the AUTO_INCREMENT column (the table cannot be made without one), and every key
// of a table without a primary key, of a system-versioned one, of another engine, or of a
// table with a foreign key or that another table's foreign key references (`referenced`).
SplitTable DeferSecondaryKeys(const std::string& table, const std::string& create, bool referenced);

// Each table of `schema` split so: its `sql` loses the deferred keys and `after_rows` gets the
// statement that adds them.
void DeferSecondaryKeys(SchemaDefinitions& schema);

}  // namespace dbr::mysql
