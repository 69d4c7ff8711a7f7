#include "util/parse.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

TEST(ParseInt, WholeTextWithinBounds) {
  EXPECT_EQ(ParseInt("42"), 42);
  EXPECT_EQ(ParseInt(" 4242\n"), 4242);  // a pid file ends with a newline
  EXPECT_EQ(ParseInt("-7"), -7);
  EXPECT_EQ(ParseInt("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseInt("65535", 1, 65535), 65535);
}

TEST(ParseInt, AnythingElseIsNoNumberRatherThanACrash) {
  for (const char* bad : {"", " ", "x", "12x", "1 2", "0x10", "+-1", "9223372036854775808",
                          "99999999999999999999999"})
    EXPECT_FALSE(ParseInt(bad).has_value()) << bad;
  EXPECT_FALSE(ParseInt("65536", 1, 65535).has_value());
  EXPECT_FALSE(ParseInt("0", 1, 65535).has_value());
  EXPECT_FALSE(ParseInt("2147483648", 1, INT32_MAX).has_value());
}

TEST(ParseDouble, WholeTextAsAFiniteNumber) {
  EXPECT_EQ(ParseDouble("1"), 1.0);
  EXPECT_EQ(ParseDouble("0.5"), 0.5);
  EXPECT_EQ(ParseDouble(" -2.25\n"), -2.25);  // server output ends with a newline
  EXPECT_EQ(ParseDouble("1e3"), 1000.0);
  EXPECT_EQ(ParseDouble("42"), 42.0);
}

TEST(ParseDouble, AnythingElseIsNoNumberRatherThanACrash) {
  for (const char* bad : {"", " ", "x", "1.5x", "1 2", "0x10", "+-1", "--1", "inf", "-inf", "nan",
                          "infinity", "1e999", "-1e999"})
    EXPECT_FALSE(ParseDouble(bad).has_value()) << bad;
}

}  // namespace
}  // namespace dbr
