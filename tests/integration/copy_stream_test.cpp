// pg::StreamCopy on a real server: rows gathered into larger messages arrive whole and in order,
// whatever their sizes against the batch (small ones, ones just under and over it, a large one),
// in both COPY formats; a cancelled stream leaves the destination as it was.
#include "pg/copy_stream.h"

#include <gtest/gtest.h>

#include "harness/shared_cluster.h"

namespace dbr::test {
namespace {

constexpr const char* kDigest =
    "SELECT count(*) || ' ' || md5(string_agg(id || ':' || md5(v), ',' ORDER BY ctid)) FROM ";

class CopyStreamTest : public SharedClusterTest {
 protected:
  static void SetUpTestSuite() {
    // Rows of 1 to 200 bytes, then ones around the 64 kB batch and one of 3 MB among them.
    StartShared(R"sql(
      CREATE TABLE src (id int PRIMARY KEY, v bytea NOT NULL);
      INSERT INTO src SELECT g, decode(repeat(md5(g::text), 1 + g % 7), 'hex') || '\x00'::bytea
        FROM generate_series(1, 20000) g;
      INSERT INTO src SELECT 40000 + g, decode(repeat('ab', 65536 + g * 37), 'hex')
        FROM generate_series(-6, 6) g;
      INSERT INTO src VALUES (30000, decode(repeat('cd', 3 * 1024 * 1024), 'hex'));
      INSERT INTO src SELECT 30000 + g, decode(md5(g::text), 'hex') FROM generate_series(1, 500) g;
      CREATE TABLE dst (LIKE src))sql");
  }
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SharedClusterTest::SetUp());
    ASSERT_TRUE(cluster_->Exec("TRUNCATE dst").ok());
  }
};

TEST_F(CopyStreamTest, EveryRowArrivesWholeInBothFormats) {
  for (const std::string format : {"binary", "text"}) {
    SCOPED_TRACE(format);
    ASSERT_TRUE(cluster_->Exec("TRUNCATE dst").ok());
    auto from = cluster_->Connect();
    auto to = cluster_->Connect();
    ASSERT_TRUE(from.ok() && to.ok());
    CopyCounters live;
    std::atomic<bool> cancelled{false};
    auto copied = pg::StreamCopy(*from, "COPY src TO STDOUT (FORMAT " + format + ")", *to,
                                 "COPY dst FROM STDIN (FORMAT " + format + ")", &live, &cancelled);
    ASSERT_TRUE(copied.ok()) << copied.message();
    EXPECT_EQ(copied->rows, 20514);
    EXPECT_EQ(live.rows.load(), 20514);
    EXPECT_EQ(live.bytes.load(), copied->bytes);
    EXPECT_GT(copied->bytes, 4 * 1024 * 1024);  // the 3 MB row and 13 of 64 kB among them
    EXPECT_EQ(*cluster_->QueryValue(std::string(kDigest) + "dst"),
              *cluster_->QueryValue(std::string(kDigest) + "src"));
  }
}

TEST_F(CopyStreamTest, ACancelledStreamLeavesTheDestinationEmpty) {
  auto from = cluster_->Connect();
  auto to = cluster_->Connect();
  ASSERT_TRUE(from.ok() && to.ok());
  CopyCounters live;
  std::atomic<bool> cancelled{true};
  auto copied = pg::StreamCopy(*from, "COPY src TO STDOUT (FORMAT binary)", *to,
                               "COPY dst FROM STDIN (FORMAT binary)", &live, &cancelled);
  ASSERT_FALSE(copied.ok());
  EXPECT_NE(copied.message().find("cancelled"), std::string::npos) << copied.message();
  EXPECT_EQ(*cluster_->QueryValue("SELECT count(*) FROM dst"), "0");
  // Both connections are usable again.
  EXPECT_TRUE(from->Exec("SELECT 1").ok());
  EXPECT_TRUE(to->Exec("SELECT 1").ok());
}

}  // namespace
}  // namespace dbr::test
