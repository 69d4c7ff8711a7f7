// The only place identifiers and literals become SQL text. Values that can be sent as query
// parameters are sent as parameters; these helpers are for the places SQL has no parameters
// (identifiers, DDL, utility commands, the replication protocol).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dbr::pg {

// Always double-quotes, so keywords, mixed case, spaces and unicode stay exactly as named.
std::string QuoteIdent(std::string_view name);
// "schema"."name"
std::string QualifiedName(std::string_view schema, std::string_view name);
// A string literal; assumes standard_conforming_strings (on since PostgreSQL 9.1); uses the
// E'' form when the value holds a backslash so the result is right either way.
std::string QuoteLiteral(std::string_view value);
// A value inside a libpq connection string: single-quoted with \ and ' escaped.
std::string QuoteConninfoValue(std::string_view value);
// "a", "b", "c"
std::string QuoteIdentList(const std::vector<std::string>& names);

}  // namespace dbr::pg

namespace dbr::pg {

// A text[] literal ('{"a","b"}' form) to pass a list as one query parameter: $1::text[].
std::string TextArrayLiteral(const std::vector<std::string>& values);

}  // namespace dbr::pg
