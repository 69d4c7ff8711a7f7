// pg::EndOfWalRecord on real servers: the end of a record is where the next one starts (as the
// server's own pg_walinspect lists them), and a server without pg_walinspect says nothing.
#include "pg/wal_record.h"

#include <gtest/gtest.h>

#include "harness/cluster.h"

namespace dbr::test {
namespace {

TEST(WalRecordTest, TheEndOfARecordIsWhereTheNextStarts) {
  auto cluster = TestCluster::Start(15);
  ASSERT_TRUE(cluster.ok()) << cluster.message();
  TestCluster& c = **cluster;
  ASSERT_TRUE(c.Exec("CREATE TABLE t (v text); CREATE EXTENSION pg_walinspect").ok());
  const std::string from = *c.QueryValue("SELECT pg_current_wal_insert_lsn()::text");
  ASSERT_TRUE(c.Exec("INSERT INTO t SELECT repeat('x', g) FROM generate_series(1, 50) g").ok());
  const std::string to = *c.QueryValue("SELECT pg_current_wal_insert_lsn()::text");
  ASSERT_TRUE(c.Exec("SELECT pg_switch_wal()").ok());  // written out: the test clusters do not wait
  // Two consecutive records: the first one's start, the second one's.
  auto pair = c.QueryValue(
      "SELECT start_lsn::text || ' ' || lead(start_lsn) OVER (ORDER BY start_lsn)::text FROM "
      "pg_get_wal_records_info('" +
      from + "', '" + to + "') ORDER BY start_lsn OFFSET 3 LIMIT 1");
  ASSERT_TRUE(pair.ok()) << pair.message();
  const std::string start = pair->substr(0, pair->find(' '));
  const std::string next = pair->substr(pair->find(' ') + 1);
  ASSERT_TRUE(c.Exec("DROP EXTENSION pg_walinspect").ok());

  auto conn = c.Connect("postgres");
  ASSERT_TRUE(conn.ok()) << conn.message();
  auto end = pg::EndOfWalRecord(*conn, *pg::Lsn::Parse(start));
  ASSERT_TRUE(end.ok()) << end.message();
  ASSERT_TRUE(end->has_value());
  EXPECT_GT(**end, *pg::Lsn::Parse(start));
  EXPECT_LE(**end, *pg::Lsn::Parse(next));
  EXPECT_EQ(*c.QueryValue("SELECT count(*) FROM pg_extension WHERE extname = 'pg_walinspect'"), "0")
      << "created for the call, dropped after it";

  auto before_15 = TestCluster::Start(14);
  ASSERT_TRUE(before_15.ok()) << before_15.message();
  auto old = (*before_15)->Connect("postgres");
  ASSERT_TRUE(old.ok()) << old.message();
  auto none = pg::EndOfWalRecord(*old, *pg::Lsn::Parse(start));
  ASSERT_TRUE(none.ok()) << none.message();
  EXPECT_FALSE(none->has_value());
}

}  // namespace
}  // namespace dbr::test
