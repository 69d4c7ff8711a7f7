#include "engine/large_objects.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

LargeObject Object(int64_t oid, const std::string& digest, const std::string& owner = "app",
                   const std::string& privileges = "app=rw/app") {
  return {oid, owner, privileges, 10, digest};
}

TEST(CompareLargeObjects, NamesEachDifferenceByOidInOrder) {
  const std::vector<LargeObject> source = {Object(1, "a"), Object(2, "b"), Object(4, "d"),
                                           Object(5, "e", "app"), Object(6, "f")};
  std::vector<LargeObject> destination = {Object(2, "x"), Object(3, "c"), Object(4, "d"),
                                          Object(5, "e", "ops"),
                                          Object(6, "f", "app", "app=rw/app,=r/app")};
  auto d = CompareLargeObjects(source, destination, "source", "destination");
  ASSERT_EQ(d.size(), 5u);
  EXPECT_EQ(d[0].oid, 1);
  EXPECT_EQ(d[0].what, "only on the source");
  EXPECT_EQ(d[1].oid, 2);
  EXPECT_EQ(d[1].what, "content");
  EXPECT_EQ(d[2].oid, 3);
  EXPECT_EQ(d[2].what, "only on the destination");
  EXPECT_EQ(d[3].what, "owner: source app, destination ops");
  EXPECT_EQ(d[4].what, "privileges: source app=rw/app, destination app=rw/app,=r/app");
}

TEST(CompareLargeObjects, ASizeDifferenceIsNamedBeforeTheContent) {
  LargeObject shorter = Object(7, "y");
  shorter.size = 4;
  auto d = CompareLargeObjects({Object(7, "x")}, {shorter}, "destination", "source");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].what, "size: destination 10, source 4");
  EXPECT_TRUE(CompareLargeObjects({Object(7, "x")}, {Object(7, "x")}, "a", "b").empty());
}

TEST(LargeObjectSync, DescribesWhatWasWrittenAndTheTime) {
  EXPECT_EQ(
      Describe({.compared = 4, .copied = 2, .removed = 1, .fixed = 1, .bytes = 2048, .ms = 12.4}),
      "4 large objects compared, 2 copied (2.0 kB), 1 removed, 1 given their owner or "
      "privileges in 12 ms");
}

}  // namespace
}  // namespace dbr
