#include "mysql/verify.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <unordered_map>

#include "mariadb/quote.h"
#include "mysql/exact_text.h"
#include "mysql/key_ranges.h"
#include "mysql/replication.h"
#include "mysql/snapshot.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/parse.h"
#include "util/text.h"

namespace dbr::mysql {
namespace {

using mariadb::Connection;
using mariadb::QuoteIdent;

// Starts the destination's applier again however the comparison ends.
class ApplierStopped {
 public:
  ApplierStopped(Connection& dst, std::string channel)
      : dst_(dst), channel_(std::move(channel)), dialect_(DialectOf(dst)) {}
  ~ApplierStopped() {
    if (stopped_) (void)dst_.Exec(dialect_.StartApplier(channel_));
  }
  Status Stop() {
    DBR_RETURN_IF_ERROR(dst_.Exec(dialect_.StopApplier(channel_)));
    stopped_ = true;
    return Status::Ok();
  }
  // Applies up to `point` and stops there.
  Status ApplyUntil(const BinlogPosition& point, std::chrono::seconds timeout) {
    DBR_RETURN_IF_ERROR(dst_.Exec(dialect_.StartApplierUntil(channel_, point)));
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      DBR_ASSIGN_OR_RETURN(ReplicaState state, ReadReplica(dst_, channel_));
      if (!state.applying) {
        if (!state.error.empty())
          return Status::Error("the destination's replication stopped: " + state.error);
        if (state.applied.file != point.file || state.applied.offset != point.offset)
          return Status::Error(
              fmt::format("the destination's applier stopped at the source's {}, not at {}",
                          state.applied.Display(), point.Display()));
        return Status::Ok();
      }
      if (std::chrono::steady_clock::now() >= deadline)
        return Status::Error(
            fmt::format("the destination did not reach the source's {} within {} s (it is at {})",
                        point.Display(), timeout.count(), state.applied.Display()));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  Status Resume() {
    stopped_ = false;
    return dst_.Exec(dialect_.StartApplier(channel_));
  }

 private:
  Connection& dst_;
  const std::string channel_;
  Dialect dialect_;
  bool stopped_ = false;
};

// A table's columns, and those of its primary key (none: compared whole).
struct Shape {
  std::string name;
  std::vector<std::string> columns, key;  // quoted; columns as read exactly (mysql/exact_text.h)
  std::vector<std::string> key_names;     // as a message shows them
  std::vector<std::string> shown;  // each column as a message shows it: 42, 'text', 0x0A1B, NULL
};

bool IsBytes(const std::string& data_type) {
  static const std::set<std::string> kBytes = {
      "binary",   "varbinary",  "tinyblob",        "blob",         "mediumblob",
      "longblob", "bit",        "geometry",        "point",        "linestring",
      "polygon",  "multipoint", "multilinestring", "multipolygon", "geometrycollection"};
  return kBytes.contains(data_type);
}

bool IsNumber(const std::string& data_type) {
  static const std::set<std::string> kNumbers = {
      "tinyint", "smallint", "mediumint", "int", "bigint", "decimal", "float", "double", "year"};
  return kNumbers.contains(data_type);
}

Result<std::vector<Shape>> Shapes(Connection& c, const std::string& database) {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows cols,
      c.Query("SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE FROM information_schema.COLUMNS c "
              "JOIN "
              "information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = "
              "c.TABLE_NAME WHERE c.TABLE_SCHEMA = " +
              c.Literal(database) +
              " AND t.TABLE_TYPE = 'BASE TABLE' ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION"));
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows keys,
      c.Query("SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE "
              "TABLE_SCHEMA = " +
              c.Literal(database) +
              " AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_NAME, ORDINAL_POSITION"));
  std::vector<Shape> shapes;
  for (int i = 0; i < cols.rows(); ++i) {
    if (shapes.empty() || shapes.back().name != cols.Get(i, 0)) shapes.push_back({cols.Get(i, 0)});
    const std::string exact = ExactText(QuoteIdent(cols.Get(i, 1)), cols.Get(i, 2));
    shapes.back().columns.push_back(exact);
    const std::string& type = cols.Get(i, 2);
    shapes.back().shown.push_back(IsNumber(type) ? "COALESCE(" + exact + ", 'NULL')"
                                  : IsBytes(type)
                                      ? "COALESCE(CONCAT('0x', HEX(" + exact + ")), 'NULL')"
                                      : "QUOTE(" + exact + ")");
  }
  for (int i = 0; i < keys.rows(); ++i)
    for (auto& s : shapes)
      if (s.name == keys.Get(i, 0)) {
        s.key.push_back(QuoteIdent(keys.Get(i, 1)));
        s.key_names.push_back(keys.Get(i, 1));
      }
  return shapes;
}

// A row's hash: MD5 of its values joined, with which of them are NULL (pt-table-checksum's
// form, so NULL and '' differ).
std::string RowHash(const Shape& s) {
  std::vector<std::string> nulls;
  for (const auto& c : s.columns) nulls.push_back("ISNULL(" + c + ")");
  return fmt::format("MD5(CONCAT_WS('#', {}, CONCAT({})))", Join(s.columns, ", "),
                     Join(nulls, ", "));
}

struct Sum {
  std::string count, sum;
};

std::string From(const std::string& database, const Shape& s, const std::string& where) {
  return mariadb::QualifiedName(database, s.name) + (where.empty() ? "" : " WHERE " + where);
}

Result<Sum> TableSum(Connection& c, const std::string& database, const Shape& s,
                     const std::string& where = "") {
  DBR_ASSIGN_OR_RETURN(
      mariadb::Rows r,
      c.Query(fmt::format("SELECT COUNT(*), COALESCE(SUM(CAST(CONV(SUBSTRING({}, 1, 15), 16, 10) "
                          "AS UNSIGNED)), 0) FROM {}",
                          RowHash(s), From(database, s, where))));
  return Sum{r.Get(0, 0), r.Get(0, 1)};
}

// Each row's key (as "(a, b)=(1, 2)") and hash, in a map: for a key range found to differ.
Result<std::unordered_map<std::string, std::string>> KeyedHashes(Connection& c,
                                                                 const std::string& database,
                                                                 const Shape& s,
                                                                 const std::string& where) {
  std::unordered_map<std::string, std::string> rows;
  const std::string key_names = "(" + Join(s.key_names, ", ") + ")=";
  DBR_RETURN_IF_ERROR(c.Stream(
      fmt::format("SELECT {}, {} FROM {}", RowHash(s), Join(s.key, ", "), From(database, s, where)),
      [&](const std::vector<mariadb::Column>&, const std::vector<mariadb::Value>& row) {
        std::vector<std::string> values;
        for (size_t i = 1; i < row.size(); ++i)
          values.push_back(row[i].null() ? "NULL" : std::string(row[i].data, row[i].size));
        rows[key_names + "(" + Join(values, ", ") + ")"] = std::string(row[0].data, row[0].size);
        return Status::Ok();
      }));
  return rows;
}

// A table without a primary key is a multiset of rows. Its row hashes are counted in 256 buckets
// (a hash's first two hex digits) on both sides; the buckets that differ are read again, a few at
// a time, as each hash's count on each side, so that at most about kHashesHeld hashes are held at
// once; a hash counted more on one side is that many rows only there, shown from that side.
constexpr int64_t kHashesHeld = 500000;

using BucketFigures = std::map<std::string, Sum>;  // bucket: its rows' count and hash sum

Result<BucketFigures> Buckets(Connection& c, const std::string& database, const Shape& s) {
  BucketFigures out;
  DBR_RETURN_IF_ERROR(c.Stream(
      fmt::format("SELECT LEFT(h, 2), COUNT(*), SUM(CAST(CONV(SUBSTRING(h, 3, 13), 16, 10) AS "
                  "UNSIGNED)) FROM (SELECT {} AS h FROM {}) x GROUP BY 1",
                  RowHash(s), From(database, s, "")),
      [&](const std::vector<mariadb::Column>&, const std::vector<mariadb::Value>& row) {
        out[std::string(row[0].data, row[0].size)] = {std::string(row[1].data, row[1].size),
                                                      std::string(row[2].data, row[2].size)};
        return Status::Ok();
      }));
  return out;
}

// Each hash's count among the rows of `buckets`.
Result<std::unordered_map<std::string, int64_t>> HashCounts(
    Connection& c, const std::string& database, const Shape& s,
    const std::vector<std::string>& buckets) {
  std::vector<std::string> quoted;
  for (const auto& b : buckets) quoted.push_back(c.Literal(b));
  std::unordered_map<std::string, int64_t> out;
  DBR_RETURN_IF_ERROR(c.Stream(
      fmt::format("SELECT h, COUNT(*) FROM (SELECT {} AS h FROM {}) x WHERE LEFT(h, 2) IN ({}) "
                  "GROUP BY h",
                  RowHash(s), From(database, s, ""), Join(quoted, ", ")),
      [&](const std::vector<mariadb::Column>&, const std::vector<mariadb::Value>& row) {
        out[std::string(row[0].data, row[0].size)] =
            ParseInt(std::string_view(row[1].data, row[1].size)).value_or(0);
        return Status::Ok();
      }));
  return out;
}

// A row of hash `hash`, as "(1, 'a', NULL)": about 200 bytes at most, cut between characters.
std::string ShowRow(Connection& c, const std::string& database, const Shape& s,
                    const std::string& hash) {
  auto row = c.Query(fmt::format("SELECT CONCAT('(', CONCAT_WS(', ', {}), ')') FROM {} LIMIT 1",
                                 Join(s.shown, ", "),
                                 From(database, s, RowHash(s) + " = " + c.Literal(hash))));
  if (!row.ok() || row->rows() == 0) return "(a row with hash " + hash + ")";
  std::string text = row->Get(0, 0);
  if (text.size() <= 200) return text;
  size_t cut = 200;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

Status NameKeylessRows(Connection& src, Connection& dst, const std::string& src_db,
                       const std::string& dst_db, const Shape& s, size_t example_limit,
                       TableComparison& t) {
  DBR_ASSIGN_OR_RETURN(BucketFigures a, Buckets(src, src_db, s));
  DBR_ASSIGN_OR_RETURN(BucketFigures b, Buckets(dst, dst_db, s));
  // The buckets that differ, in batches of about kHashesHeld rows (a bucket larger than that
  // alone).
  std::vector<std::vector<std::string>> batches(1);
  int64_t held = 0;
  for (int i = 0; i < 256; ++i) {
    const std::string bucket = fmt::format("{:02x}", i);
    const Sum x = a.count(bucket) ? a[bucket] : Sum{"0", "0"};
    const Sum y = b.count(bucket) ? b[bucket] : Sum{"0", "0"};
    if (x.count == y.count && x.sum == y.sum) continue;
    const int64_t rows = ParseInt(x.count).value_or(0) + ParseInt(y.count).value_or(0);
    if (!batches.back().empty() && held + rows > kHashesHeld) batches.emplace_back(), held = 0;
    batches.back().push_back(bucket);
    held += rows;
  }
  struct Shown {
    std::string hash;
    int64_t more;  // rows of it only on that side
    bool source;   // the source has them
  };
  std::vector<Shown> shown;  // each costs a scan of its side: example_limit of them at most
  for (const auto& batch : batches) {
    if (batch.empty()) continue;
    DBR_ASSIGN_OR_RETURN(auto on_src, HashCounts(src, src_db, s, batch));
    DBR_ASSIGN_OR_RETURN(auto on_dst, HashCounts(dst, dst_db, s, batch));
    auto note = [&](const std::string& hash, int64_t more, bool source) {
      t.differing_rows += more;
      if (shown.size() < example_limit) shown.push_back({hash, more, source});
    };
    for (const auto& [hash, n] : on_src) {
      const auto it = on_dst.find(hash);
      const int64_t m = it == on_dst.end() ? 0 : it->second;
      if (n != m) note(hash, std::abs(n - m), n > m);
    }
    for (const auto& [hash, m] : on_dst)
      if (!on_src.count(hash)) note(hash, m, false);
  }
  for (const auto& [hash, more, source] : shown)
    t.examples.push_back({source ? ShowRow(src, src_db, s, hash) : ShowRow(dst, dst_db, s, hash),
                          fmt::format("only on the {}{}", source ? "source" : "destination",
                                      more > 1 ? fmt::format(", {} times", more) : "")});
  t.detail = "no primary key: compared as a multiset of rows";
  return Status::Ok();
}

// One key range of a table compared: its counts and sums, then its rows by key when they differ.
// At most one range's keys are held in memory.
Result<TableComparison> CompareRange(Connection& src, Connection& dst, const std::string& src_db,
                                     const std::string& dst_db, const Shape& s,
                                     const std::string& where, size_t example_limit) {
  TableComparison t{s.name};
  DBR_ASSIGN_OR_RETURN(Sum a, TableSum(src, src_db, s, where));
  DBR_ASSIGN_OR_RETURN(Sum b, TableSum(dst, dst_db, s, where));
  t.source_rows = ParseInt(a.count).value_or(0);
  t.destination_rows = ParseInt(b.count).value_or(0);
  t.equal = a.count == b.count && a.sum == b.sum;
  if (t.equal) return t;
  t.differing_ranges = 1;
  if (s.key.empty()) {
    DBR_RETURN_IF_ERROR(NameKeylessRows(src, dst, src_db, dst_db, s, example_limit, t));
    return t;
  }
  DBR_ASSIGN_OR_RETURN(auto src_rows, KeyedHashes(src, src_db, s, where));
  DBR_ASSIGN_OR_RETURN(auto dst_rows, KeyedHashes(dst, dst_db, s, where));
  auto note = [&](const std::string& key, const char* what) {
    ++t.differing_rows;
    if (t.examples.size() < example_limit) t.examples.push_back({key, what});
  };
  for (const auto& [key, hash] : src_rows) {
    auto it = dst_rows.find(key);
    if (it == dst_rows.end())
      note(key, "only on the source");
    else if (it->second != hash)
      note(key, "differs");
  }
  for (const auto& [key, hash] : dst_rows)
    if (!src_rows.count(key)) note(key, "only on the destination");
  return t;
}

// A range's result added to its table's.
void Add(TableComparison& table, TableComparison&& range) {
  table.equal = table.equal && range.equal;
  table.source_rows += range.source_rows;
  table.destination_rows += range.destination_rows;
  table.differing_rows += range.differing_rows;
  table.differing_ranges += range.differing_ranges;
  if (table.detail.empty()) table.detail = std::move(range.detail);
  for (auto& x : range.examples) table.examples.push_back(std::move(x));
}

// A table whose rows cannot be compared: its one range differs, for `why`.
TableComparison Unmatched(const std::string& table, std::string why, int64_t source_rows = 0) {
  return {.table = table,
          .equal = false,
          .source_rows = source_rows,
          .differing_ranges = 1,
          .detail = std::move(why)};
}

// The tables whose rows can be compared: on both sides with the same columns. The others are
// added to `unmatched` as differing, saying why (missing on one side, other columns).
Result<std::vector<Shape>> Comparable(Connection& src, const std::string& database,
                                      const std::vector<Shape>& on_source,
                                      const std::vector<Shape>& on_destination,
                                      std::vector<TableComparison>& unmatched) {
  std::map<std::string, const Shape*> left;
  for (const Shape& s : on_destination) left[s.name] = &s;
  std::vector<Shape> comparable;
  for (const Shape& s : on_source) {
    auto it = left.find(s.name);
    if (it == left.end()) {
      DBR_ASSIGN_OR_RETURN(Sum rows, TableSum(src, database, s));
      unmatched.push_back(
          Unmatched(s.name, "missing on the destination", ParseInt(rows.count).value_or(0)));
      continue;
    }
    const Shape& other = *it->second;
    left.erase(it);
    if (other.columns != s.columns) {
      unmatched.push_back(
          Unmatched(s.name, fmt::format("other columns: source ({}), destination ({})",
                                        Join(s.columns, ", "), Join(other.columns, ", "))));
      continue;
    }
    comparable.push_back(s);
  }
  for (const auto& [name, shape] : left)
    unmatched.push_back(Unmatched(name, "only on the destination"));
  return comparable;
}

}  // namespace

Result<Comparison> CompareAtOnePoint(const mariadb::ConnParams& source,
                                     const mariadb::ConnParams& destination,
                                     const std::string& source_database,
                                     const std::string& destination_database,
                                     const std::string& channel, int sessions, int64_t range_bytes,
                                     size_t example_limit, std::chrono::seconds timeout) {
  sessions = std::max(1, sessions);
  DBR_ASSIGN_OR_RETURN(Connection control, Connection::Open(destination));
  DBR_ASSIGN_OR_RETURN(ReplicaState replica, ReadReplica(control, channel));
  if (!replica.exists)
    return Status::Error("the destination does not replicate from the source (`run` first)");
  if (!replica.error.empty())
    return Status::Error("the destination's replication has stopped: " + replica.error);

  ApplierStopped applier(control, channel);
  DBR_RETURN_IF_ERROR(applier.Stop());
  // Past everything the destination applied: its applier is stopped.
  DBR_ASSIGN_OR_RETURN(ConsistentSnapshot snapshot, ConsistentSnapshot::Take(source, sessions));
  Comparison result{snapshot.position()};
  DBR_RETURN_IF_ERROR(applier.ApplyUntil(result.point, timeout));
  std::vector<Connection> readers;
  for (int i = 0; i < sessions; ++i) {
    DBR_ASSIGN_OR_RETURN(Connection c, Connection::Open(destination));
    DBR_RETURN_IF_ERROR(BeginConsistentRead(c));
    readers.push_back(std::move(c));
  }
  DBR_RETURN_IF_ERROR(applier.Resume());
  log::info("verify: both sides read at the source's {}", result.point.Display());

  DBR_ASSIGN_OR_RETURN(std::vector<Shape> all, Shapes(snapshot.session(0), source_database));
  DBR_ASSIGN_OR_RETURN(std::vector<Shape> there, Shapes(readers[0], destination_database));
  DBR_ASSIGN_OR_RETURN(std::vector<Shape> shapes,
                       Comparable(snapshot.session(0), source_database, all, there, result.tables));
  // The units of work, largest first: each table whole, or in key ranges of about `range_bytes`.
  std::map<std::string, const Shape*> shape_of;
  std::vector<std::string> names;
  for (const Shape& shape : shapes) {
    shape_of[shape.name] = &shape;
    names.push_back(shape.name);
  }
  DBR_ASSIGN_OR_RETURN(
      std::vector<TableRange> units,
      RangesLargestFirst(snapshot.session(0), source_database, names, [&](int64_t bytes) {
        return range_bytes > 0 ? static_cast<int>((bytes + range_bytes - 1) / range_bytes) : 1;
      }));
  std::map<std::string, TableComparison> compared;
  for (const TableRange& unit : units)
    compared.try_emplace(unit.table,
                         TableComparison{.table = unit.table, .ranges = unit.range.parts});
  std::mutex mu;
  DBR_RETURN_IF_ERROR(RunParallel(sessions, units.size(), [&](size_t i, int worker) {
    const Shape& shape = *shape_of.at(units[i].table);
    auto t = CompareRange(snapshot.session(worker), readers[worker], source_database,
                          destination_database, shape, units[i].range.where, example_limit);
    if (!t.ok()) return t.status().Wrap("comparing " + QuoteIdent(shape.name));
    std::lock_guard<std::mutex> lock(mu);
    Add(compared.at(units[i].table), std::move(*t));
    return Status::Ok();
  }));
  for (auto& [name, t] : compared) {
    std::sort(t.examples.begin(), t.examples.end(),
              [](const RowMismatch& x, const RowMismatch& y) { return x.key < y.key; });
    if (t.examples.size() > example_limit) t.examples.resize(example_limit);
    result.tables.push_back(std::move(t));
  }
  DBR_ASSIGN_OR_RETURN(result.objects,
                       CompareSchemas(snapshot.session(0), readers[0], source_database,
                                      destination_database, source.label, destination.label));
  std::sort(result.tables.begin(), result.tables.end(),
            [](const TableComparison& a, const TableComparison& b) { return a.table < b.table; });
  return result;
}

}  // namespace dbr::mysql
