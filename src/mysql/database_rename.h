// The relocated database under another name on the destination (dst.name, issue #25): the
// texts the copy makes objects from and the grants it gives name the database where they
// qualify a table (`shop`.`orders`, shop.orders), and those names are made the other's.
#pragma once

#include <string>
#include <string_view>

namespace dbr::mysql {

// How a text's quotes read, by the sql_mode it was defined under.
struct SqlQuoting {
  bool ansi_quotes = false;       // "x" is an identifier (ANSI_QUOTES), not a string
  bool backslash_escapes = true;  // a backslash escapes in a string (not NO_BACKSLASH_ESCAPES)

  static SqlQuoting OfSqlMode(std::string_view sql_mode);
};

// `sql` with each identifier `from` that qualifies another (it is followed by a dot and is not
// itself after one) made `to`, back-quoted. Identifiers are compared exactly (database names
// are case-sensitive on Linux); string literals and comments are left as they are. A table
// named as its database would be renamed where it qualifies a column: preflight refuses that
// case (mysql/preflight.cpp); an alias named so is renamed too, which preflight warns of.
std::string RenameDatabaseIn(std::string_view sql, std::string_view from, std::string_view to,
                             SqlQuoting quoting = {});

// A database name as a pattern (replicate_wild_do_table, a GRANT's database): its own _, % and
// backslash escaped, so that they are not wildcards.
std::string LikePattern(std::string_view name);

}  // namespace dbr::mysql
