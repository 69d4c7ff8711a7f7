// A MariaDB workload for engine mysql's tests (issue #25): the `shop` database with what the
// issue names (an AUTO_INCREMENT table whose trigger writes an audit table, JSON, BLOB, BIT
// and FLOAT columns, a composite key with a generated column, a view of a view, a function, an
// event), a writer that inserts, updates, replaces and deletes in every table until stopped, and
// the comparison of every table row for row.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "harness/mariadb.h"
#include "mariadb/connection.h"

namespace dbr::test {

inline constexpr const char* kShopTables[] = {"items", "audit", "docs", "order_lines"};

// Creates and fills `shop` on `src` (5000 items, 200 docs with random blobs, 5000 lines).
void MakeShopDatabase(TestMariaDb& src);

// Writes to every table of `shop` until stopped, on its own connection and thread.
class ShopWriter {
 public:
  explicit ShopWriter(TestMariaDb& src);
  ~ShopWriter();
  void Stop();
  // Rounds of writes done so far; waits for `more` further ones (or an error).
  int rounds() const { return rounds_; }
  void WaitForRounds(int more) const;
  const std::string& error() const { return error_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> rounds_{0};
  std::string error_;
  std::thread thread_;
};

// Every row of `database`.`table`, in key order, each as one string.
std::vector<std::string> RowsOf(mariadb::Connection& c, const std::string& table,
                                const std::string& database = "shop");

// Every table of `shop` equal row for row on both sides, where the destination's copy is named
// `dst_database` (a gtest failure names the rows).
void ExpectShopEqual(mariadb::Connection& src, mariadb::Connection& dst,
                     const std::string& dst_database = "shop");

}  // namespace dbr::test
