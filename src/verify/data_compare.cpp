#include "verify/data_compare.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <map>
#include <mutex>
#include <optional>

#include "pg/quote.h"
#include "pg/row_stream.h"
#include "util/log.h"
#include "util/parallel.h"
#include "util/progress.h"

namespace dbr::verify {
namespace {

using pg::pgoutput::Message;
using pg::pgoutput::Relation;
using Values = std::vector<std::optional<std::string>>;  // one row's text values, shape order

constexpr int kBuckets = 1024;
constexpr int64_t kPieceBlocks = 8192;          // 64 MB of 8 kB blocks, read by one statement
constexpr size_t kMaxNarrowedRows = 2'000'000;  // per range and side, held in memory
constexpr size_t kMaxParams = 30000;

// Sums of row hashes are compared modulo 2^64: as good as exact for telling sets apart.
uint64_t ParseSum(const std::string& s) {
  uint64_t v = 0;
  bool neg = !s.empty() && s[0] == '-';
  for (size_t i = neg ? 1 : 0; i < s.size(); ++i) v = v * 10 + static_cast<uint64_t>(s[i] - '0');
  return neg ? 0 - v : v;
}

struct Figures {
  int64_t rows = 0;
  uint64_t sum = 0;
  bool operator==(const Figures&) const = default;
};

// A row of a keyed table the window's transactions touched.
struct TouchedRow {
  std::vector<std::string> key_values;
  std::optional<std::pair<int64_t, int>> src_hash_range, dst_hash_range;  // hash, range
  int src_bucket = 0, dst_bucket = 0;
  std::optional<Values> src_values;  // as the sender's snapshot has it
  bool expected_exists = false;
  Values expected;
  int64_t expected_hash = 0;
};

// A part of a table one statement reads on one side.
struct Piece {
  std::string predicate;
  pg::Params params;
};

struct TableWork {
  const TablePlan* plan = nullptr;
  std::vector<Piece> src_pieces, dst_pieces;
  std::vector<Figures> src_read, dst_read;  // per piece
  Figures src_total, dst_total;             // the window accounted for
  std::vector<Figures> src, dst;            // per key range, when the totals differ
  std::vector<const Message*> changes;
  const Relation* relation = nullptr;
  std::map<std::string, TouchedRow> touched;          // key text -> row
  std::vector<std::pair<int, int64_t>> multiset_ops;  // keyless: (+1 | -1, row hash)
  std::string unsettled;                              // why the window cannot be accounted for
  std::mutex mu;
  TableResult result;

