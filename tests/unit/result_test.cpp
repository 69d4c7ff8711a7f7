// util/status.h's Result: the value or the error, and the value-or-none form for callers that
// go on without it.
#include <gtest/gtest.h>

#include <string>

#include "util/status.h"

namespace dbr {
namespace {

TEST(Result, ValueOrNoneGivesTheValueOrTheReason) {
  std::string why = "untouched";
  EXPECT_EQ(Result<std::string>("v").ValueOrNone(&why), "v");
  EXPECT_EQ(why, "untouched");
  EXPECT_EQ(Result<std::string>(Status::Error("no route to host")).ValueOrNone(&why), std::nullopt);
  EXPECT_EQ(why, "no route to host");
  EXPECT_EQ(Result<int>(Status::Error("refused")).ValueOrNone(nullptr), std::nullopt);
}

}  // namespace
}  // namespace dbr
