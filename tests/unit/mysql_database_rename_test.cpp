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

}  // namespace
}  // namespace dbr::mysql
