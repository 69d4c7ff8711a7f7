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
#include "harness/mariadb_workload.h"
#include "mariadb/quote.h"
#include "mysql/deferred_indexes.h"
#include "mysql/replication.h"
#include "mysql/row_copy.h"
#include "mysql/schema_copy.h"
#include "mysql/snapshot.h"

namespace dbr::test {
// Named: the unity build puts this file beside others with their own writers and helpers.
namespace mysql_copy {

using mariadb::Connection;

constexpr const char* kDb = "shop";
constexpr const char* kChannel =
    "db_relocate_test";  // any name: the test makes the replication itself

// The value, or the error's message (for comparisons that show it when they fail).
std::string ValueOr(const Result<std::string>& r) {
  return r.ok() ? *r : "error: " + r.message();
}

// The copy's sessions, and the database's name on the destination (dst.name).
struct CopyCase {
  int sessions;
  const char* target;
};

void PrintTo(const CopyCase& c, std::ostream* os) {
  *os << c.sessions << " sessions into " << c.target;
}

class MysqlCopyTest : public ::testing::TestWithParam<CopyCase> {};

TEST_P(MysqlCopyTest, CopyAtTheSnapshotPositionThenReplicationMakesEveryTableEqual) {
  const int sessions = GetParam().sessions;
  const std::string target = GetParam().target;
  auto pair = StartMariaDbPair();
  ASSERT_TRUE(pair.ok()) << pair.message();
  TestMariaDb* src = pair->src.get();
  TestMariaDb* dst = pair->dst.get();
  ASSERT_NO_FATAL_FAILURE(MakeShopDatabase(*src));

  ShopWriter writer(*src);
  writer.WaitForRounds(20);

  auto snapshot = mysql::ConsistentSnapshot::Take(src->Params(), sessions);
  ASSERT_TRUE(snapshot.ok()) << snapshot.message();
  const int rounds_at_snapshot = writer.rounds();
  auto schema = mysql::ReadSchema(snapshot->session(0), kDb);
  ASSERT_TRUE(schema.ok()) << schema.message();
  EXPECT_EQ(schema->tables.size(), 4u);
  auto dst_conn = dst->Connect();
  ASSERT_TRUE(dst_conn.ok()) << dst_conn.message();
  mysql::MakeAs(*schema, target);
  mysql::DeferSecondaryKeys(*schema);
  Status st = mysql::CreateTables(*dst_conn, *schema);
  ASSERT_TRUE(st.ok()) << st.message();
  // With two sessions, every table above 1 KiB (InnoDB's smallest is 16 KiB) with an integer key
  // is copied in key ranges; order_lines' key is composite.
  const int64_t split_above = sessions > 1 ? 1024 : 0;
  auto copied = mysql::CopyAllRows(*snapshot, dst->Params(), *schema, split_above);
  ASSERT_TRUE(copied.ok()) << copied.message();
  std::map<std::string, int64_t> rows_copied;
  std::map<std::string, int> parts;
  for (const auto& t : *copied) rows_copied[t.name] = t.rows, parts[t.name] = t.parts;
  EXPECT_EQ(parts["items"], sessions > 1 ? 8 : 1);
  EXPECT_EQ(parts["docs"], sessions > 1 ? 8 : 1);
  EXPECT_EQ(parts["order_lines"], 1);
  EXPECT_EQ(rows_copied["order_lines"] >= 4900, true) << rows_copied["order_lines"];
  // The secondary keys, made after the rows, are the source's.
  auto keys = [](const std::string& database) {
    return "SELECT GROUP_CONCAT(TABLE_NAME, '.', INDEX_NAME, ':', NON_UNIQUE, ':', COLUMN_NAME "
           "ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX) FROM information_schema.STATISTICS "
           "WHERE TABLE_SCHEMA = '" +
           database + "'";
  };
  auto src_keys = src->Connect();
  ASSERT_TRUE(src_keys.ok()) << src_keys.message();
  EXPECT_EQ(ValueOr(dst_conn->QueryValue(keys(target))), ValueOr(src_keys->QueryValue(keys(kDb))));
  EXPECT_NE(
      ValueOr(dst_conn->QueryValue(keys(target))).find("audit.item:1:item_id,audit.item:1:what"),
      std::string::npos);
  st = mysql::CreateObjectsAfterRows(*dst_conn, *schema);
  ASSERT_TRUE(st.ok()) << st.message();

  auto src_conn = src->Connect();
  ASSERT_TRUE(src_conn.ok()) << src_conn.message();
  st = mysql::EnsureReplicationUser(*src_conn, "dbr_repl", "r3pl'pass\\word");
  ASSERT_TRUE(st.ok()) << st.message();
  // A replication connection of someone else's on the destination (never started): MariaDB's
  // gtid_slave_pos is server-wide, so ours then starts at the file and offset.
  const bool another_connection = sessions == 1;
  if (another_connection)
    ASSERT_TRUE(dst_conn
                    ->Exec("CHANGE MASTER 'theirs' TO MASTER_HOST = '127.0.0.1', MASTER_PORT = 1, "
                           "MASTER_USE_GTID = no")
                    .ok());
  st = mysql::StartReplication(
      *dst_conn, kChannel, {"127.0.0.1", src->port(), "dbr_repl", "r3pl'pass\\word"},
      snapshot->position(), {target},
      target == kDb ? std::nullopt : std::optional<mysql::DatabaseRewrite>({kDb, target}));
  ASSERT_TRUE(st.ok()) << st.message();

  auto replica = mysql::ReadReplica(*dst_conn, kChannel);
  ASSERT_TRUE(replica.ok()) << replica.message();
  EXPECT_EQ(replica->by_gtid, !another_connection);

  // The writer goes on while the destination catches up, then stops.
  writer.WaitForRounds(50);
  writer.Stop();
  ASSERT_EQ(writer.error(), "");
  EXPECT_GT(writer.rounds(), rounds_at_snapshot) << "no write after the snapshot";
  auto end = mysql::SourcePositionNow(*src_conn);
  ASSERT_TRUE(end.ok()) << end.message();
  st = mysql::WaitApplied(*dst_conn, kChannel, *end, std::chrono::seconds(120));
  ASSERT_TRUE(st.ok()) << st.message();

  ExpectShopEqual(*src_conn, *dst_conn, target);
  // The trigger fired once per insert on the source, never for the copy or the replicated rows.
  auto audit = dst_conn->QueryInt("SELECT COUNT(*) FROM " + target + ".audit");
  auto items = dst_conn->QueryInt("SELECT COUNT(*) FROM " + target + ".items");
  ASSERT_TRUE(audit.ok() && items.ok());
  EXPECT_EQ(*audit, *items);
  // Fired by a write on the destination, the trigger writes to the destination's database.
  ASSERT_TRUE(dst_conn->Exec("INSERT INTO " + target + ".items (name) VALUES ('after')").ok());
  EXPECT_EQ(ValueOr(dst_conn->QueryValue("SELECT COUNT(*) FROM " + target + ".audit")),
            std::to_string(*items + 1));
  // The view of a view, the routine, the trigger; the event made disabled on the replica. Under
  // another name, the views read the destination's tables, not a database of the source's name.
  auto big = dst_conn->QueryValue("SELECT n FROM " + target + ".big_order_count");
  EXPECT_TRUE(big.ok()) << big.message();
  EXPECT_EQ(ValueOr(dst_conn->QueryValue("SELECT " + target + ".with_tax(10)")), "12.00");
  EXPECT_EQ(ValueOr(dst_conn->QueryValue(
                "SELECT STATUS FROM information_schema.EVENTS WHERE EVENT_NAME = 'nightly'")),
            "SLAVESIDE_DISABLED");
  EXPECT_EQ(ValueOr(dst_conn->QueryValue(
                "SELECT COUNT(*) FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '" +
                target + "'")),
            "1");
  EXPECT_EQ(ValueOr(dst_conn->QueryValue(
                "SELECT COUNT(*) FROM information_schema.VIEWS WHERE VIEW_DEFINITION LIKE '%`" +
                std::string(kDb) + "`.%' AND TABLE_SCHEMA = '" + target + "'")),
            target == kDb ? "2" : "0");
  if (another_connection) ASSERT_TRUE(dst_conn->Exec("RESET SLAVE 'theirs' ALL").ok());
}

// A table of several megabytes travels in several batches, each written while the next is read:
// every row arrives once and whole; a write the destination refuses stops the copy, named.
TEST(MysqlCopyRowsTest, BatchesWrittenWhileTheNextIsReadArriveWholeAndARefusalIsNamed) {
  auto pair = StartMariaDbPair();
  ASSERT_TRUE(pair.ok()) << pair.message();
  auto src = pair->src->Connect();
  auto dst = pair->dst->Connect();
  ASSERT_TRUE(src.ok() && dst.ok());
  const char* table =
      "CREATE TABLE shop.wide (id INT PRIMARY KEY, raw VARBINARY(1000), t TEXT) CHARACTER SET "
      "utf8mb4";
  for (Connection* side : {&*src, &*dst})
    for (const char* sql : {"CREATE DATABASE shop", table})
      ASSERT_TRUE(side->Exec(sql).ok()) << sql;
  ASSERT_TRUE(dst->Exec("USE shop").ok());  // as the copy's loader sessions have it
  // About 4 MB of values (7 MB as SQL, binary as hex): several INSERTs of about a megabyte.
  Status filled = src->Exec(
      "INSERT INTO shop.wide SELECT seq, RANDOM_BYTES(1000), CONCAT(REPEAT('é ', 100), seq) "
      "FROM shop.seq_1_to_3000");
  ASSERT_TRUE(filled.ok()) << filled.message();

  auto copied = mysql::CopyRows(*src, *dst, kDb, "wide");
  ASSERT_TRUE(copied.ok()) << copied.message();
  EXPECT_EQ(copied->rows, 3000);
  EXPECT_GT(copied->bytes, 3 << 20);
  const char* checksum = "CHECKSUM TABLE shop.wide";
  auto a = src->Query(checksum);
  auto b = dst->Query(checksum);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->Get(0, 1), b->Get(0, 1));

  // Row 2500 already on the destination: a later batch is refused; the copy stops and says why.
  ASSERT_TRUE(dst->Exec("DELETE FROM shop.wide WHERE id <> 2500").ok());
  auto refused = mysql::CopyRows(*src, *dst, kDb, "wide");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("Duplicate entry '2500'"), std::string::npos)
      << refused.message();
  EXPECT_NE(refused.message().find("copying `shop`.`wide`"), std::string::npos)
      << refused.message();
  // The batches before it were written; the destination connection is free again.
  EXPECT_EQ(ValueOr(dst->QueryValue("SELECT COUNT(*) > 1 FROM shop.wide")), "1");
}

INSTANTIATE_TEST_SUITE_P(Sessions, MysqlCopyTest,
                         ::testing::Values(CopyCase{1, "shop"}, CopyCase{2, "shop_copy"}),
                         [](const auto& info) {
                           return std::to_string(info.param.sessions) + "SessionsInto" +
                                  (std::string(info.param.target) == kDb ? "TheSameName"
                                                                         : "AnotherName");
                         });

}  // namespace mysql_copy
}  // namespace dbr::test
