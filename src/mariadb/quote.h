// Identifiers as SQL text for the MySQL family (values: Connection::Literal, which knows the
// session's sql_mode). The counterpart of pg/quote.h.
#pragma once

#include <string>
#include <string_view>

namespace dbr::mariadb {

// Always back-quoted (a back-quote inside doubled), so keywords, case and spaces stay as named.
// Back-quotes work in every sql_mode (ANSI_QUOTES adds double quotes; it takes nothing away).
std::string QuoteIdent(std::string_view name);
// `db`.`name`
std::string QualifiedName(std::string_view database, std::string_view name);

}  // namespace dbr::mariadb
