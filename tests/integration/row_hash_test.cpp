// verify's row hash (verify/table_shape.h) on the oldest and newest majors it supports: the same
// rows hash the same on PostgreSQL 13 and 18, column type by column type (a false alarm
// otherwise), and the smallest change to any one value changes the row's hash (a missed
// difference otherwise).
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "harness/cluster.h"
#include "verify/table_shape.h"

namespace dbr::test {
namespace {

// A column of every type hashed by its type's function, and some hashed by their text.
const char* const kTable = R"sql(
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE sample (
  id int PRIMARY KEY, i2 smallint, i8 bigint, b boolean, t text COLLATE "C", v varchar(20),
  u uuid, d date, ts timestamp, tz timestamptz, f4 real, f8 float8, bt bytea, jb jsonb, js json,
  n numeric, iv interval, m mood, arr int[]);
INSERT INTO sample VALUES
  (1, 1, 1, true, 'a', 'a', '00000000-0000-0000-0000-000000000001', '2024-02-29',
   '2024-02-29 12:00:00.123456', '2024-02-29 12:00:00.123456+05:30', 1.5, 0.1, '\x00ff',
   '{"a": [1, 2.50, null], "b": {"c": "é"}}', '{"b": 1,  "a": 2}', 1.10, '1 day', 'ok', '{1,2}'),
  (2, -32768, -9223372036854775808, false, '', ' ', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
   'infinity', '-infinity', 'infinity', 'NaN', '-Infinity', '\x', '[]', '"x"', 'NaN',
   '-1 mon 2 days', 'sad', '{}'),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
   NULL, NULL, NULL),
  (4, 7, 7, true, 'Ünïcödé 𝄞', 'x y', '12345678-1234-1234-1234-123456789abc', '0001-01-01 BC',
   '1999-12-31 23:59:59.999999', '1970-01-01 00:00:00+00', 3.4028235e38, 2.2250738585072014e-308,
   decode(repeat('ab', 5000), 'hex'), '{"z": 1e100}', 'null', 123456789.000000001,
   '1 year 2 mons 3 days 04:05:06.7', 'happy', '{NULL,3}');
)sql";

// The smallest change of each column's value in row 1: each must change the row's hash.
const std::vector<std::string> kChanges = {"i2 = 2",
                                           "i8 = 2",
                                           "b = false",
                                           "t = 'A'",
                                           "v = 'a '",
                                           "u = '00000000-0000-0000-0000-000000000002'",
                                           "d = '2024-03-01'",
                                           "ts = '2024-02-29 12:00:00.123457'",
                                           "tz = '2024-02-29 12:00:00.123457+05:30'",
                                           "f4 = 1.5000001",
                                           "f8 = 0.10000000000000002",
                                           "bt = '\\x00fe'",
                                           "jb = '{\"a\": [1, 2.51, null], \"b\": {\"c\": \"é\"}}'",
                                           "js = '{\"b\": 1, \"a\": 3}'",
                                           "n = 1.1",
                                           "iv = '24 hours'",
                                           "m = 'sad'",
                                           "arr = '{2,1}'",
                                           "i2 = NULL",
                                           "t = NULL",
                                           "jb = NULL"};

class RowHashTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pair = StartPair(13, 18);
    if (!pair.ok()) {
      error_ = pair.message();
      return;
    }
    old_ = std::move(pair->first);
    new_ = std::move(pair->second);
    for (TestCluster* c : {old_.get(), new_.get()}) {
      Status st = c->CreateDatabase("h");
      if (st.ok()) st = c->Exec(kTable, "h");
      if (!st.ok()) error_ = st.message();
    }
  }
  static void TearDownTestSuite() {
    old_.reset();
    new_.reset();
  }
  // Both sessions, and the shape verify reads `sample` with.
  void SetUp() override {
    ASSERT_TRUE(error_.empty()) << error_;
    auto a = Session(*old_);
    auto b = Session(*new_);
    ASSERT_TRUE(a.ok() && b.ok()) << a.message() << b.message();
    a_.emplace(std::move(*a));
    b_.emplace(std::move(*b));
    TableInfo table{.schema = "public", .name = "sample"};
    auto shape = verify::LoadShape(*a_, *b_, table);
    ASSERT_TRUE(shape.ok()) << shape.message();
    shape_ = std::move(*shape);
  }

  static Result<pg::Connection> Session(TestCluster& c) {
    auto conn = c.Connect("h");
    if (!conn.ok()) return conn.status();
    Status st = conn->Exec(verify::kSessionSettings);
    if (!st.ok()) return st;
    return conn;
  }
  // id -> the row's hash, as verify computes it on `conn`.
  static Result<std::vector<std::string>> Hashes(pg::Connection& conn,
                                                 const verify::TableShape& shape) {
    auto r = conn.Query(
        fmt::format("SELECT {}::text FROM {} t ORDER BY id", shape.RowHash(), shape.Qualified()));
    if (!r.ok()) return r.status();
    std::vector<std::string> out;
    for (int i = 0; i < r->rows(); ++i) out.push_back(r->Get(i, 0));
    return out;
  }

  static inline std::unique_ptr<TestCluster> old_, new_;
  static inline std::string error_;
  std::optional<pg::Connection> a_, b_;  // on 13, on 18
  verify::TableShape shape_;
};

