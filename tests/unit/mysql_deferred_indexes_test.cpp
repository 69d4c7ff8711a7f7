// Which keys of a table the MySQL copy makes after the rows, from SHOW CREATE TABLE's text as
// MariaDB 10.11 gives it.
#include <gtest/gtest.h>

#include "mysql/deferred_indexes.h"

namespace dbr::mysql {
namespace {

const char* kOrders =
    "CREATE TABLE `orders` (\n"
    "  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
    "  `ref` char(36) NOT NULL,\n"
    "  `created_at` datetime NOT NULL,\n"
    "  `note` varchar(255) DEFAULT 'KEY `x` (`y`)',\n"
    "  PRIMARY KEY (`id`),\n"
    "  UNIQUE KEY `ref` (`ref`),\n"
    "  FULLTEXT KEY `note_text` (`note`),\n"
    "  KEY `created_at` (`created_at`) COMMENT 'by day'\n"
    ") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci";

TEST(DeferSecondaryKeys, PlainAndUniqueKeysComeAfterTheRowsTheRestStays) {
  SplitTable split = DeferSecondaryKeys("orders", kOrders, false);
  EXPECT_EQ(split.create,
            "CREATE TABLE `orders` (\n"
            "  `id` bigint(20) NOT NULL AUTO_INCREMENT,\n"
            "  `ref` char(36) NOT NULL,\n"
            "  `created_at` datetime NOT NULL,\n"
            "  `note` varchar(255) DEFAULT 'KEY `x` (`y`)',\n"
            "  PRIMARY KEY (`id`),\n"
            "  FULLTEXT KEY `note_text` (`note`)\n"
            ") ENGINE=InnoDB AUTO_INCREMENT=7 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_general_ci");
  EXPECT_EQ(split.add_later,
            "ALTER TABLE `orders` ADD UNIQUE KEY `ref` (`ref`), ADD KEY `created_at` "
            "(`created_at`) COMMENT 'by day'");
}

TEST(DeferSecondaryKeys, AKeyHoldingTheAutoIncrementColumnStays) {
  const char* create =
      "CREATE TABLE `lines` (\n"
      "  `order_id` int(11) NOT NULL,\n"
      "  `n` int(11) NOT NULL AUTO_INCREMENT,\n"
      "  `qty` int(11) NOT NULL,\n"
      "  PRIMARY KEY (`order_id`,`n`),\n"
      "  KEY `n` (`n`),\n"
      "  KEY `qty` (`qty`)\n"
      ") ENGINE=InnoDB";
  SplitTable split = DeferSecondaryKeys("lines", create, false);
  EXPECT_EQ(split.create,
            "CREATE TABLE `lines` (\n"
            "  `order_id` int(11) NOT NULL,\n"
            "  `n` int(11) NOT NULL AUTO_INCREMENT,\n"
            "  `qty` int(11) NOT NULL,\n"
            "  PRIMARY KEY (`order_id`,`n`),\n"
            "  KEY `n` (`n`)\n"
            ") ENGINE=InnoDB");
  EXPECT_EQ(split.add_later, "ALTER TABLE `lines` ADD KEY `qty` (`qty`)");
}

TEST(DeferSecondaryKeys, TablesOfForeignKeysOtherEnginesOrWithoutAPrimaryKeyAreMadeWhole) {
  const char* child =
      "CREATE TABLE `child` (\n"
      "  `id` int(11) NOT NULL,\n"
      "  `parent_id` int(11) DEFAULT NULL,\n"
      "  PRIMARY KEY (`id`),\n"
      "  KEY `parent_id` (`parent_id`),\n"
      "  CONSTRAINT `child_ibfk_1` FOREIGN KEY (`parent_id`) REFERENCES `parent` (`id`)\n"
      ") ENGINE=InnoDB";
  const char* parent =
      "CREATE TABLE `parent` (\n"
      "  `id` int(11) NOT NULL,\n"
      "  `code` int(11) NOT NULL,\n"
      "  PRIMARY KEY (`id`),\n"
      "  UNIQUE KEY `code` (`code`)\n"
      ") ENGINE=InnoDB";
  const char* no_primary_key =
      "CREATE TABLE `log` (\n"
      "  `at` int(11) NOT NULL,\n"
      "  UNIQUE KEY `at` (`at`)\n"
      ") ENGINE=InnoDB";
  const char* versioned =
      "CREATE TABLE `prices` (\n"
      "  `id` int(11) NOT NULL,\n"
      "  `sku` int(11) NOT NULL,\n"
      "  PRIMARY KEY (`id`),\n"
      "  KEY `sku` (`sku`)\n"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 WITH SYSTEM VERSIONING";
  const char* aria =
      "CREATE TABLE `cache` (\n"
      "  `id` int(11) NOT NULL,\n"
      "  `sku` int(11) NOT NULL,\n"
      "  PRIMARY KEY (`id`),\n"
      "  KEY `sku` (`sku`)\n"
      ") ENGINE=Aria";
  EXPECT_EQ(DeferSecondaryKeys("prices", versioned, false).add_later, "");
  EXPECT_EQ(DeferSecondaryKeys("cache", aria, false).add_later, "");
  EXPECT_EQ(DeferSecondaryKeys("child", child, false).add_later, "");
  EXPECT_EQ(DeferSecondaryKeys("log", no_primary_key, false).add_later, "");
  EXPECT_EQ(DeferSecondaryKeys("parent", parent, false).add_later,
            "ALTER TABLE `parent` ADD UNIQUE KEY `code` (`code`)");

  // Over a schema: the referenced table keeps its keys, others lose theirs.
  SchemaDefinitions schema;
  schema.tables = {{"TABLE", "child", child, ""},
                   {"TABLE", "parent", parent, ""},
                   {"TABLE", "orders", kOrders, ""}};
  DeferSecondaryKeys(schema);
  EXPECT_EQ(schema.tables[0].sql, child);
  EXPECT_EQ(schema.tables[0].after_rows, "");
  EXPECT_EQ(schema.tables[1].sql, parent);
  EXPECT_EQ(schema.tables[1].after_rows, "");
  EXPECT_NE(schema.tables[2].after_rows, "");
  EXPECT_EQ(schema.tables[2].sql.find("UNIQUE KEY"), std::string::npos);
}

TEST(DeferSecondaryKeys, ThePartitioningLinesAfterTheColumnsStay) {
  const char* create =
      "CREATE TABLE `events` (\n"
      "  `id` bigint(20) NOT NULL,\n"
      "  `ts` datetime NOT NULL,\n"
      "  PRIMARY KEY (`id`,`ts`),\n"
      "  KEY `ts` (`ts`)\n"
      ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4\n"
      " PARTITION BY RANGE (year(`ts`))\n"
      "(PARTITION `p2025` VALUES LESS THAN (2026) ENGINE = InnoDB,\n"
      " PARTITION `pmax` VALUES LESS THAN MAXVALUE ENGINE = InnoDB)";
  SplitTable split = DeferSecondaryKeys("events", create, false);
  EXPECT_EQ(split.create,
            "CREATE TABLE `events` (\n"
            "  `id` bigint(20) NOT NULL,\n"
            "  `ts` datetime NOT NULL,\n"
            "  PRIMARY KEY (`id`,`ts`)\n"
            ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4\n"
            " PARTITION BY RANGE (year(`ts`))\n"
            "(PARTITION `p2025` VALUES LESS THAN (2026) ENGINE = InnoDB,\n"
            " PARTITION `pmax` VALUES LESS THAN MAXVALUE ENGINE = InnoDB)");
  EXPECT_EQ(split.add_later, "ALTER TABLE `events` ADD KEY `ts` (`ts`)");
}

TEST(DeferSecondaryKeys, TextOfAnotherShapeIsMadeAsItIs) {
  for (const char* create : {"CREATE TABLE `t` (`id` int PRIMARY KEY, KEY `k` (`id`))", "",
                             "CREATE TABLE `t` (\n  `id` int(11) NOT NULL,\n  KEY `k` (`id`)"}) {
    SplitTable split = DeferSecondaryKeys("t", create, false);
    EXPECT_EQ(split.create, create);
    EXPECT_EQ(split.add_later, "");
  }
}

}  // namespace
}  // namespace dbr::mysql
