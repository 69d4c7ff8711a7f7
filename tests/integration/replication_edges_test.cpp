// Edges of the replication db_relocate sets up, on real clusters: the sequences it carries over
// (a value it may not read is an error, never "never used"), and the subscriptions it creates
// (from PostgreSQL 16, they take only the changes made on their publisher, and apply a large
// transaction while it runs).
#include <gtest/gtest.h>

#include "engine/replication_link.h"
#include "engine/sequences.h"
#include "harness/app_pair.h"
#include "harness/cluster.h"
#include "harness/scope_of.h"
#include "harness/shared_pair.h"
#include "harness/wait.h"

namespace dbr::test {
namespace {

using namespace std::chrono_literals;

class SequencesTest : public SharedPairTest {};

// pg_sequences.last_value is NULL for a role with neither SELECT nor USAGE on the sequence, as
// for one never used: taken as never used, the destination's would be set from its start value,
// behind values the source has handed out.
TEST_F(SequencesTest, ASequenceTheRoleMayNotReadIsAnErrorNamingItNotANeverUsedOne) {
  const std::string db = "seq_privileges";
  ASSERT_TRUE(src_->CreateDatabase(db).ok());
  ASSERT_TRUE(dst_->CreateDatabase(db).ok());
  for (TestCluster* c : {src_.get(), dst_.get()})
    ASSERT_TRUE(c->Exec("CREATE SEQUENCE used_seq; CREATE SEQUENCE granted_seq", db).ok());
  ASSERT_TRUE(src_->Exec("SELECT setval('used_seq', 5000)", db).ok());
  Status role = src_->Exec("CREATE ROLE seq_blind LOGIN PASSWORD 'blindpw'");
  ASSERT_TRUE(role.ok() || role.message().find("already exists") != std::string::npos)
      << role.message();
  ASSERT_TRUE(src_->Exec("GRANT SELECT ON SEQUENCE granted_seq TO seq_blind", db).ok());

  auto blind = src_->Connect(db, "seq_blind", "blindpw");
  auto dst = dst_->Connect(db);
  ASSERT_TRUE(blind.ok() && dst.ok()) << blind.message() << dst.message();
  auto set = CopySequencesAhead(*blind, *dst, test::SequencesIn(*blind, {"public"}), 1000);
  ASSERT_FALSE(set.ok()) << "set " << *set << " sequences";
  EXPECT_NE(set.message().find("\"public\".\"used_seq\""), std::string::npos) << set.message();
  EXPECT_EQ(set.message().find("granted_seq"), std::string::npos) << set.message();
  EXPECT_NE(set.message().find("seq_blind"), std::string::npos) << set.message();
  EXPECT_NE(set.message().find("GRANT SELECT"), std::string::npos) << set.message();
  // Nothing was set on the destination.
  EXPECT_EQ(*dst_->QueryValue("SELECT is_called FROM used_seq", db), "f");

  // A role that may read it sets it a full gap ahead.
  auto ops = src_->Connect(db);
  ASSERT_TRUE(ops.ok());
  auto done = CopySequencesAhead(*ops, *dst, test::SequencesIn(*ops, {"public"}), 1000);
  ASSERT_TRUE(done.ok()) << done.message();
  EXPECT_EQ(*dst_->QueryValue("SELECT last_value FROM used_seq", db), "6000");
}

class SubscriptionOriginTest : public AppPairTest {};

// From PostgreSQL 16 a subscription can leave out changes that were themselves applied by a
// subscription (origin = none): with both directions set up around a switch, a change cannot
// travel back to where it came from.
TEST_F(SubscriptionOriginTest, OnAServerOf16OrNewerTheSubscriptionTakesOnlyChangesMadeAtItsSource) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(15, 16));
  ASSERT_TRUE(src_->Exec("CREATE TABLE t (id int PRIMARY KEY)", "app").ok());
  auto config = WriteConfig(tmp_.path(), *src_, *dst_, "app");
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(*dst_->QueryValue("SELECT string_agg(subname || ' ' || suborigin, ',') "
                              "FROM pg_subscription",
                              "app"),
            "db_relocate_sub none");
  (void)RunDbRelocate({"cleanup", "--config", config.string()});
}

// A large transaction is streamed while it runs, and from PostgreSQL 16 on both sides a parallel
// apply worker applies it as it arrives: the destination does not wait for its commit to start.
// The subscription is made by the engine's own calls (`run` from a 16 source needs pg_dump 16,
// which this machine does not have).
TEST_F(SubscriptionOriginTest, ALargeTransactionIsAppliedByAParallelWorkerWhileItRuns) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair(16, 17));
  // Past 64 kB of changes the source streams a transaction instead of holding it until commit.
  ASSERT_TRUE(src_->Exec("ALTER SYSTEM SET logical_decoding_work_mem = '64kB'").ok());
  ASSERT_TRUE(src_->Exec("SELECT pg_reload_conf()").ok());
  for (TestCluster* c : {src_.get(), dst_.get()})
    ASSERT_TRUE(c->Exec("CREATE TABLE t (id int PRIMARY KEY, v text)", "app").ok());
  ASSERT_TRUE(src_->Exec("CREATE PUBLICATION big FOR TABLE t", "app").ok());
  auto source = src_->Connect("app");
  auto destination = dst_->Connect("app");
  ASSERT_TRUE(source.ok() && destination.ok());
  ASSERT_TRUE(RecreateSlot(*source, "big_slot").ok());
  ServerConfig publisher;
  publisher.port = src_->port();
  publisher.name = "app";
  Status subscribed = CreateSubscriptionOnSlot(
      *destination, {"big", "big_slot", "big_sub", Side::kSource, Side::kDestination},
      SubscriptionConnInfo(publisher, "ops", "secret", "big_sub"));
  ASSERT_TRUE(subscribed.ok()) << subscribed.message();
  EXPECT_EQ(*dst_->QueryValue("SELECT substream FROM pg_subscription", "app"), "p");

  ASSERT_TRUE(source->Exec("BEGIN").ok());
  ASSERT_TRUE(
      source->Exec("INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 30000) g").ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto n = dst_->QueryValue(
            "SELECT count(*) FROM pg_stat_subscription WHERE leader_pid IS NOT NULL", "app");
        return n.ok() && *n != "0";
      },
      30s))
      << dst_->LogTail(20);
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM t", "app"), "0");  // not committed yet
  ASSERT_TRUE(source->Exec("COMMIT").ok());
  EXPECT_TRUE(WaitFor(
      [&] {
        auto n = dst_->QueryValue("SELECT count(*) FROM t", "app");
        return n.ok() && *n == "30000";
      },
      30s));
  ASSERT_TRUE(destination->Exec("DROP SUBSCRIPTION big_sub").ok());
}

}  // namespace
}  // namespace dbr::test
