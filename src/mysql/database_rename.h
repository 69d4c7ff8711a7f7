// The relocated database under another name on the destination (dst.name, issue #25): the
// texts the copy makes objects from and the grants it gives name the database where they
// qualify a table (`shop`.`orders`, shop.orders), and those names are made the other's.
#pragma once

#include <string>
#include <string_view>

namespace dbr::mysql {

// `sql` with each identifier `from` that qualifies another (it is followed by a dot and is not
// itself after one) made `to`, back-quoted. Identifiers are compared exactly (database names
// are case-sensitive on Linux); string literals and comments are left as they are. A table
// named as its database would be renamed where it qualifies a column: preflight refuses that
// case (mysql/preflight.cpp).
std::string RenameDatabaseIn(std::string_view sql, std::string_view from, std::string_view to);

}  // namespace dbr::mysql
