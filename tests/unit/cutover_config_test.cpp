// The `cutover` block: defaults that follow the rest of the config, and errors naming the field.
#include <gtest/gtest.h>

#include "config/config.h"
#include "proxy/pgbouncer_ini.h"

namespace dbr {
namespace {

constexpr const char* kOrigin = "/etc/dbr/config.yaml";

Config MustParse(const std::string& yaml) {
  auto r = ParseConfig(yaml, kOrigin);
  EXPECT_TRUE(r.ok()) << r.message();
  return r.ok() ? r.value() : Config{};
}

std::string ParseError(const std::string& yaml) {
  auto r = ParseConfig(yaml, kOrigin);
  EXPECT_FALSE(r.ok()) << "expected an error for:\n" << yaml;
  return r.ok() ? std::string() : r.message();
}

TEST(CutoverConfig, AbsentBlockIsNotConfigured) {
  EXPECT_FALSE(MustParse("provider: rds\n").cutover.configured);
}

TEST(CutoverConfig, PgBouncerDefaultsFollowTheSourceAndStateDir) {
  Config c = MustParse(
      "src:\n  name: shop\n  user: admin\n  password: pw\n"
      "cutover:\n  type: pgbouncer\n  manage: true\n");
  const CutoverConfig& co = c.cutover;
  EXPECT_TRUE(co.configured);
  EXPECT_TRUE(co.manage);
  EXPECT_EQ(co.listen, "127.0.0.1:6432");
  EXPECT_EQ(co.admin, "127.0.0.1:6432");  // PgBouncer's console is on its listen address
  EXPECT_EQ(co.admin_user, "admin");
  EXPECT_EQ(co.admin_password, "pw");
  EXPECT_EQ(co.database, "shop");
  EXPECT_EQ(co.config_file, "/etc/dbr/db_relocate.state/proxy/pgbouncer.ini");
  EXPECT_EQ(co.auth_file, "/etc/dbr/db_relocate.state/proxy/userlist.txt");
  EXPECT_TRUE(co.generate_auth_file);
  EXPECT_EQ(co.pool_mode, "transaction");
  EXPECT_EQ(co.fence, "read_only");
  EXPECT_DOUBLE_EQ(co.pause_timeout, 5);
  EXPECT_DOUBLE_EQ(co.drain_timeout, 10);
  EXPECT_EQ(co.max_lag_bytes, 1024 * 1024);
}

TEST(CutoverConfig, HAProxyDefaultsToASocketInTheStateDir) {
  Config c = MustParse("cutover:\n  type: haproxy\n  listen: 0.0.0.0:5432\n  backend: pg\n");
  EXPECT_EQ(c.cutover.admin, "/etc/dbr/db_relocate.state/proxy/haproxy.sock");
  EXPECT_EQ(c.cutover.config_file, "/etc/dbr/db_relocate.state/proxy/haproxy.cfg");
  EXPECT_EQ(c.cutover.backend, "pg");
}

TEST(CutoverConfig, RelativePathsAreRelativeToTheConfigFile) {
  Config c = MustParse(
      "cutover:\n  type: pgbouncer\n  config_file: proxy/pgb.ini\n  auth_file: users.txt\n");
  EXPECT_EQ(c.cutover.config_file, "/etc/dbr/proxy/pgb.ini");
  EXPECT_EQ(c.cutover.auth_file, "/etc/dbr/users.txt");
  EXPECT_FALSE(c.cutover.generate_auth_file);
}

TEST(CutoverConfig, BadValuesNameTheField) {
  EXPECT_NE(ParseError("cutover:\n  manage: true\n").find("cutover.type: missing"),
            std::string::npos);
  EXPECT_NE(
      ParseError("cutover:\n  type: nginx\n").find("cutover.type: expected pgbouncer or haproxy"),
      std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  listen: 6432\n").find("cutover.listen"),
            std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  listen: h:70000\n").find("cutover.listen"),
            std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  fence: lock\n").find("cutover.fence"),
            std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  pause_timeout: 0\n")
                .find("cutover.pause_timeout: must be greater than 0"),
            std::string::npos);
  EXPECT_NE(
      ParseError("cutover:\n  type: pgbouncer\n  pool_mode: none\n").find("cutover.pool_mode"),
      std::string::npos);
  EXPECT_NE(
      ParseError("cutover:\n  type: pgbouncer\n  fence_roles: app\n").find("cutover.fence_roles"),
      std::string::npos);
  EXPECT_NE(ParseError("cutover: pgbouncer\n").find("cutover: expected a map"), std::string::npos);
  EXPECT_NE(ParseError("cutover:\n  type: pgbouncer\n  lisen: x:1\n")
                .find("did you mean \"cutover.listen\""),
            std::string::npos);
}

TEST(CutoverConfig, AdminPasswordIsNeverEchoed) {
  std::string err = ParseError("cutover:\n  type: pgbouncer\n  admin_password: [hunter2]\n");
  EXPECT_NE(err.find("cutover.admin_password"), std::string::npos) << err;
  EXPECT_EQ(err.find("hunter2"), std::string::npos) << err;
}

// ---- pgbouncer.ini rewriting ----------------------------------------------------------------

TEST(PgBouncerIni, PointsOnlyTheNamedEntryAndKeepsEverythingElse) {
  const std::string ini =
      "; the application's pooler\n"
      "[databases]\n"
      "other = host=10.0.0.9 port=5432 dbname=other\n"
      "shop = host=10.0.0.1 port=5432 dbname=shop pool_size=40 application_name='my app'\n"
      "\n"
      "[pgbouncer]\n"
      "listen_port = 6432\n"
      "shop = not a database line\n";
  auto out = PointDatabaseAt(ini, "shop", {"dst", "10.0.0.2", 5433, "shop2"});
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out,
            "; the application's pooler\n"
            "[databases]\n"
            "other = host=10.0.0.9 port=5432 dbname=other\n"
            "shop = host=10.0.0.2 port=5433 dbname=shop2 pool_size=40 application_name='my app'\n"
            "\n"
            "[pgbouncer]\n"
            "listen_port = 6432\n"
            "shop = not a database line\n");
  auto entry = DatabaseEntry(*out, "shop");
  ASSERT_TRUE(entry.ok());
  EXPECT_EQ(entry->host, "10.0.0.2");
  EXPECT_EQ(entry->port, 5433);
  EXPECT_EQ(entry->dbname, "shop2");
}

TEST(PgBouncerIni, AddsMissingKeysAndQuotesValues) {
  auto out = PointDatabaseAt("[databases]\n\"shop\" = dbname=shop\n", "shop",
                             {"src", "db host", 5432, "it's"});
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out, "[databases]\n\"shop\" = dbname='it''s' host='db host' port=5432\n");
}

TEST(PgBouncerIni, MissingEntryOrBrokenLineIsAnError) {
  auto none = PointDatabaseAt("[databases]\nother = host=x\n", "shop", {"src", "h", 1, "d"});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.message().find("no entry for database \"shop\""), std::string::npos);
  auto broken = PointDatabaseAt("[databases]\nshop = host='x\n", "shop", {"src", "h", 1, "d"});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.message().find("unterminated quote"), std::string::npos);
}

TEST(PgBouncerIni, UserlistDoublesQuotes) {
  EXPECT_EQ(RenderUserlist({{"app", "SCRAM-SHA-256$4096:abc"}, {"we\"ird", "md5x"}}),
            "\"app\" \"SCRAM-SHA-256$4096:abc\"\n\"we\"\"ird\" \"md5x\"\n");
}

}  // namespace
}  // namespace dbr