  size_t ranges() const { return plan->bounds.size() + 1; }
  const TableShape& shape() const { return plan->shape; }
};

struct Worker {
  pg::Connection* src;
  pg::Connection* dst;
};

// Parameters and predicate of range r.
std::pair<std::string, pg::Params> Range(const TablePlan& plan, size_t r, int first_param) {
  const bool lo = r > 0, hi = r < plan.bounds.size();
  pg::Params params;
  if (lo) params.push_back(plan.bounds[r - 1]);
  if (hi) params.push_back(plan.bounds[r]);
  if (!plan.shape.HasKey()) return {"true", params};
  return {plan.shape.RangePredicate(lo, hi, first_param), params};
}

// Runs a statement on each side that has one (src_sql or dst_sql empty: none), both at once.
Status OnEach(Worker& w, const std::string& src_sql, const pg::Params& src_params,
              const std::string& dst_sql, const pg::Params& dst_params,
              std::optional<pg::QueryResult>* src_out, std::optional<pg::QueryResult>* dst_out) {
  if (!src_sql.empty()) DBR_RETURN_IF_ERROR(w.src->Send(src_sql, src_params));
  Status dst_sent = dst_sql.empty() ? Status::Ok() : w.dst->Send(dst_sql, dst_params);
  if (!src_sql.empty()) {
    auto s = w.src->Finish();
    if (!s.ok()) {
      if (!dst_sql.empty() && dst_sent.ok()) (void)w.dst->Finish();
      return s.status();
    }
    src_out->emplace(std::move(*s));
  }
  DBR_RETURN_IF_ERROR(dst_sent);
  if (!dst_sql.empty()) {
    auto d = w.dst->Finish();
    if (!d.ok()) return d.status();
    dst_out->emplace(std::move(*d));
  }
  return Status::Ok();
}

// Runs `sql` on both sides at once (on the source only when the destination lacks the table).
Status OnBoth(Worker& w, const std::string& sql, const pg::Params& params, bool dst_exists,
              std::optional<pg::QueryResult>* src_out, std::optional<pg::QueryResult>* dst_out) {
  return OnEach(w, sql, params, dst_exists ? sql : "", params, src_out, dst_out);
}

std::string FiguresSql(const TableShape& shape, const std::string& predicate) {
  return fmt::format(
      "SELECT count(*), coalesce(sum(h), 0)::text FROM (SELECT {} AS h FROM ONLY {} t WHERE {}) s",
      shape.RowHash(), shape.Qualified(), predicate);
}

Figures FiguresOf(const pg::QueryResult& r) {
  return {r.GetInt(0, 0), ParseSum(r.Get(0, 1))};
}

// A side's pieces of a table: block ranges where the server has TID range scans (14+), which
// read the heap in order; key ranges otherwise, which go through the key's index.
std::vector<Piece> PiecesOf(const TablePlan& plan, int64_t blocks, bool tid_range_scans) {
  std::vector<Piece> out;
  if (!tid_range_scans) {
    for (size_t r = 0; r <= plan.bounds.size(); ++r) {
      auto [pred, params] = Range(plan, r, 1);
      out.push_back({pred, params});
    }
    return out;
  }
  const int64_t n = std::max<int64_t>(1, (blocks + kPieceBlocks - 1) / kPieceBlocks);
  for (int64_t i = 0; i < n; ++i)  // the last one open-ended: the table may have grown since
    out.push_back({TableShape::BlockPredicate(i * kPieceBlocks, i + 1 < n ? kPieceBlocks : 0), {}});
  return out;
}

// Reads piece k of `t` on each side that has one.
Status ReadPiece(Worker& w, TableWork& t, size_t k) {
  const bool on_src = k < t.src_pieces.size(), on_dst = k < t.dst_pieces.size();
  std::optional<pg::QueryResult> s, d;
  DBR_RETURN_IF_ERROR(OnEach(w, on_src ? FiguresSql(t.shape(), t.src_pieces[k].predicate) : "",
                             on_src ? t.src_pieces[k].params : pg::Params{},
                             on_dst ? FiguresSql(t.shape(), t.dst_pieces[k].predicate) : "",
                             on_dst ? t.dst_pieces[k].params : pg::Params{}, &s, &d));
  if (s) t.src_read[k] = FiguresOf(*s);
  if (d) t.dst_read[k] = FiguresOf(*d);
  return Status::Ok();
}

// Key range r of `t` on both sides.
Status CompareRange(Worker& w, TableWork& t, size_t r) {
  const TableShape& shape = t.shape();
  auto [pred, params] = Range(*t.plan, r, 1);
  std::optional<pg::QueryResult> s, d;
  DBR_RETURN_IF_ERROR(
      OnBoth(w, FiguresSql(shape, pred), params, !shape.missing_on_destination, &s, &d));
  t.src[r] = FiguresOf(*s);
  if (d) t.dst[r] = FiguresOf(*d);
  return Status::Ok();
}

void Subtract(Figures& f, int64_t hash) {
  f.rows -= 1;
  f.sum -= static_cast<uint64_t>(hash);
}

// The shape's columns from a decoded tuple; nullopt entries of `unchanged` mark 'u' values.
std::optional<std::string> ToValues(const TableShape& shape, const Relation& rel,
                                    const pg::pgoutput::Tuple& tuple, Values* out,
                                    std::vector<bool>* unchanged) {
  out->assign(shape.columns.size(), std::nullopt);
  unchanged->assign(shape.columns.size(), false);
  for (size_t c = 0; c < shape.columns.size(); ++c) {
    auto it = std::find(rel.columns.begin(), rel.columns.end(), shape.columns[c].name);
    if (it == rel.columns.end()) return "column " + shape.columns[c].name + " is not replicated";
    size_t i = static_cast<size_t>(it - rel.columns.begin());
    if (i >= tuple.size()) return std::string("a decoded row has fewer columns than its relation");
    if (tuple[i].kind == 'u')
      (*unchanged)[c] = true;
    else if (tuple[i].kind != 'n')
      (*out)[c] = tuple[i].text;
  }
  return std::nullopt;
}

std::optional<std::string> KeyOf(const TableShape& shape, const Values& v,
                                 const std::vector<bool>& unchanged) {
  std::vector<std::string> parts;
  for (size_t k : shape.key) {
    if (unchanged[k] || !v[k]) return std::nullopt;
    parts.push_back(*v[k]);
  }
  return TableShape::RowText(parts);
}

// Hashes of rows given by value, computed by the server the way RowHash() hashes stored rows.
Result<std::vector<int64_t>> HashValues(pg::Connection& conn, const TableShape& shape,
                                        const std::vector<const Values*>& rows) {
  std::vector<int64_t> out;
  const size_t per_batch = std::max<size_t>(1, kMaxParams / (shape.columns.size() + 1));
  for (size_t start = 0; start < rows.size(); start += per_batch) {
    const size_t n = std::min(per_batch, rows.size() - start);
    pg::Params params;
    for (size_t i = 0; i < n; ++i) {
      params.push_back(std::to_string(i));
      for (const auto& v : *rows[start + i]) params.push_back(v);
    }
    auto r = conn.Query(shape.RowHashOfValues(n, 1), params);
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) out.push_back(r->GetInt(i, 1));
  }
  return out;
}

void AddDifference(TableWork& t, size_t limit, std::string key, std::string what) {
  t.result.differing_rows++;
  if (t.result.examples.size() < limit)
    t.result.examples.push_back({std::move(key), std::move(what)});
}

std::string KeyDisplay(const TableShape& shape, const std::string& key_text) {
  std::string names;
  for (size_t k : shape.key) names += (names.empty() ? "" : ", ") + shape.columns[k].name;
  return "(" + names + ")=" + key_text;
}

// Reads the touched rows of a keyed table on one side: hash, range, bucket and text values.
Status ReadTouched(pg::Connection& conn, TableWork& t, bool sender) {
  const TableShape& shape = t.shape();
  std::vector<TouchedRow*> rows;
  for (auto& [text, row] : t.touched) rows.push_back(&row);
  std::string cols;
  for (const auto& c : shape.columns) cols += ", t." + pg::QuoteIdent(c.name) + "::text";
  const bool split = !t.plan->bounds.empty();
  const std::string range = split ? shape.RangeIndex(1) : "0";
  const size_t per_batch = std::max<size_t>(1, kMaxParams / shape.key.size());
  for (size_t start = 0; start < rows.size(); start += per_batch) {
    const size_t n = std::min(per_batch, rows.size() - start);
    pg::Params params;
    if (split) params.push_back(pg::TextArrayLiteral(t.plan->bounds));
    for (size_t i = 0; i < n; ++i)
      for (const auto& v : rows[start + i]->key_values) params.push_back(v);
    auto r = conn.Query(fmt::format("SELECT {}, {}, {}, {}{} FROM ONLY {} t WHERE {}",
                                    shape.KeyText(), shape.RowHash(), range, shape.Bucket(), cols,
                                    shape.Qualified(), shape.KeyIn(n, split ? 2 : 1)),
                        params);
    if (!r.ok()) return r.status();
    for (int i = 0; i < r->rows(); ++i) {
      auto it = t.touched.find(r->Get(i, 0));
      if (it == t.touched.end()) continue;
      TouchedRow& row = it->second;
      auto hr = std::make_pair(r->GetInt(i, 1), static_cast<int>(r->GetInt(i, 2)));
      if (sender) {
        row.src_hash_range = hr;
        row.src_bucket = static_cast<int>(r->GetInt(i, 3));
        Values v;
        for (size_t c = 0; c < shape.columns.size(); ++c)
          v.push_back(r->IsNull(i, 4 + c) ? std::nullopt
                                          : std::optional<std::string>(r->Get(i, 4 + c)));
        row.src_values = std::move(v);
      } else {
        row.dst_hash_range = hr;
        row.dst_bucket = static_cast<int>(r->GetInt(i, 3));
      }
    }
  }
  return Status::Ok();
}

// A decoded change as the rows it removes and adds.
struct Op {
  char kind = 0;
  std::string old_key, new_key;  // keyed tables
  Values old_values, new_values;
  std::vector<bool> old_unchanged, new_unchanged;
};

std::optional<std::string> DecodeOps(TableWork& t, std::vector<Op>* ops) {
  const TableShape& shape = t.shape();
  for (const Message* m : t.changes) {
    if (m->type == 'T') return std::string("it was truncated while verify read it");
    Op op;
    op.kind = m->type;
    if (m->type == 'I' || m->type == 'U')
      if (auto e = ToValues(shape, *t.relation, m->new_tuple, &op.new_values, &op.new_unchanged))
        return e;
    if (m->old_kind != 0)
      if (auto e = ToValues(shape, *t.relation, m->old_tuple, &op.old_values, &op.old_unchanged))
        return e;
    if (shape.HasKey()) {
      auto record = [&](const Values& v, const std::vector<bool>& u,
                        std::string* key) -> std::optional<std::string> {
        auto k = KeyOf(shape, v, u);
        if (!k) return std::string("a changed row's key was not in the replication stream");
        *key = *k;
        auto& row = t.touched[*k];
        if (row.key_values.empty())
          for (size_t c : shape.key) row.key_values.push_back(*v[c]);
        return std::nullopt;
      };
      if (m->type != 'D')
        if (auto e = record(op.new_values, op.new_unchanged, &op.new_key)) return e;
      if (m->old_kind != 0) {
        if (auto e = record(op.old_values, op.old_unchanged, &op.old_key)) return e;
      } else {
        op.old_key = op.new_key;
      }
    } else if (m->type != 'I' && m->old_kind != 'O') {
      return std::string("a row without a key changed without its old values");
    }
    ops->push_back(std::move(op));
  }
  return std::nullopt;
}

// Fills the values an UPDATE did not send (unchanged TOASTed ones) from the row before it.
bool FillUnchanged(Values* v, const std::vector<bool>& unchanged, const Values* prior) {
  for (size_t c = 0; c < v->size(); ++c) {
    if (!unchanged[c]) continue;
    if (prior == nullptr) return false;
    (*v)[c] = (*prior)[c];
  }
  return true;
}

Status AccountKeyed(Worker& w, TableWork& t, std::vector<Op>& ops, size_t limit,
                    const std::string& sender, const std::string& receiver) {
  DBR_RETURN_IF_ERROR(ReadTouched(*w.src, t, true));
  if (!t.shape().missing_on_destination) DBR_RETURN_IF_ERROR(ReadTouched(*w.dst, t, false));
  std::map<std::string, std::optional<Values>> state;  // key -> row after the ops so far
  auto current = [&](const std::string& key) -> std::optional<Values>& {
    auto it = state.find(key);
    if (it == state.end()) it = state.emplace(key, t.touched[key].src_values).first;
    return it->second;
  };
  for (Op& op : ops) {
    if (op.kind == 'I') {
      if (!FillUnchanged(&op.new_values, op.new_unchanged, nullptr)) {
        t.unsettled = "an inserted row came without all its values";
        return Status::Ok();
      }
      current(op.new_key) = op.new_values;
    } else if (op.kind == 'U') {
      std::optional<Values> prior = current(op.old_key);
      if (!FillUnchanged(&op.new_values, op.new_unchanged, prior ? &*prior : nullptr)) {
        t.unsettled = "an updated row's unchanged values could not be found";
        return Status::Ok();
      }
      if (op.old_key != op.new_key) current(op.old_key).reset();
      current(op.new_key) = op.new_values;
    } else if (op.kind == 'D') {
      current(op.old_key).reset();
    }
  }
  std::vector<const Values*> to_hash;
  std::vector<TouchedRow*> hashed;
  for (auto& [key, row] : t.touched) {
    auto& final_row = current(key);
    row.expected_exists = final_row.has_value();
    if (!row.expected_exists) continue;
    row.expected = *final_row;
    to_hash.push_back(&row.expected);
    hashed.push_back(&row);
  }
  auto hashes = HashValues(*w.src, t.shape(), to_hash);
  if (!hashes.ok()) return hashes.status();
  for (size_t i = 0; i < hashed.size() && i < hashes->size(); ++i)
    hashed[i]->expected_hash = (*hashes)[i];
  for (auto& [key, row] : t.touched) {
    // Touched rows are compared one by one below: out of the totals (and later the ranges).
    if (row.src_hash_range) Subtract(t.src_total, row.src_hash_range->first);
    if (row.dst_hash_range) Subtract(t.dst_total, row.dst_hash_range->first);
    // Figures as of the marker, like the destination's.
    t.result.source_rows += (row.expected_exists ? 1 : 0) - (row.src_hash_range ? 1 : 0);
    const bool on_dst = row.dst_hash_range.has_value();
    if (row.expected_exists && !on_dst)
      AddDifference(t, limit, KeyDisplay(t.shape(), key), "only on the " + sender);
    else if (!row.expected_exists && on_dst)
      AddDifference(t, limit, KeyDisplay(t.shape(), key), "only on the " + receiver);
    else if (on_dst && row.expected_hash != row.dst_hash_range->first)
      AddDifference(t, limit, KeyDisplay(t.shape(), key), "differs");
  }
  return Status::Ok();
}

Status AccountMultiset(Worker& w, TableWork& t, std::vector<Op>& ops) {
  std::vector<const Values*> rows;
  std::vector<int> signs;
  for (Op& op : ops) {
    if (op.kind == 'U' || op.kind == 'D') {
      if (!FillUnchanged(&op.old_values, op.old_unchanged, nullptr)) {
        t.unsettled = "a changed row's old values were not all in the replication stream";
        return Status::Ok();
      }
      rows.push_back(&op.old_values);
      signs.push_back(-1);
    }
    if (op.kind == 'I' || op.kind == 'U') {
      if (!FillUnchanged(&op.new_values, op.new_unchanged, &op.old_values)) {
        t.unsettled = "a changed row's values were not all in the replication stream";
        return Status::Ok();
      }
      rows.push_back(&op.new_values);
      signs.push_back(+1);
    }
  }
  auto hashes = HashValues(*w.src, t.shape(), rows);
  if (!hashes.ok()) return hashes.status();
  for (size_t i = 0; i < hashes->size(); ++i) {
    t.multiset_ops.push_back({signs[i], (*hashes)[i]});
    t.result.source_rows += signs[i];
    t.src_total.rows += signs[i];
    t.src_total.sum += static_cast<uint64_t>(signs[i]) * static_cast<uint64_t>((*hashes)[i]);
  }
  return Status::Ok();
}

// One side's count of each row hash of a table, in hash order, a row at a time: a large keyless
// table's hashes are never all in memory.
class HashCountReader {
 public:
  // Sends the query; Advance() reads its first row. Both sides' readers are started before
  // either reads, so that both servers count at once.
  static Result<HashCountReader> Start(pg::Connection& conn, const TableShape& shape) {
    DBR_ASSIGN_OR_RETURN(
        pg::RowStream rows,
        pg::RowStream::Start(conn, fmt::format("SELECT h, count(*) FROM (SELECT {} AS h FROM ONLY "
                                               "{} t) s GROUP BY h ORDER BY h",
                                               shape.RowHash(), shape.Qualified())));
    return HashCountReader(std::move(rows));
  }

