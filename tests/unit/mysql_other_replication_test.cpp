// Which of a server's other replications follows a given server: by address, as the config
// names the server and as the replication was told it (SHOW ALL SLAVES STATUS's Master_Host).
#include <gtest/gtest.h>

#include "mysql/replication.h"

namespace dbr::mysql {
namespace {

ServerConfig Server(std::string host, int port) {
  ServerConfig s;
  s.host = std::move(host);
  s.port = port;
  return s;
}

TEST(MysqlOtherReplication, FollowingFindsTheOneFromThatServer) {
  const std::vector<OtherReplication> others = {{"", "10.0.0.7", 3306},
                                                {"db_relocate_shop", "db.EXAMPLE.com", 3307}};
  const OtherReplication* found = Following(others, Server("db.example.com", 3307));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->name, "db_relocate_shop");
  EXPECT_EQ(found->Called(), "db_relocate_shop");
  found = Following(others, Server("10.0.0.7", 3306));
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->Called(), "its default connection");
}

TEST(MysqlOtherReplication, AnotherPortOrHostIsAnotherServer) {
  const std::vector<OtherReplication> others = {{"a", "10.0.0.7", 3306}};
  EXPECT_EQ(Following(others, Server("10.0.0.7", 3307)), nullptr);
  EXPECT_EQ(Following(others, Server("10.0.0.8", 3306)), nullptr);
  EXPECT_EQ(Following({}, Server("10.0.0.7", 3306)), nullptr);
}

TEST(MysqlOtherReplication, SpellingsOfLoopbackAreOneServer) {
  const std::vector<OtherReplication> others = {{"a", "127.0.0.1", 3306}};
  EXPECT_NE(Following(others, Server("localhost", 3306)), nullptr);
}

}  // namespace
}  // namespace dbr::mysql
