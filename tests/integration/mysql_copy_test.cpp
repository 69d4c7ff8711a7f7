// engine mysql's building blocks against real MariaDB servers under a live writer (issue #25):
// a consistent snapshot with its exact binary log position, the schema and rows copied from
// it, and replication started at that position. Equal tables after catch-up prove the position
// exact: a position before the snapshot applies a change twice (a duplicate key stops the
// replication), one after it loses changes (the tables differ).
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness/mariadb.h"
#include "mariadb/quote.h"
#include "mysql/replication.h"
#include "mysql/row_copy.h"
#include "mysql/schema_copy.h"
#include "mysql/snapshot.h"

namespace dbr::test {
// Named: the unity build puts this file beside others with their own writers and helpers.
namespace mysql_copy {

using mariadb::Connection;

constexpr const char* kDb = "shop";

void ExecOk(Connection& c, const std::string& sql) {
  Status st = c.Exec(sql);
  ASSERT_TRUE(st.ok()) << sql.substr(0, 300) << "\n-> " << st.message();
}

// Random bytes (zeros, quotes, backslashes and all) as a hex literal.
std::string RandomBlob(std::mt19937_64& rng, size_t size) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out = "X'";
  for (size_t i = 0; i < size; ++i) {
    const auto b = static_cast<unsigned char>(rng());
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out + "'";
}

// The source's tables: an AUTO_INCREMENT table with a trigger that writes an audit table, a
// JSON and BLOB table, a composite key with a generated column, a view, a routine, an event.
void MakeSourceDatabase(TestMariaDb& src) {
  auto c = src.Connect();
  ASSERT_TRUE(c.ok()) << c.message();
  for (const std::string& sql : {
           std::string("CREATE DATABASE shop CHARACTER SET utf8mb4"),
           std::string("CREATE TABLE shop.items (id INT AUTO_INCREMENT PRIMARY KEY, name "
                       "VARCHAR(100) NOT NULL, price DECIMAL(10,2), changed TIMESTAMP(6) NOT NULL "
                       "DEFAULT CURRENT_TIMESTAMP(6), note TEXT)"),
           std::string("CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, item_id INT "
                       "NOT NULL, what VARCHAR(10) NOT NULL)"),
           std::string("CREATE TABLE shop.docs (id BIGINT PRIMARY KEY, body JSON, photo "
                       "MEDIUMBLOB, flags BIT(5), ratio DOUBLE)"),
           std::string("CREATE TABLE shop.order_lines (order_id INT, line INT, qty INT NOT NULL, "
                       "twice INT AS (qty * 2) STORED, PRIMARY KEY (order_id, line), KEY (qty))"),
           std::string("CREATE TRIGGER shop.items_audit AFTER INSERT ON shop.items FOR EACH ROW "
                       "INSERT INTO shop.audit (item_id, what) VALUES (NEW.id, 'insert')"),
           std::string("CREATE VIEW shop.big_orders AS SELECT order_id, SUM(qty) AS qty FROM "
                       "shop.order_lines GROUP BY order_id HAVING SUM(qty) > 50"),
           std::string("CREATE VIEW shop.big_order_count AS SELECT COUNT(*) AS n FROM "
                       "shop.big_orders"),
           std::string("CREATE FUNCTION shop.with_tax(p DECIMAL(10,2)) RETURNS DECIMAL(10,2) "
                       "DETERMINISTIC RETURN p * 1.2"),
           std::string("CREATE EVENT shop.nightly ON SCHEDULE EVERY 1 DAY DO DELETE FROM "
                       "shop.audit WHERE id < 0"),
       })
    ExecOk(*c, sql);
  std::mt19937_64 rng(7);
  for (int batch = 0; batch < 10; ++batch) {
    std::string items = "INSERT INTO shop.items (name, price, note) VALUES ";
    std::string lines = "INSERT INTO shop.order_lines (order_id, line, qty) VALUES ";
    for (int i = 0; i < 500; ++i) {
      const int n = batch * 500 + i;
      items += (i ? "," : "") + std::string("('item ") + std::to_string(n) + " \\\\ ''quoted''', " +
               std::to_string(n % 997) + ".25, " + (n % 3 ? "'note é ☃'" : "NULL") + ")";
      lines += (i ? "," : "") + std::string("(") + std::to_string(n / 4) + ", " +
               std::to_string(n % 4) + ", " + std::to_string(n % 40) + ")";
    }
    ExecOk(*c, items);
    ExecOk(*c, lines);
  }
  for (int i = 0; i < 200; ++i)
    ExecOk(*c, "INSERT INTO shop.docs VALUES (" + std::to_string(i) +
                   ", '{\"n\": " + std::to_string(i) + ", \"s\": \"a\\\\\"b\"}', " +
                   RandomBlob(rng, 100 + (i * 37) % 3000) + ", b'10101', " + std::to_string(i) +
                   ".1 / 3)");
}

// Writes to every table until stopped: inserts (firing the trigger), updates, deletes.
class LiveWriter {
 public:
  explicit LiveWriter(TestMariaDb& src) {
    thread_ = std::thread([this, &src] {
      auto c = src.Connect();
      if (!c.ok()) return (void)(error_ = c.message());
      std::mt19937_64 rng(11);
      for (int n = 0; !stop_; ++n) {
        const std::string k = std::to_string(n);
        for (const std::string& sql :
             {"INSERT INTO shop.items (name, price) VALUES ('live " + k + "', " + k + ")",
              "UPDATE shop.items SET price = price + 1, note = 'touched " + k +
                  "' WHERE id = " + std::to_string(1 + rng() % 5000),
              "DELETE FROM shop.order_lines WHERE order_id = " + std::to_string(rng() % 1250) +
                  " AND line = " + std::to_string(rng() % 4),
              "INSERT INTO shop.order_lines (order_id, line, qty) VALUES (" +
                  std::to_string(10000 + n) + ", 0, " + std::to_string(rng() % 60) + ")",
              "REPLACE INTO shop.docs (id, body, photo) VALUES (" + std::to_string(rng() % 400) +
                  ", JSON_OBJECT('w', " + k + "), " + RandomBlob(rng, 64) + ")"}) {
          Status st = c->Exec(sql);
          if (!st.ok()) return (void)(error_ = st.message());
        }
        ++rounds_;
      }
    });
  }
  ~LiveWriter() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int rounds() const { return rounds_; }
  const std::string& error() const { return error_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  std::string error_;
  std::thread thread_;
};

// The value, or the error's message (for comparisons that show it when they fail).
std::string ValueOr(const Result<std::string>& r) {
  return r.ok() ? *r : "error: " + r.message();
}

// Every row of `table`, in key order, each as one string.
std::vector<std::string> RowsOf(Connection& c, const std::string& table) {
  std::vector<std::string> rows;
  Status st =
      c.Stream("SELECT * FROM shop." + table + " ORDER BY 1, 2",
               [&](const std::vector<mariadb::Column>&, const std::vector<mariadb::Value>& row) {
                 std::string line;
                 for (const auto& v : row)
                   line += (v.null() ? std::string("NULL") : std::string(v.data, v.size)) + "|";
                 rows.push_back(std::move(line));
                 return Status::Ok();
               });
  EXPECT_TRUE(st.ok()) << st.message();
  return rows;
}

class MysqlCopyTest : public ::testing::TestWithParam<int> {};

TEST_P(MysqlCopyTest, CopyAtTheSnapshotPositionThenReplicationMakesEveryTableEqual) {
  const int sessions = GetParam();
  auto a = std::async(std::launch::async, [] { return TestMariaDb::Start(); });
  auto b = std::async(std::launch::async, [] { return TestMariaDb::Start(); });
  auto src = a.get();
  auto dst = b.get();
  ASSERT_TRUE(src.ok()) << src.message();
  ASSERT_TRUE(dst.ok()) << dst.message();
  ASSERT_NO_FATAL_FAILURE(MakeSourceDatabase(**src));

  LiveWriter writer(**src);
  while (writer.rounds() < 20 && writer.error().empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));

