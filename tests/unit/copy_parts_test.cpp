// Which tables the PostgreSQL copy splits: only those that would not fit whole in an even share
// of the work, since a table copied whole is loaded frozen.
#include "model/copy_parts.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

constexpr int64_t kMiB = 1024 * 1024;
constexpr int64_t kSplit = 256 * kMiB;

TEST(PlanCopyPartsTest, ALargeTableThatFitsAnEvenShareIsCopiedWhole) {
  // The benchmark's shape: three large tables and small ones, two workers. Two large tables
  // fill a worker each; the third, whole, would leave the other worker idle for its length.
  std::vector<int64_t> bytes = {318 * kMiB, 395 * kMiB, 345 * kMiB};
  for (int i = 0; i < 200; ++i) bytes.push_back(kMiB / 5);
  const std::vector<int> parts = PlanCopyParts(bytes, kSplit, 2);
  EXPECT_EQ(parts[0], 2) << "the smallest of the three large ones is shared";
  EXPECT_EQ(parts[1], 1);
  EXPECT_EQ(parts[2], 1);
  for (size_t i = 3; i < parts.size(); ++i) EXPECT_EQ(parts[i], 1);
}

TEST(PlanCopyPartsTest, OneTableLargerThanAShareIsSplitAsBefore) {
  const std::vector<int> parts = PlanCopyParts({10 * 1024 * kMiB, 5 * kMiB, 7 * kMiB}, kSplit, 2);
  EXPECT_EQ(parts[0], CopyPartsOf(10 * 1024 * kMiB, kSplit, 2));
  EXPECT_EQ(parts[0], 8);
  EXPECT_EQ(parts[1], 1);
  EXPECT_EQ(parts[2], 1);
}

TEST(PlanCopyPartsTest, ASmallerTableStaysWholeBesideASplitOne) {
  EXPECT_EQ(PlanCopyParts({30 * kMiB, 5 * kMiB, kMiB / 2}, kMiB, 2), (std::vector<int>{8, 1, 1}));
}

TEST(PlanCopyPartsTest, ManyLargeTablesAreAllCopiedWhole) {
  const std::vector<int64_t> bytes(16, 300 * kMiB);
  for (int p : PlanCopyParts(bytes, kSplit, 4)) EXPECT_EQ(p, 1);
}

TEST(PlanCopyPartsTest, OneWorkerNeverSplitsAndZeroNeverSplits) {
  for (int p : PlanCopyParts({4096 * kMiB, 300 * kMiB}, kSplit, 1)) EXPECT_EQ(p, 1);
  for (int p : PlanCopyParts({4096 * kMiB, 1 * kMiB}, 0, 2)) EXPECT_EQ(p, 1);
}

TEST(PlanCopyPartsTest, NothingToCopyPlansNothing) {
  EXPECT_TRUE(PlanCopyParts({}, kSplit, 2).empty());
  EXPECT_EQ(PlanCopyParts({0, 0}, kSplit, 2), (std::vector<int>{1, 1}));
}

}  // namespace
}  // namespace dbr
