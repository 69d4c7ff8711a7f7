// What verify compares of one table, and the SQL that reads it the same way on both sides.
//
// A row is compared by a 64-bit hash of its text form (ROW(...)::text, in session settings both
// sides share, json as jsonb), so a value whose text differs between majors but not in meaning
// compares equal. A table is compared by row count and the sum of its rows' hashes, per key
// range; ranges that differ are narrowed to 1024 key buckets, then to rows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/catalog.h"
#include "pg/connection.h"
#include "util/status.h"

namespace dbr::verify {

// Settings every verify session runs with, so both sides print values alike.
extern const char* const kSessionSettings;

struct Column {
  std::string name;
  std::string type;   // format_type() on the source, for casts of text values
  bool json = false;  // compared as jsonb: key order and spacing do not count
};

struct TableShape {
  std::string schema;
  std::string name;
  std::vector<Column> columns;  // present on both sides, source order; generated ones excluded
  std::vector<size_t> key;      // primary key or replica identity index; empty: no key
  bool splittable = false;      // leading key column has no collation: ranges by its btree order
  int64_t bytes = 0;
  bool missing_on_destination = false;

  std::string Display() const { return schema + "." + name; }
  std::string Qualified() const;
  bool HasKey() const { return !key.empty(); }

  // SQL expressions over the table aliased `t`.
  std::string RowHash() const;  // bigint
  std::string KeyText() const;  // ROW(key...)::text
  std::string Bucket() const;   // 0..1023 from the key (or the row's hash without a key)
  // ROW(...)::text quoting of text values, as record_out does: the key text of decoded values.
  static std::string RowText(const std::vector<std::string>& values);
  // The hash of rows given as text values ($first.. in column order, one row per VALUES entry).
  std::string RowHashOfValues(size_t rows, int first_param) const;
  // `t` restricted to key range [lo, hi): either bound may be absent; parameters from $first.
  std::string RangePredicate(bool lo, bool hi, int first_param) const;
  // `t` rows whose key is one of `count` keys given as text values from $first.
  std::string KeyIn(size_t count, int first_param) const;
  // Index of the range a row falls in, given the ranges' lower bounds as $param::text[].
  std::string RangeIndex(int param) const;
};

// Reads the shape of `table` on both sides; the destination may lack columns (schema
// comparison reports them) or the table itself.
Result<TableShape> LoadShape(pg::Connection& src, pg::Connection& dst, const TableInfo& table);

}  // namespace dbr::verify
