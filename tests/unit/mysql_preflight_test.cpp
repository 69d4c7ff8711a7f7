// engine mysql's rules that need no server (issue #25): the version string MySQL and MariaDB
// report, the version and retention judgements for pairs this machine cannot run (only MariaDB
// 10.11 is packaged here), identifier quoting, and the config's engine rules.
#include <gtest/gtest.h>

#include "config/config.h"
#include "mariadb/quote.h"
#include "mariadb/server_version.h"
#include "mysql/preflight.h"

namespace dbr {
namespace {

using mariadb::Flavor;
using mariadb::ParseServerVersion;
using mariadb::ServerVersion;

ServerVersion V(const char* text) {
  auto v = ParseServerVersion(text);
  EXPECT_TRUE(v.ok()) << text << ": " << v.message();
  return v.ok() ? *v : ServerVersion{};
}

TEST(MysqlServerVersion, ReadsBothFlavours) {
  const ServerVersion maria = V("10.11.19-MariaDB-0+deb12u1-log");
  EXPECT_EQ(maria.flavor, Flavor::kMariaDb);
  EXPECT_EQ(maria.Display(), "MariaDB 10.11.19");
  const ServerVersion old_client = V("5.5.5-10.6.18-MariaDB");  // what old clients were told
  EXPECT_EQ(old_client.Display(), "MariaDB 10.6.18");
  EXPECT_EQ(V("8.0.36").Display(), "MySQL 8.0.36");
  EXPECT_EQ(V("8.4.3-log").Display(), "MySQL 8.4.3");
  EXPECT_EQ(V("8.0.36-0ubuntu0.22.04.1").flavor, Flavor::kMySql);
  EXPECT_FALSE(ParseServerVersion("").ok());
  EXPECT_FALSE(ParseServerVersion("eight").ok());
  EXPECT_FALSE(ParseServerVersion("8.0").ok());
}

TEST(MysqlPreflightRules, VersionsGoFromOlderToNewerWithinOneFlavour) {
  using mysql::CompareVersions;
  EXPECT_EQ(CompareVersions(V("10.11.19-MariaDB"), V("10.11.19-MariaDB")).level, CheckLevel::kPass);
  EXPECT_EQ(CompareVersions(V("10.11.5-MariaDB"), V("10.11.19-MariaDB")).level, CheckLevel::kPass);
  EXPECT_EQ(CompareVersions(V("8.0.36"), V("8.0.40")).level, CheckLevel::kPass);

  const CheckResult older = CompareVersions(V("8.4.3"), V("8.0.36"));
  EXPECT_EQ(older.level, CheckLevel::kFail);
  EXPECT_NE(older.detail.find("the destination is older than the source"), std::string::npos)
      << older.detail;
  EXPECT_EQ(CompareVersions(V("11.4.2-MariaDB"), V("10.11.19-MariaDB")).level, CheckLevel::kFail);

  // An upgrade: the way back replicates newer to older, which neither flavour promises.
  const CheckResult upgrade = CompareVersions(V("10.6.18-MariaDB"), V("11.4.2-MariaDB"));
  EXPECT_EQ(upgrade.level, CheckLevel::kWarn);
  EXPECT_NE(upgrade.detail.find("rollback"), std::string::npos) << upgrade.detail;
  EXPECT_EQ(CompareVersions(V("8.0.36"), V("8.4.3")).level, CheckLevel::kWarn);

  const CheckResult across = CompareVersions(V("8.0.36"), V("10.11.19-MariaDB"));
  EXPECT_EQ(across.level, CheckLevel::kFail);
  EXPECT_NE(across.detail.find("between MySQL and MariaDB"), std::string::npos) << across.detail;

  const CheckResult too_old = CompareVersions(V("5.7.44"), V("8.0.36"));
  EXPECT_EQ(too_old.level, CheckLevel::kFail);
  EXPECT_EQ(too_old.objects, std::vector<std::string>{"source MySQL 5.7.44"});
  EXPECT_EQ(CompareVersions(V("10.4.34-MariaDB"), V("10.11.19-MariaDB")).level, CheckLevel::kFail);
}

TEST(MysqlPreflightRules, RetentionCoversTheCopyAndAnHour) {
  using mysql::CompareRetention;
  constexpr int64_t kGiB = 1024LL * 1024 * 1024;
  EXPECT_EQ(CompareRetention(0, 500 * kGiB).level, CheckLevel::kPass);  // never purged
  EXPECT_EQ(CompareRetention(7 * 86400, 10 * kGiB).level, CheckLevel::kPass);
  EXPECT_EQ(CompareRetention(60, 1024).level, CheckLevel::kFail);
  EXPECT_EQ(CompareRetention(3600, 0).level, CheckLevel::kPass);
  // 1 TiB at 20 MiB/s is ~14.6 h of copy: a day of binary logs is not enough.
  const CheckResult day = CompareRetention(86400, 1024 * kGiB);
  EXPECT_EQ(day.level, CheckLevel::kFail);
  EXPECT_NE(day.hint.find("binlog_expire_logs_seconds"), std::string::npos);
}

TEST(MysqlQuote, BackQuotesEveryIdentifier) {
  EXPECT_EQ(mariadb::QuoteIdent("orders"), "`orders`");
  EXPECT_EQ(mariadb::QuoteIdent("we`ird name"), "`we``ird name`");
  EXPECT_EQ(mariadb::QualifiedName("shop", "order"), "`shop`.`order`");
}

TEST(MysqlConfig, EngineMysqlTakesMysqlsPortAndRefusesPostgresOnlyKeys) {
  auto c =
      ParseConfig("engine: mysql\nsrc: {host: a, name: shop}\ndst: {host: b}\n", "/etc/dbr/c.yaml");
  ASSERT_TRUE(c.ok()) << c.message();
  EXPECT_EQ(c->engine, EngineKind::kMysql);
  EXPECT_EQ(c->provider, Provider::kPostgres);  // self_managed (postgres's other name)
  EXPECT_EQ(c->src.port, 3306);
  EXPECT_EQ(c->dst.port, 3306);
  EXPECT_EQ(c->dst.name, "shop");

  auto ports = ParseConfig(
      "engine: mysql\nprovider: postgres\nsrc: {host: a, name: shop, port: 3307}\ndst: {host: "
      "b}\n",
      "/etc/dbr/c.yaml");
  ASSERT_TRUE(ports.ok()) << ports.message();
  EXPECT_EQ(ports->dst.port, 3307);

  auto self_managed = ParseConfig("provider: self_managed\ndst: {host: b}\n", "/etc/dbr/c.yaml");
  ASSERT_TRUE(self_managed.ok()) << self_managed.message();
  EXPECT_EQ(self_managed->provider, Provider::kPostgres);
  auto pg = ParseConfig("provider: postgres\ndst: {host: b}\n", "/etc/dbr/c.yaml");
  ASSERT_TRUE(pg.ok()) << pg.message();
  EXPECT_EQ(pg->engine, EngineKind::kPostgres);
  EXPECT_EQ(pg->src.port, 5432);

  auto schema = ParseConfig(
      "engine: mysql\nprovider: self_managed\nsrc: {host: a, name: shop, schema: app}\ndst: "
      "{host: b}\nddl: replicate\n",
      "/etc/dbr/c.yaml");
  ASSERT_FALSE(schema.ok());
  EXPECT_NE(schema.message().find("src.schema"), std::string::npos) << schema.message();
  EXPECT_NE(schema.message().find("ddl"), std::string::npos) << schema.message();

  auto renamed =
      ParseConfig("engine: mysql\nsrc: {host: a, name: shop}\ndst: {host: b, name: shop2}\n",
                  "/etc/dbr/c.yaml");
  ASSERT_TRUE(renamed.ok()) << renamed.message();
  EXPECT_EQ(renamed->dst.name, "shop2");
  // MariaDB's replicate_rewrite_db value is "from->to[,from->to]".
  auto unrenameable =
      ParseConfig("engine: mysql\nsrc: {host: a, name: 'a,b'}\ndst: {host: b, name: shop2}\n",
                  "/etc/dbr/c.yaml");
  ASSERT_FALSE(unrenameable.ok());
  EXPECT_NE(unrenameable.message().find("dst.name: cannot differ from src.name"), std::string::npos)
      << unrenameable.message();

  auto no_destination = ParseConfig("engine: mysql\nsrc: {name: shop}\n", "/etc/dbr/c.yaml");
  ASSERT_FALSE(no_destination.ok());
  EXPECT_NE(no_destination.message().find("dst.host"), std::string::npos)
      << no_destination.message();

  auto engine = ParseConfig("engine: oracle\n", "/etc/dbr/c.yaml");
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.message().find("engine"), std::string::npos) << engine.message();
}

}  // namespace
}  // namespace dbr
