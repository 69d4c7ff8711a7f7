#include "verify/table_shape.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "pg/quote.h"

namespace dbr::verify {

const char* const kSessionSettings =
    "SET extra_float_digits = 3; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; "
    "SET TimeZone = 'UTC'; SET bytea_output = 'hex'; SET statement_timeout = 0; "
    "SET idle_in_transaction_session_timeout = 0; SET client_min_messages = warning";

namespace {

std::string Ref(const Column& c) {
  std::string ref = "t." + pg::QuoteIdent(c.name);
  return c.json ? ref + "::jsonb" : ref;
}

std::string Cast(int param, const std::string& type, bool json = false) {
  std::string e = fmt::format("(${}::text)::{}", param, type);
  return json ? "(" + e + ")::jsonb" : e;
}

}  // namespace

std::string TableShape::Qualified() const {
  return pg::QualifiedName(schema, name);
}

std::string TableShape::RowHash() const {
  std::string cols;
  for (const auto& c : columns) cols += (cols.empty() ? "" : ", ") + Ref(c);
  return "hashtextextended(ROW(" + cols + ")::text, 0)";
}

std::string TableShape::KeyText() const {
  std::string cols;
  for (size_t k : key) cols += (cols.empty() ? "" : ", ") + Ref(columns[k]);
  return "ROW(" + cols + ")::text";
}

std::string TableShape::Bucket() const {
  return HasKey() ? "(hashtextextended(" + KeyText() + ", 1) & 1023)::int"
                  : "(" + RowHash() + " & 1023)::int";
}

std::string TableShape::RowText(const std::vector<std::string>& values) {
  std::string out = "(";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    const std::string& v = values[i];
    bool quote = v.empty();
    for (char ch : v)
      quote = quote || ch == '"' || ch == '\\' || ch == '(' || ch == ')' || ch == ',' ||
              std::isspace(static_cast<unsigned char>(ch));
    if (quote) out += '"';
    for (char ch : v) {
      if (ch == '"' || ch == '\\') out += ch;
      out += ch;
    }
    if (quote) out += '"';
  }
  return out + ")";
}

std::string TableShape::RowHashOfValues(size_t rows, int first_param) const {
  std::string values;
  int p = first_param;
  for (size_t r = 0; r < rows; ++r) {
    std::string row;
    for (size_t c = 0; c <= columns.size(); ++c) row += (c ? ", $" : "$") + std::to_string(p++);
    values += (r ? ", (" : "(") + row + ")";
  }
  std::string cols, names = "i";
  for (size_t c = 0; c < columns.size(); ++c) {
    names += ", c" + std::to_string(c);
    std::string e = fmt::format("(v.c{})::{}", c, columns[c].type);
    cols += (c ? ", " : "") + (columns[c].json ? "(" + e + ")::jsonb" : e);
  }
  return fmt::format(
      "SELECT v.i::int, hashtextextended(ROW({})::text, 0) FROM (VALUES {}) v({}) ORDER BY 1", cols,
      values, names);
}

std::string TableShape::RangePredicate(bool lo, bool hi, int first_param) const {
  std::vector<std::string> parts;
  const std::string lead = Ref(columns[key.front()]);
  const std::string& type = columns[key.front()].type;
  int p = first_param;
  if (lo) parts.push_back(lead + " >= " + Cast(p++, type));
  if (hi) parts.push_back(lead + " < " + Cast(p++, type));
  if (parts.empty()) return "true";
  return parts.size() == 1 ? parts[0] : parts[0] + " AND " + parts[1];
}

std::string TableShape::KeyIn(size_t count, int first_param) const {
  std::string cols, list;
  for (size_t k : key) cols += (cols.empty() ? "" : ", ") + Ref(columns[k]);
  int p = first_param;
  for (size_t i = 0; i < count; ++i) {
    std::string one;
    for (size_t k : key) one += (one.empty() ? "" : ", ") + Cast(p++, columns[k].type);
    list += (i ? ", (" : "(") + one + ")";
  }
  return "(" + cols + ") IN (" + list + ")";
}

std::string TableShape::RangeIndex(int param) const {
  const std::string& type = columns[key.front()].type;
  return fmt::format("(SELECT count(*) FROM unnest(${}::text[]) b WHERE b::{} <= {})::int", param,
                     type, Ref(columns[key.front()]));
}

Result<TableShape> LoadShape(pg::Connection& src, pg::Connection& dst, const TableInfo& table) {
  TableShape shape;
  shape.schema = table.schema;
  shape.name = table.name;
  shape.bytes = table.bytes;
  const std::string qualified = table.Qualified();
  // Key: the replica identity index when the table uses one, else the primary key.
  auto cols = src.Query(R"sql(
    SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.atttypid = 'json'::regtype,
           a.attcollation <> 0,
           (SELECT array_position(i.indkey::int2[], a.attnum)
              FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
             WHERE i.indrelid = a.attrelid
               AND CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END)
      FROM pg_attribute a
     WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = ''
     ORDER BY a.attnum)sql",
                        {qualified});
  if (!cols.ok()) return cols.status().Wrap("reading the columns of " + table.Display());
  auto on_dst = dst.Query(
      "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 "
      "AND NOT a.attisdropped AND a.attgenerated = ''",
      {qualified});
  if (!on_dst.ok()) return on_dst.status();
  std::set<std::string> dst_columns;
  for (int r = 0; r < on_dst->rows(); ++r) dst_columns.insert(on_dst->Get(r, 0));
  auto exists = dst.QueryValue("SELECT to_regclass($1) IS NOT NULL", {qualified});
  if (!exists.ok()) return exists.status();
  shape.missing_on_destination = *exists != "t";

  std::vector<std::pair<int, size_t>> key_positions;  // position in the index, column
  bool lead_collatable = false;
  for (int r = 0; r < cols->rows(); ++r) {
    const std::string name = cols->Get(r, 0);
    const bool is_key = !cols->IsNull(r, 4);
    if (!is_key && !dst_columns.count(name)) continue;  // compared by the schema comparison
    shape.columns.push_back({name, cols->Get(r, 1), cols->GetBool(r, 2)});
    if (is_key) {
      key_positions.push_back({static_cast<int>(cols->GetInt(r, 4)), shape.columns.size() - 1});
      if (cols->GetInt(r, 4) == 1) lead_collatable = cols->GetBool(r, 3);
    }
  }
  std::sort(key_positions.begin(), key_positions.end());
  for (const auto& [pos, col] : key_positions) shape.key.push_back(col);
  shape.splittable = shape.HasKey() && !lead_collatable;
  return shape;
}

}  // namespace dbr::verify
