// pgbouncer.ini rewriting: the one change a cut-over makes to any PgBouncer config.
#include "proxy/pgbouncer_ini.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

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
  auto out = PointDatabaseAt(ini, "shop", {Side::kDestination, "10.0.0.2", 5433, "shop2"});
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
                             {Side::kSource, "db host", 5432, "it's"});
  ASSERT_TRUE(out.ok()) << out.message();
  EXPECT_EQ(*out, "[databases]\n\"shop\" = dbname='it''s' host='db host' port=5432\n");
}

TEST(PgBouncerIni, MissingEntryOrBrokenLineIsAnError) {
  auto none =
      PointDatabaseAt("[databases]\nother = host=x\n", "shop", {Side::kSource, "h", 1, "d"});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.message().find("no entry for database \"shop\""), std::string::npos);
  auto broken =
      PointDatabaseAt("[databases]\nshop = host='x\n", "shop", {Side::kSource, "h", 1, "d"});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.message().find("unterminated quote"), std::string::npos);
}

TEST(PgBouncerIni, UserlistDoublesQuotes) {
  EXPECT_EQ(RenderUserlist({{"app", "SCRAM-SHA-256$4096:abc"}, {"we\"ird", "md5x"}}),
            "\"app\" \"SCRAM-SHA-256$4096:abc\"\n\"we\"\"ird\" \"md5x\"\n");
}

TEST(PgBouncerIni, UserlistUsersReadsWhatRenderWrites) {
  const std::string text = RenderUserlist({{"app", "s1"}, {"we\"ird", "s2"}, {"", "s3"}}) +
                           ";comment\n  \"admin\" \"pw\"\r\nunquoted pw\n\"open only\n";
  EXPECT_EQ(UserlistUsers(text), (std::vector<std::string>{"app", "we\"ird", "", "admin"}));
}

}  // namespace
}  // namespace dbr

namespace dbr {
namespace {

TEST(PgBouncerIni, ManagedConfigRetriesAFailedServerLoginAfterOneSecond) {
  // PgBouncer's default (15 s) refuses every client that long once a login to a restarting
  // server failed: bench/soak.sh measured a 15 s write outage after a 0.3 s restart.
  CutoverConfig cutover;
  cutover.listen = "127.0.0.1:6432";
  cutover.database = "app";
  auto ini = RenderPgBouncerIni(cutover, Backend{Side::kSource, "127.0.0.1", 5432, "app"},
                                {"pgb.log", "pgb.pid"});
  ASSERT_TRUE(ini.ok()) << ini.message();
  EXPECT_NE(ini->find("\nserver_login_retry = 1\n"), std::string::npos) << *ini;
  auto entry = DatabaseEntry(*ini, "app");
  ASSERT_TRUE(entry.ok()) << entry.message();
  EXPECT_EQ(entry->port, 5432);
}

// PgBouncer's listen_addr takes an IPv6 address without the brackets of host:port.
TEST(PgBouncerIni, ManagedConfigListensOnTheHostAndPortOfCutoverListen) {
  CutoverConfig cutover;
  cutover.database = "app";
  const Backend source{Side::kSource, "127.0.0.1", 5432, "app"};
  cutover.listen = "[::1]:7432";
  auto ini = RenderPgBouncerIni(cutover, source, {"pgb.log", "pgb.pid"});
  ASSERT_TRUE(ini.ok()) << ini.message();
  EXPECT_NE(ini->find("\nlisten_addr = ::1\nlisten_port = 7432\n"), std::string::npos) << *ini;
  cutover.listen = "7432";
  auto bad = RenderPgBouncerIni(cutover, source, {"pgb.log", "pgb.pid"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("cutover.listen"), std::string::npos) << bad.message();
}

}  // namespace
}  // namespace dbr
