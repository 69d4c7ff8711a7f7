// pg::RowStream on a real server: every row of a result larger than one network read, in order;
// a stream stopped early or ended by an error leaves the connection ready for the next
// statement, inside a transaction (after a rollback to its savepoint) and outside one.
#include "pg/row_stream.h"

#include <gtest/gtest.h>

#include "harness/shared_cluster.h"

namespace dbr::test {
namespace {

class RowStreamTest : public SharedClusterTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(SharedClusterTest::SetUp());
    auto c = cluster_->Connect();
    ASSERT_TRUE(c.ok()) << c.message();
    conn_.emplace(std::move(*c));
  }

  // The rows `stream` gives until its end or an error (then in `error`).
  static int64_t ReadAll(pg::RowStream& stream, std::string* error) {
    int64_t rows = 0;
    for (;;) {
      auto row = stream.Next();
      if (!row.ok()) {
        *error = row.message();
        return rows;
      }
      if (!row->has_value()) return rows;
      EXPECT_EQ((*row)->GetInt(0, 0), rows + 1);
      ++rows;
    }
  }

  // Nothing left to read on the connection (libpq's next statement would otherwise discard what
  // the stream left unread, hiding it), and the transaction as expected.
  void ExpectReady(PGTransactionStatusType transaction) {
    EXPECT_EQ(PQisBusy(conn_->raw()), 0);
    EXPECT_EQ(PQtransactionStatus(conn_->raw()), transaction);
  }

  // A one-value query's answer, or its error.
  std::string Value(const std::string& sql) {
    auto v = conn_->QueryValue(sql);
    return v.ok() ? *v : v.message();
  }

  std::optional<pg::Connection> conn_;
};

TEST_F(RowStreamTest, EveryRowInOrderThenNone) {
  auto stream =
      pg::RowStream::Start(*conn_, "SELECT g, md5(g::text) FROM generate_series(1, 50000) g");
  ASSERT_TRUE(stream.ok()) << stream.message();
  std::string error;
  EXPECT_EQ(ReadAll(*stream, &error), 50000);
  EXPECT_EQ(error, "");
  ExpectReady(PQTRANS_IDLE);
  auto after = stream->Next();
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->has_value());
  EXPECT_EQ(Value("SELECT 'next'"), "next");
}

TEST_F(RowStreamTest, StoppedEarlyTheConnectionGoesOn) {
  {
    auto stream = pg::RowStream::Start(*conn_, "SELECT g FROM generate_series(1, 5000000) g");
    ASSERT_TRUE(stream.ok()) << stream.message();
    for (int i = 0; i < 10; ++i) ASSERT_TRUE(stream->Next().ok());
  }
  ExpectReady(PQTRANS_IDLE);
  EXPECT_EQ(Value("SELECT 'outside'"), "outside");

  ASSERT_TRUE(conn_->Exec("BEGIN; CREATE TEMP TABLE kept (n int); SAVEPOINT s").ok());
  {
    auto stream = pg::RowStream::Start(*conn_, "SELECT g FROM generate_series(1, 5000000) g");
    ASSERT_TRUE(stream.ok()) << stream.message();
    ASSERT_TRUE(stream->Next().ok());
  }
  ExpectReady(PQTRANS_INERROR);  // the rows not read were cancelled
  ASSERT_TRUE(conn_->Exec("ROLLBACK TO SAVEPOINT s").ok());
  EXPECT_TRUE(conn_->Exec("INSERT INTO kept VALUES (1); COMMIT").ok());
  EXPECT_EQ(Value("SELECT count(*) FROM kept"), "1");
}

TEST_F(RowStreamTest, AnErrorMidwayIsReturnedAndTheConnectionGoesOn) {
  auto stream = pg::RowStream::Start(
      *conn_, "SELECT g / (g - 30001) * 0 + g FROM generate_series(1, 50000) g");
  ASSERT_TRUE(stream.ok()) << stream.message();
  std::string error;
  EXPECT_EQ(ReadAll(*stream, &error), 30000);
  EXPECT_NE(error.find("division by zero"), std::string::npos) << error;
  ExpectReady(PQTRANS_IDLE);
  EXPECT_EQ(Value("SELECT 'after'"), "after");
}

}  // namespace
}  // namespace dbr::test
