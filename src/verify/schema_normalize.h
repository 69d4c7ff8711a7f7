// Text forms of catalog objects (pg_get_viewdef, pg_get_function_arguments, ...) that change
// between PostgreSQL majors for the same object, brought to one form. Only what was seen to
// differ cosmetically between majors 13..18 is normalised; anything else stays as it is.
#pragma once

#include <set>
#include <string>
#include <string_view>

namespace dbr::verify {

// Runs of whitespace (outside quotes) become one space; leading/trailing space and a trailing
// ';' go.
std::string CollapseWhitespace(std::string_view sql);

// PostgreSQL 16+ leaves out the qualifier of a column reference when only one relation is
// visible at that query level ("o.id" became "id"). Removes `qualifier.` in front of a name,
// outside quotes and literals, unless the qualifier names one of `schemas` (with search_path
// set to pg_catalog, tables, functions and types are schema-qualified, columns never are) or is
// itself qualified. What this could hide (a column now read from another relation) shows in the
// columns a view reads, compared separately.
std::string StripColumnQualifiers(std::string_view sql, const std::set<std::string>& schemas);

// PostgreSQL 14+ spells a procedure's input arguments "IN a integer"; 13 spells "a integer".
// Drops a leading "IN " from each argument of a list such as "IN a integer, INOUT b integer".
std::string StripInModes(std::string_view args);

// The body of a function written with a SQL-standard body (BEGIN ATOMIC ... END or RETURN ...),
// cut out of pg_get_functiondef's output; the whole text when there is no such body.
std::string SqlStandardBody(std::string_view functiondef);

}  // namespace dbr::verify