TEST_F(RowHashTest, TheSameRowsHashTheSameOnPostgres13And18) {
  // Every column but the last four is hashed by its type (the table of table_shape.cpp).
  int typed = 0;
  for (const auto& c : shape_.columns) typed += !c.hash.empty();
  EXPECT_EQ(typed, static_cast<int>(shape_.columns.size()) - 4) << shape_.RowHash();
  auto on_old = Hashes(*a_, shape_);
  auto on_new = Hashes(*b_, shape_);
  ASSERT_TRUE(on_old.ok() && on_new.ok()) << on_old.message() << on_new.message();
  ASSERT_EQ(on_old->size(), 4u);
  EXPECT_EQ(*on_old, *on_new);
  // The hash of the same rows given as text values (the window's rows) is the stored rows'.
  auto text = a_->Query("SELECT " + [&] {
    std::string cols;
    for (const auto& c : shape_.columns)
      cols += (cols.empty() ? "" : ", ") + ("t." + c.name + "::text");
    return cols;
  }() + " FROM sample t ORDER BY id");
  ASSERT_TRUE(text.ok()) << text.message();
  pg::Params params;
  for (int r = 0; r < text->rows(); ++r) {
    params.push_back(std::to_string(r));
    for (int c = 0; c < static_cast<int>(shape_.columns.size()); ++c)
      params.push_back(text->IsNull(r, c) ? std::nullopt
                                          : std::optional<std::string>(text->Get(r, c)));
  }
  auto by_values = b_->Query(shape_.RowHashOfValues(4, 1), params);
  ASSERT_TRUE(by_values.ok()) << by_values.message();
  for (int r = 0; r < 4; ++r)
    EXPECT_EQ(by_values->Get(r, 1), (*on_old)[static_cast<size_t>(r)]) << r;
}

TEST_F(RowHashTest, AnyOneValueChangedChangesTheRowsHash) {
  auto before = Hashes(*b_, shape_);
  ASSERT_TRUE(before.ok()) << before.message();
  for (const auto& change : kChanges) {
    ASSERT_TRUE(b_->Exec("BEGIN").ok());
    Status st = b_->Exec("UPDATE sample SET " + change + " WHERE id = 1");
    ASSERT_TRUE(st.ok()) << change << ": " << st.message();
    auto after = Hashes(*b_, shape_);
    ASSERT_TRUE(b_->Exec("ROLLBACK").ok());
    ASSERT_TRUE(after.ok()) << after.message();
    EXPECT_NE((*after)[0], (*before)[0]) << change;
    EXPECT_EQ((*after)[1], (*before)[1]) << change;
  }
  // Two values swapped between columns hashed alike change it too.
  ASSERT_TRUE(b_->Exec("BEGIN").ok());
  ASSERT_TRUE(b_->Exec("UPDATE sample SET t = v, v = t WHERE id = 4").ok());
  auto swapped = Hashes(*b_, shape_);
  ASSERT_TRUE(b_->Exec("ROLLBACK").ok());
  ASSERT_TRUE(swapped.ok()) << swapped.message();
  EXPECT_NE((*swapped)[3], (*before)[3]);
}

}  // namespace
}  // namespace dbr::test
