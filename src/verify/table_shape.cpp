#include "verify/table_shape.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

#include "pg/quote.h"

namespace dbr::verify {

const char* const kSessionSettings =
    "SET extra_float_digits = 3; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'; "
    "SET TimeZone = 'UTC'; SET bytea_output = 'hex'; SET statement_timeout = 0; "
    "SET idle_in_transaction_session_timeout = 0; SET client_min_messages = warning";

namespace {

std::string Ref(const Column& c) {
  std::string ref = "t." + pg::QuoteIdent(c.name);
  return c.json ? ref + "::text" : ref;
}

std::string Cast(int param, const std::string& type) {
  return fmt::format("(${}::text)::{}", param, type);
}

// Types whose hash function tells values apart as their text does, or as their `=` does where
// the text shows more (floating point: -0 = 0; jsonb: 1.0 = 1.00 inside a document). Not here:
// numeric (1.0 = 1.00, but the text keeps the scale), interval ('1 day' = '24 hours'), enum
// (hashed by its oid, which differs between clusters), and types a user defines.
// timestamptz is hashed as timestamp in the session's time zone, UTC: the same instant.
struct TypeHash {
  std::string_view type;  // pg_catalog typname
  std::string_view sql;
};
constexpr TypeHash kTypeHashes[] = {
    {"int2", "hashint2extended({v}, {seed})"},
    {"int4", "hashint4extended({v}, {seed})"},
    {"int8", "hashint8extended({v}, {seed})"},
    {"bool", "hashint4extended({v}::int, {seed})"},
    {"text", "hashtextextended({v} COLLATE \"C\", {seed})"},
    {"varchar", "hashtextextended({v}::text COLLATE \"C\", {seed})"},
    {"uuid", "uuid_hash_extended({v}, {seed})"},
    {"date", "hash_array_extended(ARRAY[{v}], {seed})"},
    {"timestamp", "timestamp_hash_extended({v}, {seed})"},
    {"timestamptz", "timestamp_hash_extended({v}::timestamp, {seed})"},
    {"float4", "hashfloat4extended({v}, {seed})"},
    {"float8", "hashfloat8extended({v}, {seed})"},
    {"bytea", "hash_array_extended(ARRAY[{v}], {seed})"},
    {"jsonb", "jsonb_hash_extended({v}, {seed})"},
    // json keeps its text as written, on every major: read as text (Ref), byte for byte. (As
    // jsonb, a "\u0000" it accepts would fail the cast.)
    {"json", "hashtextextended({v} COLLATE \"C\", {seed})"},
};

// A pg_catalog type's name (typname) of `ty`; '' for the others, which a user may name alike.
constexpr std::string_view kCatalogTypeName =
    "CASE WHEN ty.typnamespace = 'pg_catalog'::regnamespace THEN ty.typname::text ELSE '' END";

Result<int64_t> Blocks(pg::Connection& conn, const std::string& qualified) {
  return conn.QueryInt(
      "SELECT pg_relation_size($1::regclass) / current_setting('block_size')::bigint", {qualified});
}

}  // namespace

std::string TypedHash(const std::string& src_type, const std::string& dst_type) {
  if (src_type != dst_type) return "";
  for (const auto& h : kTypeHashes)
    if (h.type == src_type) return std::string(h.sql);
  return "";
}

std::string TableShape::Qualified() const {
  return pg::QualifiedName(schema, name);
}

std::string TableShape::HashOf(const std::vector<std::string>& refs) const {
  std::string typed, rest;
  for (size_t c = 0; c < columns.size(); ++c) {
    if (columns[c].hash.empty()) {
      rest += (rest.empty() ? "" : ", ") + refs[c];
      continue;
    }
    // Seeded by position, so that equal values in two columns do not cancel out; a NULL is the
    // seed's own negative, which no hash of a value is more likely to be than any other number.
    const int64_t seed = static_cast<int64_t>(c) + 1;
    typed += fmt::format(
        "coalesce({}, {}) # ",
        fmt::format(fmt::runtime(columns[c].hash), fmt::arg("v", refs[c]), fmt::arg("seed", seed)),
        -seed);
  }
  if (rest.empty() && !typed.empty()) return "(" + typed.substr(0, typed.size() - 3) + ")";
  return "(" + typed + "hashtextextended(ROW(" + rest + ")::text, 0))";
}

std::string TableShape::RowHash() const {
  std::vector<std::string> refs;
  for (const auto& c : columns) refs.push_back(Ref(c));
  return HashOf(refs);
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
  std::string names = "i";
  std::vector<std::string> refs;
  for (size_t c = 0; c < columns.size(); ++c) {
    names += ", c" + std::to_string(c);
    std::string e = fmt::format("(v.c{})::{}", c, columns[c].type);
    refs.push_back(columns[c].json ? "(" + e + ")::text" : e);
  }
  return fmt::format("SELECT v.i::int, {} FROM (VALUES {}) v({}) ORDER BY 1", HashOf(refs), values,
                     names);
}

std::string TableShape::BlockPredicate(int64_t first, int64_t count) {
  std::string out = fmt::format("t.ctid >= '({},0)'::tid", first);
  if (count > 0) out += fmt::format(" AND t.ctid < '({},0)'::tid", first + count);
  return out;
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
           a.attcollation <> 0, )sql" +
                            std::string(kCatalogTypeName) + R"sql(,
           (SELECT array_position(i.indkey::int2[], a.attnum)
              FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
             WHERE i.indrelid = a.attrelid
               AND CASE WHEN c.relreplident = 'i' THEN i.indisreplident ELSE i.indisprimary END)
      FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid
     WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped
       AND a.attgenerated = ''
     ORDER BY a.attnum)sql",
                        {qualified});
  if (!cols.ok()) return cols.status().Wrap("reading the columns of " + table.Display());
  auto on_dst = dst.Query(
      "SELECT a.attname, " + std::string(kCatalogTypeName) +
          " FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid "
          "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped AND "
          "a.attgenerated = ''",
      {qualified});
  if (!on_dst.ok()) return on_dst.status();
  std::map<std::string, std::string> dst_columns;  // name -> type
  for (int r = 0; r < on_dst->rows(); ++r) dst_columns[on_dst->Get(r, 0)] = on_dst->Get(r, 1);
  auto exists = dst.QueryValue("SELECT to_regclass($1) IS NOT NULL", {qualified});
  if (!exists.ok()) return exists.status();
  shape.missing_on_destination = *exists != "t";
  DBR_ASSIGN_OR_RETURN(shape.src_blocks, Blocks(src, qualified));
  if (!shape.missing_on_destination) {
    DBR_ASSIGN_OR_RETURN(shape.dst_blocks, Blocks(dst, qualified));
  }

  std::vector<std::pair<int, size_t>> key_positions;  // position in the index, column
  bool lead_collatable = false;
  for (int r = 0; r < cols->rows(); ++r) {
    const std::string name = cols->Get(r, 0);
    const bool is_key = !cols->IsNull(r, 5);
    auto dst_type = dst_columns.find(name);
    if (!is_key && dst_type == dst_columns.end()) continue;  // compared by the schema comparison
    const std::string hash =
        dst_type == dst_columns.end() ? "" : TypedHash(cols->Get(r, 4), dst_type->second);
    shape.columns.push_back({name, cols->Get(r, 1), cols->GetBool(r, 2), hash});
    if (is_key) {
      key_positions.push_back({static_cast<int>(cols->GetInt(r, 5)), shape.columns.size() - 1});
      if (cols->GetInt(r, 5) == 1) lead_collatable = cols->GetBool(r, 3);
    }
  }
  std::sort(key_positions.begin(), key_positions.end());
  for (const auto& [pos, col] : key_positions) shape.key.push_back(col);
  shape.splittable = shape.HasKey() && !lead_collatable;
  return shape;
}

}  // namespace dbr::verify