  bool AtEnd() const { return !row_; }
  int64_t hash() const { return row_->GetInt(0, 0); }
  int64_t count() const { return row_->GetInt(0, 1); }

  Status Advance() {
    DBR_ASSIGN_OR_RETURN(row_, rows_.Next());
    return Status::Ok();
  }

 private:
  explicit HashCountReader(pg::RowStream rows) : rows_(std::move(rows)) {}

  pg::RowStream rows_;
  std::optional<pg::QueryResult> row_;  // none at the end
};

// A keyless table's rows that differ: the counts of each row hash on both sides, merged in hash
// order, the source's corrected by the window's changes.
Status NarrowMultiset(Worker& w, TableWork& t, size_t limit, const std::string& sender,
                      const std::string& receiver) {
  const TableShape& shape = t.shape();
  std::map<int64_t, int64_t> window;
  for (const auto& [sign, h] : t.multiset_ops) window[h] += sign;
  DBR_ASSIGN_OR_RETURN(HashCountReader s, HashCountReader::Start(*w.src, shape));
  std::optional<HashCountReader> d;
  if (!shape.missing_on_destination) {
    DBR_ASSIGN_OR_RETURN(HashCountReader started, HashCountReader::Start(*w.dst, shape));
    d.emplace(std::move(started));
    DBR_RETURN_IF_ERROR(d->Advance());
  }
  DBR_RETURN_IF_ERROR(s.Advance());
  std::vector<std::pair<int64_t, std::string>> examples;  // hash, which side has more
  auto changed = window.begin();
  for (;;) {
    std::optional<int64_t> h;
    auto lowest = [&](int64_t v) { h = h ? std::min(*h, v) : v; };
    if (!s.AtEnd()) lowest(s.hash());
    if (d && !d->AtEnd()) lowest(d->hash());
    if (changed != window.end()) lowest(changed->first);
    if (!h) break;
    int64_t a = 0, b = 0;
    if (!s.AtEnd() && s.hash() == *h) {
      a += s.count();
      DBR_RETURN_IF_ERROR(s.Advance());
    }
    if (changed != window.end() && changed->first == *h) a += (changed++)->second;
    if (d && !d->AtEnd() && d->hash() == *h) {
      b = d->count();
      DBR_RETURN_IF_ERROR(d->Advance());
    }
    if (a == b) continue;
    t.result.differing_rows += std::abs(a - b);
    for (int64_t i = 0; i < std::abs(a - b) && examples.size() < limit; ++i)
      examples.push_back({*h, a > b ? sender : receiver});
  }
  for (const auto& [h, side] : examples) {
    pg::Connection& conn = side == sender ? *w.src : *w.dst;
    auto r =
        conn.Query(fmt::format("SELECT ROW(t.*)::text FROM ONLY {} t WHERE {} = $1::bigint LIMIT 1",
                               shape.Qualified(), shape.RowHash()),
                   {std::to_string(h)});
    std::string text = r.ok() && r->rows() > 0 ? r->Get(0, 0) : "(row changed in the window)";
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    t.result.examples.push_back({text, "only on the " + side});
  }
  return Status::Ok();
}

using KeyHashes = std::map<std::string, int64_t>;

Status NarrowRange(Worker& w, TableWork& t, size_t r, size_t limit, const std::string& sender,
                   const std::string& receiver) {
  const TableShape& shape = t.shape();
  auto [pred, params] = Range(*t.plan, r, 1);
  const std::string buckets_sql = fmt::format(
      "SELECT b, count(*), coalesce(sum(h), 0)::text FROM (SELECT {} AS b, {} AS h FROM ONLY {} t "
      "WHERE {}) s GROUP BY b",
      shape.Bucket(), shape.RowHash(), shape.Qualified(), pred);
  std::optional<pg::QueryResult> sb, db;
  DBR_RETURN_IF_ERROR(OnBoth(w, buckets_sql, params, !shape.missing_on_destination, &sb, &db));
  std::vector<Figures> src(kBuckets), dst(kBuckets);
  for (int i = 0; i < sb->rows(); ++i)
    src[static_cast<size_t>(sb->GetInt(i, 0))] = {sb->GetInt(i, 1), ParseSum(sb->Get(i, 2))};
  for (int i = 0; db && i < db->rows(); ++i)
    dst[static_cast<size_t>(db->GetInt(i, 0))] = {db->GetInt(i, 1), ParseSum(db->Get(i, 2))};
  for (const auto& [key, row] : t.touched) {
    if (row.src_hash_range && static_cast<size_t>(row.src_hash_range->second) == r) {
      src[static_cast<size_t>(row.src_bucket)].rows--;
      src[static_cast<size_t>(row.src_bucket)].sum -=
          static_cast<uint64_t>(row.src_hash_range->first);
    }
    if (row.dst_hash_range && static_cast<size_t>(row.dst_hash_range->second) == r) {
      dst[static_cast<size_t>(row.dst_bucket)].rows--;
      dst[static_cast<size_t>(row.dst_bucket)].sum -=
          static_cast<uint64_t>(row.dst_hash_range->first);
    }
  }
  std::vector<std::string> differing;
  size_t rows_to_read = 0;
  for (int b = 0; b < kBuckets; ++b) {
    if (src[static_cast<size_t>(b)] == dst[static_cast<size_t>(b)]) continue;
    const size_t n = static_cast<size_t>(
        std::max(src[static_cast<size_t>(b)].rows, dst[static_cast<size_t>(b)].rows));
    if (!differing.empty() && rows_to_read + n > kMaxNarrowedRows) {
      t.result.differing_rows_exact = false;
      break;
    }
    rows_to_read += n;
    differing.push_back(std::to_string(b));
  }
  if (differing.empty()) return Status::Ok();  // only the window's rows differed: counted
  params.push_back(pg::TextArrayLiteral(differing));
  const std::string rows_sql =
      fmt::format("SELECT {}, {} FROM ONLY {} t WHERE {} AND {} = ANY(${}::int[])", shape.KeyText(),
                  shape.RowHash(), shape.Qualified(), pred, shape.Bucket(), params.size());
  std::optional<pg::QueryResult> sr, dr;
  DBR_RETURN_IF_ERROR(OnBoth(w, rows_sql, params, !shape.missing_on_destination, &sr, &dr));
  KeyHashes on_dst;
  for (int i = 0; dr && i < dr->rows(); ++i)
    if (!t.touched.count(dr->Get(i, 0))) on_dst[dr->Get(i, 0)] = dr->GetInt(i, 1);
  for (int i = 0; i < sr->rows(); ++i) {
    const std::string key = sr->Get(i, 0);
    if (t.touched.count(key)) continue;
    auto it = on_dst.find(key);
    if (it == on_dst.end()) {
      AddDifference(t, limit, KeyDisplay(shape, key), "only on the " + sender);
      continue;
    }
    if (it->second != sr->GetInt(i, 1)) AddDifference(t, limit, KeyDisplay(shape, key), "differs");
    on_dst.erase(it);
  }
  for (const auto& [key, h] : on_dst)
    AddDifference(t, limit, KeyDisplay(shape, key), "only on the " + receiver);
  return Status::Ok();
}

// Runs `fn` inside a savepoint on both readers, so that a failing statement (a type the
// destination lacks, say) fails its table only and the snapshots stay usable for the others.
Status Guarded(Worker& w, bool dst_too, const std::function<Status()>& fn) {
  DBR_RETURN_IF_ERROR(w.src->Exec("SAVEPOINT dbr_verify"));
  if (dst_too) DBR_RETURN_IF_ERROR(w.dst->Exec("SAVEPOINT dbr_verify"));
  Status st = fn();
  const char* end = st.ok() ? "RELEASE SAVEPOINT dbr_verify" : "ROLLBACK TO SAVEPOINT dbr_verify";
  Status a = w.src->Exec(end);
  Status b = dst_too ? w.dst->Exec(end) : Status::Ok();
  if (!st.ok()) return st;
  return a.ok() ? b : a;
}

void Fail(TableWork& t, const Status& st) {
  std::lock_guard<std::mutex> lock(t.mu);
  t.result.status = Verdict::kError;
  if (t.result.detail.empty()) t.result.detail = st.message();
}

}  // namespace

