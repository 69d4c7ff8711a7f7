// The one quoting helper (src/pg/quote.h) on hostile text: exact outputs, and each output read
// back by a strict parser of its syntax (the server-side round trip is in
// tests/integration/hostile_names_test.cpp). Also the schema-restore list filter, which matches
// unquoted names.
#include "pg/quote.h"

#include <gtest/gtest.h>

#include <optional>

#include "snapshot/restore_list.h"

namespace dbr::pg {
namespace {

const std::vector<std::string> kHostile = {
    "",
    "plain",
    "Mixed Case",
    "  leading and trailing  ",
    R"(double "quote")",
    R"(")",
    R"("")",
    R"(single 'quote')",
    "'",
    "''",
    R"(back\slash)",
    R"(\)",
    R"(\\'")",
    R"(\'\")",
    "dot.ted",
    "star*question?",
    "Ünïcødé 表 🚀",
    "select",
    "user",
    "order",
    "table",
    "NULL",
    "null",
    "$1",
    "semi; colon -- dash /* c */",
    "{brace,comma}",
    "a,b",
    "=",
    "key=value other=x",
    "tab\there",
    "new\nline",
};

// "..." with "" for ": the text inside, or nothing when the input is not exactly that.
std::optional<std::string> ParseIdent(const std::string& q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < q.size(); ++i) {
    if (q[i] == '"') {
      if (i + 2 >= q.size() || q[i + 1] != '"') return std::nullopt;
      ++i;
    }
    out.push_back(q[i]);
  }
  return out;
}

// '...' (standard strings: '' for ', backslash literal) or E'...' (\\ and '' or \').
std::optional<std::string> ParseLiteral(const std::string& q) {
  bool escape = q.rfind("E'", 0) == 0;
  size_t start = escape ? 2 : 1;
  if (q.size() < start + 1 || q[start - 1] != '\'' || q.back() != '\'') return std::nullopt;
  std::string out;
  for (size_t i = start; i + 1 < q.size(); ++i) {
    char c = q[i];
    if (c == '\'') {
      if (i + 2 >= q.size() || q[i + 1] != '\'') return std::nullopt;
      ++i;
    } else if (c == '\\' && escape) {
      if (i + 2 >= q.size()) return std::nullopt;
      c = q[++i];
      if (c != '\\' && c != '\'') return std::nullopt;  // the helper writes no other escape
    }
    out.push_back(c);
  }
  return out;
}

// libpq's single-quoted conninfo value: \ escapes the next character, ' ends it.
std::optional<std::string> ParseConninfoValue(const std::string& q) {
  if (q.size() < 2 || q.front() != '\'' || q.back() != '\'') return std::nullopt;
  std::string out;
  for (size_t i = 1; i + 1 < q.size(); ++i) {
    char c = q[i];
    if (c == '\'') return std::nullopt;
    if (c == '\\') {
      if (i + 2 >= q.size()) return std::nullopt;
      c = q[++i];
    }
    out.push_back(c);
  }
  return out;
}

// An array literal whose every element is double-quoted (\ escapes the next character).
std::optional<std::vector<std::string>> ParseTextArray(const std::string& q) {
  if (q.size() < 2 || q.front() != '{' || q.back() != '}') return std::nullopt;
  std::vector<std::string> out;
  size_t i = 1;
  while (i + 1 < q.size()) {
    if (!out.empty()) {
      if (q[i] != ',') return std::nullopt;
      ++i;
    }
    if (q[i] != '"') return std::nullopt;
    std::string v;
    for (++i;; ++i) {
      if (i + 1 >= q.size()) return std::nullopt;
      if (q[i] == '"') break;
      if (q[i] == '\\') ++i;
      v.push_back(q[i]);
    }
    ++i;
    out.push_back(v);
  }
  return out;
}

