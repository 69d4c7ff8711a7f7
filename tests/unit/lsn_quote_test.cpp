#include <gtest/gtest.h>

#include "pg/lsn.h"
#include "pg/quote.h"

namespace dbr::pg {
namespace {

TEST(Lsn, ParsesAndPrintsRoundTrip) {
  auto lsn = Lsn::Parse("0/1B87690");
  ASSERT_TRUE(lsn.has_value());
  EXPECT_EQ(lsn->value(), 0x1B87690u);
  EXPECT_EQ(lsn->ToString(), "0/1B87690");
  EXPECT_EQ(Lsn::Parse("16/B374D848")->value(), (0x16ull << 32) | 0xB374D848ull);
  EXPECT_LT(*Lsn::Parse("0/FFFFFFFF"), *Lsn::Parse("1/0"));
}

TEST(Lsn, RejectsMalformedText) {
  for (const char* bad : {"", "/", "0/", "/1", "0/1G", "01", "0/1/2", "123456789/0", "x/1"}) {
    EXPECT_FALSE(Lsn::Parse(bad).has_value()) << bad;
  }
}

TEST(Quote, IdentifiersAreAlwaysQuotedAndEscaped) {
  EXPECT_EQ(QuoteIdent("users"), "\"users\"");
  EXPECT_EQ(QuoteIdent("Mixed Case"), "\"Mixed Case\"");
  EXPECT_EQ(QuoteIdent("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteIdent("select"), "\"select\"");
  EXPECT_EQ(QualifiedName("my schema", "t\"1"), "\"my schema\".\"t\"\"1\"");
  EXPECT_EQ(QuoteIdentList({"a", "B"}), "\"a\", \"B\"");
}

TEST(Quote, LiteralsEscapeQuotesAndBackslashes) {
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral("a\\b"), "E'a\\\\b'");
  EXPECT_EQ(QuoteLiteral("ünï"), "'ünï'");
  EXPECT_EQ(QuoteConninfoValue("p'w\\d"), "'p\\'w\\\\d'");
}

}  // namespace
}  // namespace dbr::pg