Result<TablePlan> PlanTable(pg::Connection& src, TableShape shape, int64_t range_bytes) {
  TablePlan plan;
  plan.shape = std::move(shape);
  const TableShape& s = plan.shape;
  const int64_t ranges = range_bytes > 0 ? std::min<int64_t>(256, s.bytes / range_bytes + 1) : 1;
  if (!s.splittable || ranges < 2) return plan;
  auto est =
      src.QueryInt("SELECT greatest(reltuples, 1)::bigint FROM pg_class WHERE oid = $1::regclass",
                   {s.Qualified()});
  if (!est.ok()) return est.status();
  // About 100 sampled keys per range, from whole pages (SYSTEM reads only the pages it picks).
  // Those are few pages, and SYSTEM may pick none: then row by row (BERNOULLI reads the table).
  const double percent = std::clamp(
      100.0 * static_cast<double>(ranges) * 100 / static_cast<double>(*est), 0.001, 100.0);
  const std::string lead = "t." + pg::QuoteIdent(s.columns[s.key.front()].name);
  Result<pg::QueryResult> sample = Status::Error("not sampled");
  for (const char* method : {"SYSTEM", "BERNOULLI"}) {
    sample = src.Query(
        fmt::format("SELECT {}::text FROM ONLY {} t TABLESAMPLE {} ($1::real) ORDER BY {}", lead,
                    s.Qualified(), method, lead),
        {fmt::format("{}", percent)});
    if (!sample.ok()) return sample.status().Wrap("sampling the keys of " + s.Display());
    if (sample->rows() >= ranges) break;
  }
  const int n = sample->rows();
  for (int64_t i = 1; i < ranges && n > 0; ++i) {
    std::string b = sample->Get(static_cast<int>(i * n / ranges), 0);
    if (plan.bounds.empty() || plan.bounds.back() != b) plan.bounds.push_back(b);
  }
  // Sorted by the server; equal neighbours removed: each range is non-empty in key order.
  return plan;
}

