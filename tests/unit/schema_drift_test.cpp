#include "engine/schema_drift.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

ColumnShape Col(const std::string& schema, const std::string& rel, const std::string& column,
                const std::string& type, bool required = false) {
  return {schema + "." + rel, schema, rel, column, type, required};
}

TEST(SchemaDrift, SameColumnsAreNoDrift) {
  LinkCatalog c;
  c.sender = {Col("public", "t", "id", "bigint"), Col("public", "t", "note", "text")};
  c.receiver = {Col("public", "t", "id", "bigint", true), Col("public", "t", "note", "text")};
  EXPECT_TRUE(CompareLinkCatalog(c, names::Links("app", "app").forward.front()).empty());
}

TEST(SchemaDrift, ColumnOnlyOnTheSenderStallsApplyAndGetsItsAddColumn) {
  LinkCatalog c;
  c.sender = {Col("Sales Ops", "Order \"Lines\"", "id", "integer"),
              Col("Sales Ops", "Order \"Lines\"", "Gift Note", "character varying(40)")};
  c.receiver = {Col("Sales Ops", "Order \"Lines\"", "id", "integer", true)};
  auto drift = CompareLinkCatalog(c, names::Links("app", "app").forward.front());
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_TRUE(drift[0].stalls_apply);
  EXPECT_TRUE(drift[0].Blocking());
  EXPECT_EQ(drift[0].table, "Sales Ops.Order \"Lines\"");
  EXPECT_EQ(drift[0].problem,
            "column Gift Note (character varying(40)) exists on the source but not on the "
            "destination");
  EXPECT_EQ(drift[0].fix,
            "on the destination: ALTER TABLE \"Sales Ops\".\"Order \"\"Lines\"\"\" ADD COLUMN "
            "\"Gift Note\" character varying(40)");
}

TEST(SchemaDrift, ReverseLinkNamesTheSidesTheOtherWayRound) {
  LinkCatalog c;
  c.sender = {Col("public", "t", "id", "bigint"), Col("public", "t", "extra", "text")};
  c.receiver = {Col("public", "t", "id", "bigint")};
  auto drift = CompareLinkCatalog(c, names::Links("app", "app").reverse);
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_NE(drift[0].problem.find("exists on the destination but not on the source"),
            std::string::npos)
      << drift[0].problem;
  EXPECT_EQ(drift[0].fix.rfind("on the source: ALTER TABLE", 0), 0u) << drift[0].fix;
}

TEST(SchemaDrift, TypeDifferenceIsNamedButDoesNotBlock) {
  LinkCatalog c;
  c.sender = {Col("public", "t", "id", "bigint"), Col("public", "t", "qty", "bigint")};
  c.receiver = {Col("public", "t", "id", "bigint"), Col("public", "t", "qty", "integer")};
  auto drift = CompareLinkCatalog(c, names::Links("app", "app").forward.front());
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_FALSE(drift[0].Blocking());
  EXPECT_EQ(drift[0].fix,
            "on the destination: ALTER TABLE \"public\".\"t\" ALTER COLUMN \"qty\" "
            "TYPE bigint");
  EXPECT_TRUE(NoBlockingDrift(drift, "lead").ok());
}

TEST(SchemaDrift, RequiredColumnOnlyOnTheReceiverStallsInserts) {
  LinkCatalog c;
  c.sender = {Col("public", "t", "id", "bigint")};
  c.receiver = {Col("public", "t", "id", "bigint", true), Col("public", "t", "must", "text", true),
                Col("public", "t", "optional", "text")};
  auto drift = CompareLinkCatalog(c, names::Links("app", "app").forward.front());
  ASSERT_EQ(drift.size(), 1u);  // the nullable extra column is harmless
  EXPECT_TRUE(drift[0].stalls_apply);
  EXPECT_NE(drift[0].fix.find("ALTER COLUMN \"must\" DROP NOT NULL"), std::string::npos);
}

TEST(SchemaDrift, MissingTableAndUnpublishedTableBlock) {
  LinkCatalog c;
  c.sender = {Col("public", "gone", "id", "bigint")};
  c.unpublished = {{"public", "new table"}};
  c.replication_user = "db_relocate_repl";
  auto drift = CompareLinkCatalog(c, names::Links("app", "app").forward.front());
  ASSERT_EQ(drift.size(), 2u);
  EXPECT_EQ(drift[0].table, "public.gone");
  EXPECT_TRUE(drift[0].stalls_apply);
  EXPECT_EQ(drift[1].table, "public.new table");
  EXPECT_TRUE(drift[1].not_replicated);
  EXPECT_FALSE(drift[1].stalls_apply);
  EXPECT_NE(drift[1].fix.find("GRANT SELECT ON \"public\".\"new table\" TO \"db_relocate_repl\""),
            std::string::npos)
      << drift[1].fix;
  EXPECT_NE(drift[1].fix.find("ALTER PUBLICATION \"db_relocate_pub\" ADD TABLE "
                              "\"public\".\"new table\""),
            std::string::npos)
      << drift[1].fix;
  EXPECT_NE(drift[1].fix.find("ALTER SUBSCRIPTION \"db_relocate_sub\" REFRESH PUBLICATION"),
            std::string::npos);
  Status st = NoBlockingDrift(drift, "cannot go on:");
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("cannot go on:\n  table public.gone: "), std::string::npos)
      << st.message();
  EXPECT_NE(st.message().find("\n  table public.new table: "), std::string::npos);
}

TEST(SchemaDrift, DottedNamesDoNotCollide) {
  // Schema "a.b" table "c" and schema "a" table "b.c" both print as a.b.c but are two tables.
  LinkCatalog c;
  c.sender = {Col("a.b", "c", "id", "int"), Col("a", "b.c", "id", "int")};
  c.receiver = {Col("a.b", "c", "id", "int")};
  auto drift = CompareLinkCatalog(c, names::Links("app", "app").forward.front());
  ASSERT_EQ(drift.size(), 1u);
  EXPECT_NE(drift[0].problem.find("missing on the destination"), std::string::npos);
}

}  // namespace
}  // namespace dbr
