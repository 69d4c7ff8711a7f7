#include "harness/mariadb_workload.h"

#include <gtest/gtest.h>

#include <chrono>
#include <random>

#include "mariadb/quote.h"

namespace dbr::test {
namespace {

using mariadb::Connection;

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

}  // namespace

void MakeShopDatabase(TestMariaDb& src) {
  auto c = src.Connect();
  ASSERT_TRUE(c.ok()) << c.message();
  for (const std::string& sql : {
           std::string("CREATE DATABASE shop CHARACTER SET utf8mb4"),
           std::string("CREATE TABLE shop.items (id INT AUTO_INCREMENT PRIMARY KEY, name "
                       "VARCHAR(100) NOT NULL, price DECIMAL(10,2), changed TIMESTAMP(6) NOT NULL "
                       "DEFAULT CURRENT_TIMESTAMP(6), note TEXT, CONSTRAINT price_not_negative "
                       "CHECK (price >= 0))"),
           std::string("CREATE TABLE shop.audit (id INT AUTO_INCREMENT PRIMARY KEY, item_id INT "
                       "NOT NULL, what VARCHAR(10) NOT NULL, KEY item (item_id, what))"),
           std::string("CREATE TABLE shop.docs (id BIGINT PRIMARY KEY, body JSON, photo "
                       "MEDIUMBLOB, flags BIT(5), ratio DOUBLE, weight FLOAT)"),
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
                   ".1 / 3, " + std::to_string(i) + "456.789)");
  // Table sizes as a server that has run a while knows them (InnoDB's statistics are otherwise
  // recomputed in the background, some time after a bulk load): the copy and verify split by them.
  ExecOk(*c, "ANALYZE TABLE shop.items, shop.audit, shop.docs, shop.order_lines");
}

std::vector<std::string> RowsOf(Connection& c, const std::string& table,
                                const std::string& database) {
  std::vector<std::string> rows;
  // A FLOAT reads with 6 significant digits: its exact value is added, through DOUBLE.
  const std::string exact = table == "docs" ? ", CAST(weight AS DOUBLE)" : "";
  Status st = c.Stream(
      "SELECT *" + exact + " FROM " + mariadb::QualifiedName(database, table) + " ORDER BY 1, 2",
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

ShopWriter::ShopWriter(TestMariaDb& src) {
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

ShopWriter::~ShopWriter() {
  Stop();
}

void ShopWriter::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ShopWriter::WaitForRounds(int more) const {
  const int until = rounds_ + more;
  while (rounds_ < until && error_.empty() && !stop_)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

void ExpectShopEqual(Connection& src, Connection& dst, const std::string& dst_database) {
  for (const char* table : kShopTables) {
    const auto want = RowsOf(src, table);
    const auto got = RowsOf(dst, table, dst_database);
    EXPECT_EQ(got.size(), want.size()) << table;
    size_t differ = 0;
    for (size_t i = 0; i < std::min(want.size(), got.size()); ++i)
      if (want[i] != got[i] && differ++ < 3)
        ADD_FAILURE() << table << " row " << i << ":\n source      " << want[i] << "\n destination "
                      << got[i];
    EXPECT_EQ(differ, 0u) << table;
  }
}

}  // namespace dbr::test