std::vector<TableResult> CompareTables(ConsistentPoint& point, const std::vector<TablePlan>& tables,
                                       size_t example_limit, const std::string& sender_label,
                                       const std::string& receiver_label) {
  std::vector<std::unique_ptr<TableWork>> work;
  std::map<std::string, TableWork*> by_name;  // quoted: "a.b"."c" is not "a"."b.c"
  for (const auto& plan : tables) {
    auto t = std::make_unique<TableWork>();
    t->plan = &plan;
    t->src.resize(t->ranges());
    t->dst.resize(t->ranges());
    t->result.table = plan.shape.Display();
    t->result.qualified = pg::QualifiedName(plan.shape.schema, plan.shape.name);
    t->result.ranges = static_cast<int>(t->ranges());
    if (plan.shape.missing_on_destination) {
      t->result.status = Verdict::kDiffers;
      t->result.detail = "missing on the " + receiver_label;
    }
    by_name[t->result.qualified] = t.get();
    work.push_back(std::move(t));
  }
  for (const Message& m : point.window.changes) {
    auto attach = [&](uint32_t relid) {
      auto rel = point.window.relations.find(relid);
      if (rel == point.window.relations.end()) return;
      auto it = by_name.find(pg::QualifiedName(rel->second.schema, rel->second.name));
      if (it == by_name.end()) return;
      it->second->relation = &rel->second;
      it->second->changes.push_back(&m);
    };
    if (m.type == 'T')
      for (uint32_t id : m.truncated) attach(id);
    else
      attach(m.relid);
  }
  std::vector<Worker> workers;
  for (size_t i = 0; i < point.sender_readers.size(); ++i)
    workers.push_back({&point.sender_readers[i], &point.receiver_readers[i]});
  const int jobs = static_cast<int>(workers.size());

  // 1. Every table whole on each side, piece by piece, both sides at once.
  const bool src_tid = !workers.empty() && workers[0].src->server_version_num() >= 140000;
  const bool dst_tid = !workers.empty() && workers[0].dst->server_version_num() >= 140000;
  std::vector<std::pair<TableWork*, size_t>> pieces;
  for (auto& t : work) {
    t->src_pieces = PiecesOf(*t->plan, t->shape().src_blocks, src_tid);
    if (!t->shape().missing_on_destination)
      t->dst_pieces = PiecesOf(*t->plan, t->shape().dst_blocks, dst_tid);
    t->src_read.resize(t->src_pieces.size());
    t->dst_read.resize(t->dst_pieces.size());
    for (size_t k = 0; k < std::max(t->src_pieces.size(), t->dst_pieces.size()); ++k)
      pieces.push_back({t.get(), k});
  }
  // Largest tables first, so that no large piece is left for the end while the others idle.
  std::stable_sort(pieces.begin(), pieces.end(), [](const auto& a, const auto& b) {
    return a.first->shape().bytes > b.first->shape().bytes;
  });
  std::atomic<size_t> pieces_done{0};
  {
    ProgressReporter progress([&] {
      return fmt::format("verify: {}/{} table pieces read", pieces_done.load(), pieces.size());
    });
    (void)RunParallel(jobs, pieces.size(), [&](size_t i, int wi) {
      TableWork* t = pieces[i].first;
      const size_t k = pieces[i].second;
      Worker& w = workers[static_cast<size_t>(wi)];
      Status st = Guarded(w, k < t->dst_pieces.size(), [&] { return ReadPiece(w, *t, k); });
      if (!st.ok()) Fail(*t, st);
      pieces_done++;
      return Status::Ok();
    });
  }
  for (auto& t : work) {
    for (const Figures& f : t->src_read) {
      t->src_total.rows += f.rows;
      t->src_total.sum += f.sum;
    }
    for (const Figures& f : t->dst_read) {
      t->dst_total.rows += f.rows;
      t->dst_total.sum += f.sum;
    }
    t->result.source_rows = t->src_total.rows;
    t->result.destination_rows = t->dst_total.rows;
  }

  // 2. The window's changes, row by row.
  std::vector<TableWork*> changed;
  for (auto& t : work)
    if (!t->changes.empty() && t->result.status == Verdict::kOk) changed.push_back(t.get());
  (void)RunParallel(jobs, changed.size(), [&](size_t i, int wi) {
    TableWork& t = *changed[i];
    std::vector<Op> ops;
    if (auto why = DecodeOps(t, &ops)) {
      t.unsettled = *why;
      return Status::Ok();
    }
    Worker& w = workers[static_cast<size_t>(wi)];
    Status st = Guarded(w, !t.shape().missing_on_destination, [&] {
      return t.shape().HasKey()
                 ? AccountKeyed(w, t, ops, example_limit, sender_label, receiver_label)
                 : AccountMultiset(w, t, ops);
    });
    if (!st.ok()) Fail(t, st);
    return Status::Ok();
  });

  // 3. Tables that still differ: per key range, both sides at once (the window's rows out).
  std::vector<TableWork*> differ;
  for (auto& t : work)
    if (t->result.status == Verdict::kOk && t->unsettled.empty() && !(t->src_total == t->dst_total))
      differ.push_back(t.get());
  std::vector<std::pair<TableWork*, size_t>> ranges;
  for (TableWork* t : differ) {
    t->src.resize(t->ranges());
    t->dst.resize(t->ranges());
    if (t->shape().HasKey())
      for (size_t r = 0; r < t->ranges(); ++r) ranges.push_back({t, r});
  }
  (void)RunParallel(jobs, ranges.size(), [&](size_t i, int wi) {
    TableWork* t = ranges[i].first;
    const size_t r = ranges[i].second;
    Worker& w = workers[static_cast<size_t>(wi)];
    Status st =
        Guarded(w, !t->shape().missing_on_destination, [&] { return CompareRange(w, *t, r); });
    if (!st.ok()) Fail(*t, st);
    return Status::Ok();
  });
  for (TableWork* t : differ) {
    for (const auto& [key, row] : t->touched) {
      if (row.src_hash_range)
        Subtract(t->src[static_cast<size_t>(row.src_hash_range->second)],
                 row.src_hash_range->first);
      if (row.dst_hash_range)
        Subtract(t->dst[static_cast<size_t>(row.dst_hash_range->second)],
                 row.dst_hash_range->first);
    }
  }

  // 4. Ranges that differ (a keyless table's only one), down to the rows.
  std::vector<std::pair<TableWork*, size_t>> differing;
  for (TableWork* t : differ) {
    if (t->result.status != Verdict::kOk) continue;
    if (!t->shape().HasKey()) differing.push_back({t, 0});
    for (size_t r = 0; t->shape().HasKey() && r < t->ranges(); ++r)
      if (!(t->src[r] == t->dst[r])) differing.push_back({t, r});
  }
  for (auto& [t, r] : differing) t->result.differing_ranges++;
  (void)RunParallel(jobs, differing.size(), [&](size_t i, int wi) {
    TableWork* t = differing[i].first;
    size_t r = differing[i].second;
    Worker& w = workers[static_cast<size_t>(wi)];
    std::lock_guard<std::mutex> lock(t->mu);
    Status st = Guarded(w, !t->shape().missing_on_destination, [&] {
      return t->shape().HasKey()
                 ? NarrowRange(w, *t, r, example_limit, sender_label, receiver_label)
                 : NarrowMultiset(w, *t, example_limit, sender_label, receiver_label);
    });
    if (!st.ok()) {
      t->result.status = Verdict::kError;
      t->result.detail = st.message();
    }
    return Status::Ok();
  });

  std::vector<TableResult> out;
  for (auto& t : work) {
    TableResult& res = t->result;
    if (res.status == Verdict::kOk && !t->unsettled.empty()) {
      res.status = Verdict::kUnsettled;
      res.detail = t->unsettled;
    } else if (res.status == Verdict::kOk &&
               (res.differing_rows > 0 || !(t->src_total == t->dst_total))) {
      res.status = Verdict::kDiffers;
      if (res.differing_rows == 0) res.detail = "row counts or contents differ";
    }
    if (res.status == Verdict::kDiffers && res.detail.empty())
      res.detail = fmt::format("{}{} rows differ", res.differing_rows_exact ? "" : "at least ",
                               res.differing_rows);
    out.push_back(std::move(res));
  }
  return out;
}

}  // namespace dbr::verify
