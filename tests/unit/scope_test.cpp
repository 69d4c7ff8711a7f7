#include "model/scope.h"

#include <gtest/gtest.h>

#include "config/config.h"

namespace dbr {
namespace {

Config WithScope(std::vector<std::string> schemas, ScopeConfig scope) {
  Config config;
  config.src.schemas = std::move(schemas);
  config.scope = std::move(scope);
  return config;
}

TEST(Scope, WithoutFiltersEverythingInTheNamedSchemasMovesWithItsRows) {
  Config config = WithScope({"public"}, {});
  ScopeFilter filter(config);
  EXPECT_FALSE(filter.FiltersRelations());
  EXPECT_TRUE(filter.CoversSchema("public"));
  EXPECT_FALSE(filter.CoversSchema("public2"));  // a name, not a prefix
  EXPECT_TRUE(filter.CoversSchema("db_relocate"));
  EXPECT_EQ(filter.Of("public", "orders"), Coverage::kRows);
  EXPECT_EQ(filter.Of("sales", "orders"), Coverage::kOut);
  EXPECT_EQ(filter.Of("db_relocate", "heartbeat"), Coverage::kRows);
}

TEST(Scope, SchemaPatternsAndExclusions) {
  Config config = WithScope({"app_*", "public"}, {.exclude_schemas = {"app_archive*"}});
  ScopeFilter filter(config);
  EXPECT_TRUE(filter.CoversSchema("app_eu"));
  EXPECT_TRUE(filter.CoversSchema("public"));
  EXPECT_FALSE(filter.CoversSchema("app_archive_2019"));
  EXPECT_FALSE(filter.CoversSchema("apps"));
  EXPECT_TRUE(filter.CoversSchema("db_relocate"));  // never excluded
  EXPECT_EQ(filter.Of("app_archive_2019", "t"), Coverage::kOut);
}

TEST(Scope, TableIncludeExcludeAndDataExclusion) {
  Config config = WithScope({"public", "sales"}, {.include_tables = {"public.*", "sales.orders*"},
                                                  .exclude_tables = {"*_tmp", "public.audit_?"},
                                                  .exclude_table_data = {"public.events"}});
  ScopeFilter filter(config);
  EXPECT_TRUE(filter.FiltersRelations());
  EXPECT_EQ(filter.Of("public", "customers"), Coverage::kRows);
  EXPECT_EQ(filter.Of("sales", "orders_2024"), Coverage::kRows);
  EXPECT_EQ(filter.Of("sales", "refunds"), Coverage::kOut);     // not included
  EXPECT_EQ(filter.Of("public", "load_tmp"), Coverage::kOut);   // excluded in any schema
  EXPECT_EQ(filter.Of("sales", "orders_tmp"), Coverage::kOut);  // exclude wins over include
  EXPECT_EQ(filter.Of("public", "audit_1"), Coverage::kOut);
  EXPECT_EQ(filter.Of("public", "audit_10"), Coverage::kRows);  // ? is one character
  EXPECT_EQ(filter.Of("public", "events"), Coverage::kDefinition);
  EXPECT_EQ(filter.Of("public", "Events"), Coverage::kRows);  // names are case-sensitive
  EXPECT_EQ(filter.Of("db_relocate", "heartbeat"), Coverage::kRows);
}

TEST(Scope, AQualifiedPatternMatchesTheWholeNameOnly) {
  Config config = WithScope({"*"}, {.exclude_tables = {"public.t"}});
  ScopeFilter filter(config);
  EXPECT_EQ(filter.Of("public", "t"), Coverage::kOut);
  EXPECT_EQ(filter.Of("other", "t"), Coverage::kRows);
  EXPECT_EQ(filter.Of("public", "t2"), Coverage::kRows);
  EXPECT_TRUE(MatchesPattern("[ab]x", "bx"));
  EXPECT_FALSE(MatchesPattern("[ab]x", "cx"));
}

TEST(ScopeConfig, ReadsTheBlocksAndNamesABadPattern) {
  auto config = ParseConfig(R"(
src:
  schema: ["app_*"]
schemas:
  exclude: app_old
tables:
  include: ["app_*.orders*", customers]
  exclude: ["*_tmp"]
exclude_table_data: [app_eu.events]
)",
                            "scope.yaml");
  ASSERT_TRUE(config.ok()) << config.message();
  EXPECT_EQ(config->src.schemas, std::vector<std::string>{"app_*"});
  EXPECT_EQ(config->scope.exclude_schemas, std::vector<std::string>{"app_old"});
  EXPECT_EQ(config->scope.include_tables, (std::vector<std::string>{"app_*.orders*", "customers"}));
  EXPECT_EQ(config->scope.exclude_tables, std::vector<std::string>{"*_tmp"});
  EXPECT_EQ(config->scope.exclude_table_data, std::vector<std::string>{"app_eu.events"});

  auto bad = ParseConfig("tables:\n  exclude: [a.b.c]\nsrc:\n  schema: [x.y]\n", "bad.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("tables.exclude[0]: \"a.b.c\": expected schema.name or name"),
            std::string::npos)
      << bad.message();
  EXPECT_NE(bad.message().find("src.schema[0]: \"x.y\": expected a schema name"), std::string::npos)
      << bad.message();
  auto unknown = ParseConfig("tables:\n  includes: [a]\n", "typo.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("tables.include"), std::string::npos) << unknown.message();
}

}  // namespace
}  // namespace dbr
