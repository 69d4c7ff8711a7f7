#include "util/text.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

TEST(Text, TrimRemovesTheGivenCharactersAtBothEndsOnly) {
  EXPECT_EQ(Trim("  a b \t\r\n"), "a b");
  EXPECT_EQ(Trim(" \n\t "), "");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("\"x\"", "\""), "x");
  EXPECT_EQ(Trim("\nkeep\n", " "), "\nkeep\n");
}

TEST(Text, MajorOfAVersionIsItsFirstNumber) {
  EXPECT_EQ(MajorOf("17.2"), "17");
  EXPECT_EQ(MajorOf("9.6.24"), "9");
  EXPECT_EQ(MajorOf("17"), "17");
}

TEST(Text, SplitLinesKeepsEmptyLinesAndDropsLineEnds) {
  EXPECT_EQ(SplitLines("a\nb\r\n\nc"), (std::vector<std::string>{"a", "b", "", "c"}));
  EXPECT_EQ(SplitLines("a\n"), (std::vector<std::string>{"a"}));
  EXPECT_EQ(SplitLines("\n"), (std::vector<std::string>{""}));
  EXPECT_TRUE(SplitLines("").empty());
  EXPECT_EQ(SplitLines("x\ry\r\n"), (std::vector<std::string>{"x\ry"}));
}

}  // namespace
}  // namespace dbr