  auto snapshot = mysql::ConsistentSnapshot::Take((*src)->Params(), sessions);
  ASSERT_TRUE(snapshot.ok()) << snapshot.message();
  const int rounds_at_snapshot = writer.rounds();
  auto schema = mysql::ReadSchema(snapshot->session(0), kDb);
  ASSERT_TRUE(schema.ok()) << schema.message();
  EXPECT_EQ(schema->tables.size(), 4u);
  auto dst_conn = (*dst)->Connect();
  ASSERT_TRUE(dst_conn.ok()) << dst_conn.message();
  Status st = mysql::CreateTables(*dst_conn, *schema);
  ASSERT_TRUE(st.ok()) << st.message();
  auto copied = mysql::CopyAllRows(*snapshot, (*dst)->Params(), *schema);
  ASSERT_TRUE(copied.ok()) << copied.message();
  std::map<std::string, int64_t> rows_copied;
  for (const auto& t : *copied) rows_copied[t.name] = t.rows;
  EXPECT_EQ(rows_copied["order_lines"] >= 4900, true) << rows_copied["order_lines"];
  st = mysql::CreateObjectsAfterRows(*dst_conn, *schema);
  ASSERT_TRUE(st.ok()) << st.message();

  auto src_conn = (*src)->Connect();
  ASSERT_TRUE(src_conn.ok()) << src_conn.message();
  st = mysql::EnsureReplicationUser(*src_conn, "dbr_repl", "r3pl'pass\\word");
  ASSERT_TRUE(st.ok()) << st.message();
  st = mysql::StartReplication(*dst_conn,
                               {"127.0.0.1", (*src)->port(), "dbr_repl", "r3pl'pass\\word"},
                               snapshot->position(), {kDb});
  ASSERT_TRUE(st.ok()) << st.message();

