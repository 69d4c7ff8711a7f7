// Edges of the replication db_relocate sets up, on real clusters: the sequences it carries over
// (a value it may not read is an error, never "never used"), and the subscriptions it creates
// (from PostgreSQL 16, they take only the changes made on their publisher).
#include <gtest/gtest.h>

#include "engine/sequences.h"
#include "harness/app_pair.h"
#include "harness/cluster.h"
#include "harness/scope_of.h"
#include "harness/shared_pair.h"

namespace dbr::test {
namespace {

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

}  // namespace
}  // namespace dbr::test
