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

TEST(Scope, ANameWrittenOutWholeMatchesItselfWhateverItHolds) {
  // A schema named with glob characters, a backslash and a dot.
  const std::string odd = "Sales \"Ops\" 'x' \\ .*? [1]";
  Config config = WithScope({odd}, {.exclude_tables = {"a.b"}});
  ScopeFilter filter(config);
  EXPECT_TRUE(filter.CoversSchema(odd));
  EXPECT_FALSE(filter.CoversSchema("Sales \"Ops\" 'x' \\ .*? 2"));  // [1] is a set
  EXPECT_EQ(filter.Of(odd, "a.b"), Coverage::kOut);                 // a table named "a.b"
  EXPECT_EQ(filter.Of(odd, "a"), Coverage::kRows);
  EXPECT_TRUE(MatchesPattern("a\\b", "a\\b"));  // no escapes: a backslash is itself
}

TEST(ScopeConfig, ReadsTheBlocks) {
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

  auto unknown = ParseConfig("tables:\n  includes: [a]\n", "typo.yaml");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.message().find("tables.include"), std::string::npos) << unknown.message();
}

TEST(Scope, GlobsBecomeAnchoredRegularExpressions) {
  EXPECT_EQ(GlobToRegex("app_*"), "^app_.*$");
  EXPECT_EQ(GlobToRegex("a?c"), "^a.c$");
  EXPECT_EQ(GlobToRegex("public.t$1"), "^public\\.t\\$1$");
  EXPECT_EQ(GlobToRegex("[!ab]x"), "^[^ab]x$");
  EXPECT_EQ(GlobToRegex("[]]"), "^[]]$");
  EXPECT_EQ(GlobToRegex("a[b"), "^a\\[b$");  // not closed: itself
  EXPECT_EQ(GlobToRegex("(x)+"), "^\\(x\\)\\+$");
}

TEST(Scope, TheSqlConditionNamesEveryPattern) {
  Config config = WithScope({"app_*"}, {.include_tables = {"app_eu.*"},
                                        .exclude_tables = {"*_tmp"},
                                        .exclude_schemas = {"app_old"}});
  const std::string sql = ScopeFilter(config).SqlCovers("s", "n");
  EXPECT_EQ(sql,
            "(s = 'db_relocate' OR ((s = 'app_*' OR s ~ '^app_.*$') AND NOT (s = 'app_old' OR s ~ "
            "'^app_old$') AND (n = 'app_eu.*' OR n ~ E'^app_eu\\\\..*$' OR (s || '.' || n) ~ "
            "E'^app_eu\\\\..*$') AND NOT (n = '*_tmp' OR n ~ '^.*_tmp$')))");
}

}  // namespace
}  // namespace dbr
