// The names one MySQL relocation gives what it makes on the servers (mysql/servers.h's
// RelocationNames): readable for a plain database, apart for every two relocations that can share a
// server.
#include <gtest/gtest.h>

#include <set>

#include "mysql/identity.h"
#include "mysql/servers.h"

namespace dbr::mysql {
namespace {

RelocationNames Of(const std::string& src, const std::string& dst) {
  Config config;
  config.src.name = src;
  config.dst.name = dst;
  return NamesOf(config);
}

TEST(MysqlNames, APlainDatabaseNamesItsOwnDatabaseAndReplication) {
  EXPECT_EQ(Of("shop", "shop").database, "db_relocate_shop");
  EXPECT_EQ(Of("shop", "shop").channel, "db_relocate_shop");
}

TEST(MysqlNames, RelocationsThatCanShareAServerGetNamesApart) {
  // Two databases of one source; one database of two sources into two databases of one
  // destination; names that read alike once folded or joined.
  const std::pair<std::string, std::string> relocations[] = {
      {"shop", "shop"},     {"stock", "stock"},
      {"shop", "shop_new"}, {"shop", "shop_old"},
      {"Shop", "Shop"},     {"a_b", "c"},
      {"a", "b_c"},         {"a-b", "a-b"},
      {"a_b", "a_b"},       {"shop_new", "shop_new"}};
  std::set<std::string> seen;
  for (const auto& [src, dst] : relocations) {
    const RelocationNames names = Of(src, dst);
    EXPECT_TRUE(seen.insert(names.database).second)
        << src << " -> " << dst << ": " << names.database;
    EXPECT_LE(names.database.size(), 64u) << names.database;  // MySQL's longest database name
  }
}

TEST(MysqlNames, LongAndUnusualNamesStayWithinMysqlLimits) {
  const std::string longest(64, 'x');
  for (const RelocationNames& names :
       {Of(longest, longest), Of(longest, longest + "y"), Of("ü ß", "ü ß")}) {
    EXPECT_LE(names.database.size(), 64u) << names.database;
    EXPECT_EQ(names.database.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"),
              std::string::npos)
        << names.database;
  }
}

TEST(MysqlNames, ADatabaseNamedIdentityDoesNotTakeTheServersMarker) {
  EXPECT_NE(Of("identity", "identity").database, kIdentityDatabase);
  EXPECT_EQ(Of("identity", "identity").database.rfind("db_relocate_identity_", 0), 0u);
}

}  // namespace
}  // namespace dbr::mysql
