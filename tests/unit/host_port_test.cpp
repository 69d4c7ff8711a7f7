#include "util/host_port.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

TEST(ParseHostPort, ReadsAHostAndAPort) {
  auto v4 = ParseHostPort("127.0.0.1:6432");
  ASSERT_TRUE(v4.ok()) << v4.message();
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 6432);
  auto name = ParseHostPort("proxy.internal:1");
  ASSERT_TRUE(name.ok()) << name.message();
  EXPECT_EQ(name->host, "proxy.internal");
  EXPECT_EQ(name->port, 1);
}

TEST(ParseHostPort, AnIPv6AddressGoesInBrackets) {
  auto v6 = ParseHostPort("[::1]:7000");
  ASSERT_TRUE(v6.ok()) << v6.message();
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 7000);
  auto bare = ParseHostPort("::1:7000");
  ASSERT_FALSE(bare.ok());
  EXPECT_NE(bare.message().find("brackets"), std::string::npos) << bare.message();
}

TEST(ParseHostPort, AnythingElseIsAnErrorQuotingTheValue) {
  for (const std::string bad : {"6432", "host:", ":6432", "h:70000", "h:0", "h:12a", "h:-1", "h: 1",
                                "[::1:7000", "::1]:7000", "[]:7000", ""}) {
    auto parsed = ParseHostPort(bad);
    EXPECT_FALSE(parsed.ok()) << bad;
    EXPECT_NE(parsed.message().find("\"" + bad + "\" is not host:port"), std::string::npos)
        << parsed.message();
  }
}

}  // namespace
}  // namespace dbr
