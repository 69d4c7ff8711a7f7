// What verify compares of one table, and the SQL that reads it the same way on both sides.
//
// A row is compared by a 64-bit hash: the XOR of a hash of each value of a common type by its
// type's own hash function (seeded by its column's position; integers, text and varchar byte for
// byte, uuid, dates and timestamps, booleans, bytea, json exactly; floating point and jsonb as
// their `=` compares them), and of the text form of the others (ROW(...)::text, in session
// settings both sides share), so a value whose text differs between majors but not in meaning
// compares equal. Those hash functions are the ones hash partitioning relies on: the same on
// every major. Hashing a value by its type is several times cheaper than printing it.
// A table is compared by row count and the sum of its rows' hashes; a table that differs is
// compared per key range, ranges that differ are narrowed to 1024 key buckets, then to rows.
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
  bool json = false;  // read as its text, which json keeps as written
  std::string hash;   // its type's hash, "fn({v}, {seed})"; empty: hashed with the others' text
};

// The hash of a pg_catalog type (typname) when both sides have the column with that type;
// empty otherwise.
std::string TypedHash(const std::string& src_type, const std::string& dst_type);

struct TableShape {
  std::string schema;
  std::string name;
  std::vector<Column> columns;  // present on both sides, source order; generated ones excluded
  std::vector<size_t> key;      // primary key or replica identity index; empty: no key
  bool splittable = false;      // leading key column has no collation: ranges by its btree order
  int64_t bytes = 0;
  int64_t src_blocks = 0, dst_blocks = 0;  // the relation's size in blocks on each side
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
  // `t` restricted to blocks [first, first + count) (count 0: to the end), by a TID range scan.
  static std::string BlockPredicate(int64_t first, int64_t count);
  // `t` restricted to key range [lo, hi): either bound may be absent; parameters from $first.
  std::string RangePredicate(bool lo, bool hi, int first_param) const;
  // `t` rows whose key is one of `count` keys given as text values from $first.
  std::string KeyIn(size_t count, int first_param) const;
  // Index of the range a row falls in, given the ranges' lower bounds as $param::text[].
  std::string RangeIndex(int param) const;

 private:
  std::string HashOf(const std::vector<std::string>& refs) const;  // one expression per column
};

// Reads the shape of `table` on both sides; the destination may lack columns (schema
// comparison reports them) or the table itself.
Result<TableShape> LoadShape(pg::Connection& src, pg::Connection& dst, const TableInfo& table);

}  // namespace dbr::verify
