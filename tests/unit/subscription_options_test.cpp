#include <gtest/gtest.h>

#include "engine/replication_link.h"

namespace dbr {
namespace {

TEST(SubscriptionOptions, BoundToTheSlotWithoutCopying) {
  EXPECT_EQ(SubscriptionOptions(13, "db_relocate_slot_app", true),
            "create_slot = false, slot_name = 'db_relocate_slot_app', copy_data = false");
  EXPECT_EQ(SubscriptionOptions(13, "s", false),
            "create_slot = false, slot_name = 's', copy_data = false, enabled = false");
}

// Older servers know no origin option (CREATE SUBSCRIPTION would fail on it).
TEST(SubscriptionOptions, FromPostgres16ItTakesOnlyChangesMadeOnItsPublisher) {
  for (int major : {13, 14, 15})
    EXPECT_EQ(SubscriptionOptions(major, "s", true).find("origin"), std::string::npos) << major;
  for (int major : {16, 17, 18})
    EXPECT_NE(SubscriptionOptions(major, "s", true).find(", origin = none"), std::string::npos)
        << major;
}

// A large transaction reaches the destination while it runs, not only once it commits.
TEST(SubscriptionOptions, LargeTransactionsAreStreamedAndFrom16AppliedInParallel) {
  EXPECT_EQ(SubscriptionOptions(13, "s", true).find("streaming"), std::string::npos);
  for (int major : {14, 15})
    EXPECT_NE(SubscriptionOptions(major, "s", true).find(", streaming = on"), std::string::npos)
        << major;
  for (int major : {16, 17, 18})
    EXPECT_NE(SubscriptionOptions(major, "s", true).find(", streaming = parallel"),
              std::string::npos)
        << major;
}

}  // namespace
}  // namespace dbr
