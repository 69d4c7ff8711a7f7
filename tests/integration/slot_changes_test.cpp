// SlotHasChanges on real servers: whether the side a return slot is on took writes of its
// publication's tables. An undone switch rolls forward when it says yes, so a transaction that
// changed nothing published must not count, on the majors whose pgoutput sends it anyway; and
// it undoes when it says no, so a commit not yet flushed (the test clusters commit
// asynchronously) must count.
#include <gtest/gtest.h>

#include "engine/replication_link.h"
#include "harness/cluster.h"

namespace dbr::test {
namespace {

TEST(SlotChangesTest, OnlyRowsOfPublishedTablesCountOnEveryMajor) {
  for (int major : {14, 15}) {
    SCOPED_TRACE("PostgreSQL " + std::to_string(major));
    auto cluster = TestCluster::Start(major);
    ASSERT_TRUE(cluster.ok()) << cluster.message();
    TestCluster& c = **cluster;
    ASSERT_TRUE(c.Exec("CREATE TABLE published (v int); CREATE TABLE other (v int); "
                       "CREATE PUBLICATION pub FOR TABLE published")
                    .ok());
    ASSERT_TRUE(
        c.Exec("SELECT pg_create_logical_replication_slot('return_slot', 'pgoutput')").ok());
    auto conn = c.Connect("postgres");
    ASSERT_TRUE(conn.ok()) << conn.message();
    const names::Link link{.publication = "pub", .slot = "return_slot"};

    auto none = SlotHasChanges(*conn, link);
    ASSERT_TRUE(none.ok()) << none.message();
    EXPECT_FALSE(*none);
    // Transactions that wrote, but nothing the publication carries.
    ASSERT_TRUE(c.Exec("INSERT INTO other VALUES (1)").ok());
    ASSERT_TRUE(c.Exec("ANALYZE other").ok());
    ASSERT_TRUE(c.Exec("CREATE TABLE later (v int)").ok());
    auto unrelated = SlotHasChanges(*conn, link);
    ASSERT_TRUE(unrelated.ok()) << unrelated.message();
    EXPECT_FALSE(*unrelated);

    ASSERT_TRUE(c.Exec("INSERT INTO published VALUES (1)").ok());
    auto written = SlotHasChanges(*conn, link);
    ASSERT_TRUE(written.ok()) << written.message();
    EXPECT_TRUE(*written);
    // Peeked, not consumed: the answer stays.
    EXPECT_TRUE(*SlotHasChanges(*conn, link));
  }
}

}  // namespace
}  // namespace dbr::test