  // The writer goes on while the destination catches up, then stops.
  const int rounds_before = writer.rounds();
  while (writer.rounds() < rounds_before + 50 && writer.error().empty())
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  writer.Stop();
  ASSERT_EQ(writer.error(), "");
  EXPECT_GT(writer.rounds(), rounds_at_snapshot) << "no write after the snapshot";
  auto end = mysql::SourcePositionNow(*src_conn);
  ASSERT_TRUE(end.ok()) << end.message();
  st = mysql::WaitApplied(*dst_conn, *end, std::chrono::seconds(120));
  ASSERT_TRUE(st.ok()) << st.message();

  for (const char* table : {"items", "audit", "docs", "order_lines"}) {
    const auto want = RowsOf(*src_conn, table);
    const auto got = RowsOf(*dst_conn, table);
    EXPECT_EQ(got.size(), want.size()) << table;
    size_t differ = 0;
    for (size_t i = 0; i < std::min(want.size(), got.size()); ++i)
      if (want[i] != got[i] && differ++ < 3)
        ADD_FAILURE() << table << " row " << i << ":\n source      " << want[i] << "\n destination "
                      << got[i];
    EXPECT_EQ(differ, 0u) << table;
  }
  // The trigger fired once per insert on the source, never for the copy or the replicated rows.
  auto audit = dst_conn->QueryInt("SELECT COUNT(*) FROM shop.audit");
  auto items = dst_conn->QueryInt("SELECT COUNT(*) FROM shop.items");
  ASSERT_TRUE(audit.ok() && items.ok());
  EXPECT_EQ(*audit, *items);
  // The view of a view, the routine, the trigger; the event made disabled on the replica.
  auto big = dst_conn->QueryValue("SELECT n FROM shop.big_order_count");
  EXPECT_TRUE(big.ok()) << big.message();
  EXPECT_EQ(ValueOr(dst_conn->QueryValue("SELECT shop.with_tax(10)")), "12.00");
  EXPECT_EQ(ValueOr(dst_conn->QueryValue(
                "SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_NAME = 'nightly'")),
            "SLAVESIDE_DISABLED");
  EXPECT_EQ(ValueOr(dst_conn->QueryValue(
                "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = 'shop'")),
            "1");
}

INSTANTIATE_TEST_SUITE_P(Sessions, MysqlCopyTest, ::testing::Values(1, 2),
                         [](const auto& info) { return std::to_string(info.param) + "Sessions"; });

}  // namespace mysql_copy
}  // namespace dbr::test
