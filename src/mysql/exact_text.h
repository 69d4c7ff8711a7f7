// How engine mysql reads a column as text without losing what it holds, for the copy and for
// verify's row hashes: the server prints a FLOAT with 6 significant digits (123456.789 reads as
// 123457), so a FLOAT is read through DOUBLE, whose text holds the stored single-precision value
// exactly and, written back into a FLOAT column, rounds to that same value. TIMESTAMPs are read
// and written in UTC.
#pragma once

#include <string>
#include <string_view>

namespace dbr::mysql {

// `quoted_column` as a select expression, given information_schema.COLUMNS.DATA_TYPE.
inline std::string ExactText(const std::string& quoted_column, std::string_view data_type) {
  return data_type == "float" ? "CAST(" + quoted_column + " AS DOUBLE)" : quoted_column;
}

// Every session that reads or writes values or definitions runs in UTC: a TIMESTAMP, a literal
// default of one or an event's STARTS means the same instant on both sides, whatever time zone
// each server has.
inline constexpr const char* kUtcSession = "SET SESSION time_zone = '+00:00'";

}  // namespace dbr::mysql
