#include <gtest/gtest.h>

#include "mysql/database_rename.h"

namespace dbr::mysql {
namespace {

TEST(DatabaseRename, QualifiersOfTablesAndColumnsInAView) {
  // SHOW CREATE VIEW on MariaDB 10.11 (and VIEWS.VIEW_DEFINITION): every name qualified.
  EXPECT_EQ(RenameDatabaseIn("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY "
                             "DEFINER VIEW `big_orders` AS select `shop`.`orders`.`id` AS `id` "
                             "from `shop`.`orders` where `shop`.`orders`.`total` > 100",
                             "shop", "shop_new"),
            "CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`localhost` SQL SECURITY DEFINER VIEW "
            "`big_orders` AS select `shop_new`.`orders`.`id` AS `id` from `shop_new`.`orders` "
            "where `shop_new`.`orders`.`total` > 100");
}

TEST(DatabaseRename, UnquotedQualifiersInARoutineBody) {
  EXPECT_EQ(RenameDatabaseIn("BEGIN UPDATE shop.items SET n = n + 1; SELECT shop . items.n; END",
                             "shop", "new"),
            "BEGIN UPDATE `new`.items SET n = n + 1; SELECT `new` . items.n; END");
}

TEST(DatabaseRename, GrantsOnTheDatabaseAndOnItsTables) {
  EXPECT_EQ(RenameDatabaseIn("GRANT SELECT, INSERT ON `shop`.* TO `app`@`%`", "shop", "b"),
            "GRANT SELECT, INSERT ON `b`.* TO `app`@`%`");
  EXPECT_EQ(RenameDatabaseIn("GRANT UPDATE (`n`) ON `shop`.`items` TO `shop`@`%`", "shop", "b"),
            "GRANT UPDATE (`n`) ON `b`.`items` TO `shop`@`%`");
}

TEST(DatabaseRename, LeavesStringsCommentsAndOtherDatabasesAlone) {
  const std::string sql =
      "SELECT 'shop.items', \"shop.x\", 'it''s shop.a', 'a\\'shop.b' /* shop.c */ FROM "
      "other.items -- shop.d\n# shop.e\nWHERE x = shopping.y";
  EXPECT_EQ(RenameDatabaseIn(sql, "shop", "b"), sql);
}

TEST(DatabaseRename, ANameAfterADotIsATableOrColumnNotTheDatabase) {
  // `shop` here is a table of `other`, then a column of `t`.
  EXPECT_EQ(RenameDatabaseIn("SELECT other.shop.n, t.shop FROM t", "shop", "b"),
            "SELECT other.shop.n, t.shop FROM t");
}

TEST(DatabaseRename, ExactNameOnlyAndQuotesInsideNames) {
  EXPECT_EQ(RenameDatabaseIn("SELECT * FROM Shop.t, `sh``op`.t", "shop", "b"),
            "SELECT * FROM Shop.t, `sh``op`.t");
  EXPECT_EQ(RenameDatabaseIn("SELECT * FROM `sh``op`.t", "sh`op", "new db"),
            "SELECT * FROM `new db`.t");
}

TEST(DatabaseRename, VersionCommentsHoldSqlAndAreRenamed) {
  EXPECT_EQ(RenameDatabaseIn("/*!50001 SELECT shop.t.a */", "shop", "b"),
            "/*!50001 SELECT `b`.t.a */");
}

// A body defined under ANSI_QUOTES names the database in double quotes; one defined under
// NO_BACKSLASH_ESCAPES ends a string at the first quote after a backslash.
TEST(DatabaseRename, EachTextIsReadByItsOwnSqlMode) {
  const SqlQuoting ansi = SqlQuoting::OfSqlMode("PIPES_AS_CONCAT,ANSI_QUOTES,IGNORE_SPACE");
  EXPECT_TRUE(ansi.ansi_quotes);
  EXPECT_EQ(RenameDatabaseIn("INSERT INTO \"shop\".\"audit\" VALUES ('shop.x')", "shop", "b", ansi),
            "INSERT INTO `b`.\"audit\" VALUES ('shop.x')");
  // Without ANSI_QUOTES the same text holds a string, left alone.
  EXPECT_EQ(RenameDatabaseIn("SELECT \"shop\".x", "shop", "b"), "SELECT \"shop\".x");
  EXPECT_TRUE(SqlQuoting::OfSqlMode("ANSI").ansi_quotes);

  const SqlQuoting raw = SqlQuoting::OfSqlMode("STRICT_TRANS_TABLES,NO_BACKSLASH_ESCAPES");
  EXPECT_FALSE(raw.backslash_escapes);
  EXPECT_EQ(RenameDatabaseIn("SELECT 'C:\\' FROM shop.t WHERE 'x' = 'shop.y'", "shop", "b", raw),
            "SELECT 'C:\\' FROM `b`.t WHERE 'x' = 'shop.y'");
  EXPECT_TRUE(SqlQuoting::OfSqlMode("").backslash_escapes);
}

// A GRANT names a database as a pattern where it has _ or %: `shop\_db`.* is shop_db's.
TEST(DatabaseRename, PatternsEscapeWildcards) {
  EXPECT_EQ(LikePattern("shop_db%1\\"), "shop\\_db\\%1\\\\");
  EXPECT_EQ(RenameDatabaseIn("GRANT SELECT ON `shop\\_db`.* TO `app`@`%`", LikePattern("shop_db"),
                             LikePattern("shop_new")),
            "GRANT SELECT ON `shop\\_new`.* TO `app`@`%`");
}

}  // namespace
}  // namespace dbr::mysql
