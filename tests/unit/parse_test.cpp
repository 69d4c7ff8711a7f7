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

TEST(Parse, Iso8601) {
  auto t = std::chrono::system_clock::from_time_t(1440938160);  // 2015-08-30T12:36:00Z
  EXPECT_EQ(*ParseIso8601("2015-08-30T12:36:00Z"), t);
  EXPECT_EQ(*ParseIso8601("2015-08-30T12:36:00.000Z"), t);
  EXPECT_EQ(*ParseIso8601("2015-08-30T14:36:00+02:00"), t);
  EXPECT_FALSE(ParseIso8601("yesterday").ok());
  EXPECT_FALSE(ParseIso8601("2015-08-30T12:36:00 PST").ok());
}

// Found by tests/fuzz/fuzz_aws_xml: a year that system_clock's nanoseconds cannot hold overflowed
// a signed 64-bit integer (undefined behaviour) instead of giving an error.
TEST(Parse, Iso8601OutOfRangeIsAnError) {
  for (const char* bad : {"1013-12-02T05:36:00.123Z", "9999-12-31T23:59:59Z",
                          "2015-13-30T12:36:00Z", "2015-08-30T25:36:00Z", "-015-08-30T12:36:00Z"})
    EXPECT_FALSE(ParseIso8601(bad).ok()) << bad;
  EXPECT_TRUE(ParseIso8601("2200-01-01T00:00:00Z").ok());
}

}  // namespace
}  // namespace dbr