TEST(QuoteIdent, ExactForms) {
  EXPECT_EQ(QuoteIdent(""), R"("")");
  EXPECT_EQ(QuoteIdent("users"), R"("users")");
  EXPECT_EQ(QuoteIdent("Mixed Case"), R"("Mixed Case")");
  EXPECT_EQ(QuoteIdent(R"(a"b)"), R"("a""b")");
  EXPECT_EQ(QuoteIdent(R"("")"), R"("""""")");
  EXPECT_EQ(QuoteIdent("it's"), R"("it's")");
  EXPECT_EQ(QuoteIdent(R"(a\b)"), R"("a\b")");
  EXPECT_EQ(QuoteIdent("Ünïcødé 表 🚀"), "\"Ünïcødé 表 🚀\"");
  for (const char* keyword : {"select", "user", "order", "table", "NULL"})
    EXPECT_EQ(QuoteIdent(keyword), "\"" + std::string(keyword) + "\"");
}

TEST(QuoteIdent, QualifiedNamesNeverCollide) {
  EXPECT_EQ(QualifiedName("my schema", R"(t"1)"), R"("my schema"."t""1")");
  EXPECT_EQ(QualifiedName("a.b", "c"), R"("a.b"."c")");
  EXPECT_NE(QualifiedName("a.b", "c"), QualifiedName("a", "b.c"));
  EXPECT_NE(QualifiedName(R"(a"."b)", "c"), QualifiedName("a", R"(b"."c)"));
  EXPECT_EQ(QuoteIdentList({}), "");
  EXPECT_EQ(QuoteIdentList({"a", "B", R"(c"d)"}), R"("a", "B", "c""d")");
}

TEST(QuoteLiteral, ExactForms) {
  EXPECT_EQ(QuoteLiteral(""), "''");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("''"), "''''''");
  EXPECT_EQ(QuoteLiteral(R"(a\b)"), R"(E'a\\b')");
  EXPECT_EQ(QuoteLiteral(R"(\')"), R"(E'\\''')");
  EXPECT_EQ(QuoteLiteral(R"(say "hi")"), R"('say "hi"')");
  EXPECT_EQ(QuoteLiteral("ünï 表"), "'ünï 表'");
  EXPECT_EQ(QuoteLiteral("NULL"), "'NULL'");
  EXPECT_EQ(QuoteLiteral("$1"), "'$1'");
}

TEST(QuoteConninfoValue, ExactForms) {
  EXPECT_EQ(QuoteConninfoValue(""), "''");
  EXPECT_EQ(QuoteConninfoValue("with space"), "'with space'");
  EXPECT_EQ(QuoteConninfoValue(R"(p'w\d)"), R"('p\'w\\d')");
  EXPECT_EQ(QuoteConninfoValue(R"(a"b)"), R"('a"b')");
  EXPECT_EQ(QuoteConninfoValue("k=v x=y"), "'k=v x=y'");
  EXPECT_EQ(QuoteConninfoValue("ü"), "'ü'");
}

TEST(TextArrayLiteral, ExactForms) {
  EXPECT_EQ(TextArrayLiteral({}), "{}");
  EXPECT_EQ(TextArrayLiteral({""}), R"({""})");
  EXPECT_EQ(TextArrayLiteral({"a", "b"}), R"({"a","b"})");
  EXPECT_EQ(TextArrayLiteral({"a,b"}), R"({"a,b"})");
  EXPECT_EQ(TextArrayLiteral({R"(a"b)"}), R"({"a\"b"})");
  EXPECT_EQ(TextArrayLiteral({R"(a\b)"}), R"({"a\\b"})");
  EXPECT_EQ(TextArrayLiteral({"{x}", "}"}), R"({"{x}","}"})");
  EXPECT_EQ(TextArrayLiteral({"NULL", "null"}), R"({"NULL","null"})");  // text, not NULL
  EXPECT_EQ(TextArrayLiteral({" sp "}), R"({" sp "})");
  EXPECT_EQ(TextArrayLiteral({"it's"}), R"({"it's"})");
}

TEST(Quote, EveryHostileTextReadsBack) {
  for (const auto& text : kHostile) {
    EXPECT_EQ(ParseIdent(QuoteIdent(text)), text) << QuoteIdent(text);
    EXPECT_EQ(ParseLiteral(QuoteLiteral(text)), text) << QuoteLiteral(text);
    EXPECT_EQ(ParseConninfoValue(QuoteConninfoValue(text)), text) << QuoteConninfoValue(text);
    // Under standard_conforming_strings = off a plain '' literal would read \ as an escape: the
    // helper must never write one there.
    if (text.find('\\') != std::string::npos) {
      EXPECT_EQ(QuoteLiteral(text).rfind("E'", 0), 0u) << text;
    }
  }
  auto parsed = ParseTextArray(TextArrayLiteral(kHostile));
  ASSERT_TRUE(parsed.has_value()) << TextArrayLiteral(kHostile);
  EXPECT_EQ(*parsed, kHostile);
}

}  // namespace
}  // namespace dbr::pg

namespace dbr {
namespace {

TEST(FilterRestoreList, SkipsSchemasByTheirWholeDescription) {
  const std::string toc =
      ";\n; Archive created at ...\n"
      "5; 2615 2200 SCHEMA - public pg_database_owner\n"
      "6; 2615 16385 SCHEMA - public ü ops\n"
      "7; 2615 16386 SCHEMA - public ü.a ops\n"
      "8; 3079 16387 EXTENSION - hstore \n"
      "9; 0 0 COMMENT - EXTENSION hstore \n"
      "10; 1259 16390 TABLE public ü a.b ops\n";
  std::string out = FilterRestoreList(toc, {"EXTENSION - ", "COMMENT - EXTENSION "},
                                      {"SCHEMA - public pg_database_owner", "SCHEMA - public ops"});
  EXPECT_EQ(out,
            ";\n; Archive created at ...\n"
            "6; 2615 16385 SCHEMA - public ü ops\n"
            "7; 2615 16386 SCHEMA - public ü.a ops\n"
            "10; 1259 16390 TABLE public ü a.b ops\n");
}

TEST(SplitRestoreList, TakesIndexAttachmentsApartFromEverythingElse) {
  const std::string list =
      ";\n; Selected TOC Entries:\n"
      "3001; 1259 17300 INDEX app measurements_2024_peak_idx ops\n"
      "3002; 0 0 INDEX ATTACH app measurements_2024_rest_peak_idx \n"
      "3003; 2606 17400 CONSTRAINT app orders orders_pkey ops\n"
      "3004; 1259 17301 INDEX app \"INDEX ATTACH x\" ops\n";
  const auto [rest, attach] = SplitRestoreList(list, {"INDEX ATTACH "});
  EXPECT_EQ(rest,
            ";\n; Selected TOC Entries:\n"
            "3001; 1259 17300 INDEX app measurements_2024_peak_idx ops\n"
            "3003; 2606 17400 CONSTRAINT app orders orders_pkey ops\n"
            "3004; 1259 17301 INDEX app \"INDEX ATTACH x\" ops\n");
  EXPECT_EQ(attach, "3002; 0 0 INDEX ATTACH app measurements_2024_rest_peak_idx \n");
  EXPECT_TRUE(SplitRestoreList(rest, {"INDEX ATTACH "}).second.empty());
}

}  // namespace
}  // namespace dbr
