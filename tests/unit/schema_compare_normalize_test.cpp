#include <fmt/format.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>

#include "verify/schema_diff.h"
#include "verify/schema_normalize.h"

namespace dbr::verify {
namespace {

TEST(SchemaNormalize, CollapsesWhitespaceOutsideQuotes) {
  EXPECT_EQ(CollapseWhitespace(" SELECT a,\n    b\n   FROM app.t\n  WHERE (a = 'x  y');"),
            "SELECT a, b FROM app.t WHERE (a = 'x  y')");
  EXPECT_EQ(CollapseWhitespace("SELECT \"two  spaces\"\t FROM t"), "SELECT \"two  spaces\" FROM t");
  EXPECT_EQ(CollapseWhitespace("SELECT E'a\\'  b'  ;"), "SELECT E'a\\'  b'");
}

TEST(SchemaNormalize, StripsColumnQualifiersButNotSchemas) {
  const std::set<std::string> schemas = {"app", "pg_catalog", "Sales Ops"};
  // PostgreSQL 15 and 17 deparsing the same view.
  EXPECT_EQ(
      StripColumnQualifiers(" SELECT orders.id, (orders.amount)::bigint AS a FROM app.orders WHERE "
                            "(orders.id IN ( SELECT order_items.order_id FROM app.order_items));",
                            schemas),
      StripColumnQualifiers(" SELECT id, (amount)::bigint AS a FROM app.orders WHERE (id IN "
                            "( SELECT order_items.order_id FROM app.order_items));",
                            schemas));
  EXPECT_EQ(
      StripColumnQualifiers("SELECT o.id, app.add(o.x, 1.5)::app.cents FROM app.orders o", schemas),
      "SELECT id, app.add(x, 1.5)::app.cents FROM app.orders o");
  EXPECT_EQ(StripColumnQualifiers(
                "SELECT \"Order Lines\".\"Qty\" FROM \"Sales Ops\".\"Order Lines\"", schemas),
            "SELECT \"Qty\" FROM \"Sales Ops\".\"Order Lines\"");
  // Literals, whole-row references and numbers stay.
  EXPECT_EQ(StripColumnQualifiers("SELECT 'o.id', t.*, 1.5, E'x.y' FROM app.t", schemas),
            "SELECT 'o.id', t.*, 1.5, E'x.y' FROM app.t");
  // A different column is still a different text.
  EXPECT_NE(StripColumnQualifiers("SELECT o.id FROM app.orders o", schemas),
            StripColumnQualifiers("SELECT o.note FROM app.orders o", schemas));
}

TEST(SchemaNormalize, DropsInModesOfProcedureArguments) {
  EXPECT_EQ(StripInModes("IN days integer, INOUT moved integer DEFAULT 0"),
            "days integer, INOUT moved integer DEFAULT 0");
  EXPECT_EQ(StripInModes("days integer, INOUT moved integer DEFAULT 0"),
            "days integer, INOUT moved integer DEFAULT 0");
  EXPECT_EQ(StripInModes("IN a numeric DEFAULT round(1.5, 1), IN b text DEFAULT 'IN x, IN y'"),
            "a numeric DEFAULT round(1.5, 1), b text DEFAULT 'IN x, IN y'");
  EXPECT_EQ(StripInModes("integer"), "integer");
  EXPECT_EQ(StripInModes("INOUT x int"), "INOUT x int");
  EXPECT_EQ(StripInModes(""), "");
}

TEST(SchemaNormalize, CutsSqlStandardBodyOutOfFunctionDef) {
  EXPECT_EQ(SqlStandardBody("CREATE OR REPLACE FUNCTION app.f(a integer)\n RETURNS integer\n "
                            "LANGUAGE sql\n IMMUTABLE\nBEGIN ATOMIC\n SELECT (a + 1);\nEND\n"),
            "BEGIN ATOMIC\n SELECT (a + 1);\nEND");
  EXPECT_EQ(SqlStandardBody("CREATE OR REPLACE FUNCTION app.g(x integer)\n RETURNS integer\n "
                            "LANGUAGE sql\nRETURN ((x * 2) + 1)\n"),
            "RETURN ((x * 2) + 1)");
}

TEST(SchemaDiff, ReportsEveryKindOfDifference) {
  std::vector<CatalogObject> src = {
      {"column", "app.t.a", {{"type", "integer"}, {"not null", "NOT NULL"}}, std::nullopt},
      {"index", "app.t_idx", {{"definition", "CREATE INDEX ..."}}, std::nullopt},
      {"extension", "citext", {{"schema", "public"}, {"version", "1.6", true}}, std::nullopt},
      {"sequence", "app.s", {{"increment", "1"}}, SequencePosition{100, true, 1}},
      {"sequence", "app.down", {{"increment", "-1"}}, SequencePosition{-10, true, -1}},
      {"sequence", "app.fresh", {{"increment", "1"}}, SequencePosition{1, false, 1}},
  };
  std::vector<CatalogObject> dst = {
      {"column", "app.t.a", {{"type", "bigint"}, {"not null", "NOT NULL"}}, std::nullopt},
      {"extension", "citext", {{"schema", "public"}, {"version", "1.8", true}}, std::nullopt},
      {"sequence", "app.s", {{"increment", "1"}}, SequencePosition{99, true, 1}},
      {"sequence", "app.down", {{"increment", "-1"}}, SequencePosition{-1010, true, -1}},
      {"sequence", "app.fresh", {{"increment", "1"}}, SequencePosition{1, false, 1}},
      {"table", "app.extra", {}, std::nullopt},
  };
  auto r = DiffObjects(src, dst);
  ASSERT_EQ(r.size(), 7u);
  auto at = [&](const std::string& kind, const std::string& name) {
    for (const auto& o : r)
      if (o.kind == kind && o.name == name) return o;
    return ObjectResult{kind, name, Verdict::kError, "<absent>"};
  };
  EXPECT_EQ(at("column", "app.t.a").status, Verdict::kDiffers);
  EXPECT_EQ(at("column", "app.t.a").detail, "type: source integer, destination bigint");
  EXPECT_EQ(at("index", "app.t_idx").status, Verdict::kMissing);
  EXPECT_EQ(at("table", "app.extra").status, Verdict::kExtra);
  EXPECT_EQ(at("extension", "citext").status, Verdict::kOk);
  EXPECT_EQ(at("extension", "citext").detail, "version: source 1.6, destination 1.8");
  EXPECT_EQ(at("sequence", "app.s").status, Verdict::kBehind);
  EXPECT_EQ(at("sequence", "app.s").detail, "next value: source 101, destination 100");
  EXPECT_EQ(at("sequence", "app.down").status, Verdict::kOk);
  EXPECT_EQ(at("sequence", "app.fresh").status, Verdict::kOk);
  // Sorted by kind, then name.
  for (size_t i = 1; i < r.size(); ++i)
    EXPECT_LE(std::tie(r[i - 1].kind, r[i - 1].name), std::tie(r[i].kind, r[i].name));
}

TEST(Verdict, IsWrittenByNameInJsonAndText) {
  EXPECT_EQ(nlohmann::json(Verdict::kDiffers), "DIFFERS");
  const nlohmann::json ok = {{"status", Verdict::kOk}};
  EXPECT_EQ(ok.dump(), R"({"status":"OK"})");
  EXPECT_EQ(nlohmann::json("BEHIND").get<Verdict>(), Verdict::kBehind);
  std::ostringstream out;
  out << Verdict::kUnsettled;
  EXPECT_EQ(out.str(), "UNSETTLED");
  EXPECT_EQ(fmt::format("{}", Verdict::kMissing), "MISSING");
}

}  // namespace
}  // namespace dbr::verify
