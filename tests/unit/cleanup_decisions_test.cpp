#include "core/cleanup_decisions.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

ProxyState SendsTo(std::optional<Side> active) {
  return {.running = true, .active = active, .detail = "PgBouncer at 127.0.0.1:6432"};
}

TEST(ProxyAllowsCleanup, AProxySendingTheApplicationToThePrimaryOrNowhereAllowsIt) {
  for (Side primary : {Side::kSource, Side::kDestination}) {
    EXPECT_TRUE(ProxyAllowsCleanup(SendsTo(primary), "PgBouncer", primary).ok());
    EXPECT_TRUE(ProxyAllowsCleanup(SendsTo(std::nullopt), "PgBouncer", primary).ok());
  }
}

TEST(ProxyAllowsCleanup, AProxySendingTheApplicationToTheOtherSideRefuses) {
  Status st = ProxyAllowsCleanup(SendsTo(Side::kDestination), "HAProxy", Side::kSource);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("HAProxy sends the application to the destination"),
            std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("nothing was dropped"), std::string::npos) << st.message();
}

TEST(ProxyAllowsCleanup, AProxyThatCannotBeReadRefusesNamingItAndWhatToDo) {
  ProxyState silent{.running = false,
                    .detail = "cannot reach the PgBouncer admin console at 127.0.0.1:1"};
  for (const Result<ProxyState>& read :
       {Result<ProxyState>(silent),
        Result<ProxyState>(Status::Error("HAProxy (runtime API /x.sock): no backend pg"))}) {
    Status st = ProxyAllowsCleanup(read, "PgBouncer", Side::kSource);
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("cannot read where PgBouncer sends the application"),
              std::string::npos)
        << st.message();
    // Why it could not, and the ways on.
    EXPECT_NE(st.message().find(read.ok() ? "127.0.0.1:1" : "no backend pg"), std::string::npos)
        << st.message();
    EXPECT_NE(st.message().find("Nothing was dropped"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("db_relocate proxy"), std::string::npos) << st.message();
    EXPECT_NE(st.message().find("cutover.admin"), std::string::npos) << st.message();
  }
}

RoleBefore Found(bool existed, std::string comment = "") {
  return {.role = "upgrade", .existed = existed, .comment = std::move(comment)};
}

TEST(PlanReplicationUserCleanup, DropsOnlyAUserTheRelocationCreated) {
  EXPECT_EQ(PlanReplicationUserCleanup(Found(false), "upgrade", false),
            ReplicationUserCleanup::kDrop);
  // Created on the destination by the snapshot step (created_roles), whatever a switch found.
  EXPECT_EQ(PlanReplicationUserCleanup(std::nullopt, "upgrade", true),
            ReplicationUserCleanup::kDrop);
  EXPECT_EQ(PlanReplicationUserCleanup(Found(true), "upgrade", true),
            ReplicationUserCleanup::kDrop);
}

TEST(PlanReplicationUserCleanup, AUserThatWasThereBeforeIsKeptWithItsComment) {
  EXPECT_EQ(PlanReplicationUserCleanup(Found(true, "DBA's"), "upgrade", false),
            ReplicationUserCleanup::kRestore);
}

TEST(PlanReplicationUserCleanup, AUserTheStateSaysNothingOfIsKept) {
  EXPECT_EQ(PlanReplicationUserCleanup(std::nullopt, "upgrade", false),
            ReplicationUserCleanup::kKeepUnrecorded);
  // Recorded for another role: upgrade.user was changed since.
  EXPECT_EQ(PlanReplicationUserCleanup(Found(false), "repl2", false),
            ReplicationUserCleanup::kKeepUnrecorded);
  EXPECT_EQ(PlanReplicationUserCleanup(Found(true), "repl2", false),
            ReplicationUserCleanup::kKeepUnrecorded);
}

}  // namespace
}  // namespace dbr
