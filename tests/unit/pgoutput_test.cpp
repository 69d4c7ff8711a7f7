#include "pg/pgoutput.h"

#include <gtest/gtest.h>

#include "verify/table_shape.h"

namespace dbr::pg::pgoutput {
namespace {

// Builders for protocol bytes, big-endian as on the wire.
std::string Int(uint64_t v, int bytes) {
  std::string s;
  for (int i = bytes - 1; i >= 0; --i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return s;
}
std::string Str(const std::string& s) {
  return s + std::string(1, '\0');
}
std::string TextValue(const std::string& v) {
  return "t" + Int(v.size(), 4) + v;
}

TEST(PgOutputTest, ParsesRelationWithKeyFlags) {
  std::string msg = "R" + Int(16384, 4) + Str("Sales Ops") + Str("Order Lines") + "d" + Int(2, 2) +
                    Int(1, 1) + Str("Id") + Int(23, 4) + Int(0xffffffff, 4) + Int(0, 1) +
                    Str("select") + Int(25, 4) + Int(0xffffffff, 4);
  auto m = Parse(msg);
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->type, 'R');
  EXPECT_EQ(m->relation.id, 16384u);
  EXPECT_EQ(m->relation.schema, "Sales Ops");
  EXPECT_EQ(m->relation.name, "Order Lines");
  ASSERT_EQ(m->relation.columns.size(), 2u);
  EXPECT_EQ(m->relation.columns[1], "select");
  EXPECT_TRUE(m->relation.key[0]);
  EXPECT_FALSE(m->relation.key[1]);
}

TEST(PgOutputTest, ParsesUpdateWithOldKeyNullAndUnchangedToast) {
  std::string old_key = "K" + Int(2, 2) + TextValue("7") + "n";
  std::string new_row = "N" + Int(2, 2) + TextValue("8") + "u";
  auto m = Parse("U" + Int(5, 4) + old_key + new_row);
  ASSERT_TRUE(m.ok()) << m.message();
  EXPECT_EQ(m->relid, 5u);
  EXPECT_EQ(m->old_kind, 'K');
  EXPECT_EQ(m->old_tuple[0].text, "7");
  EXPECT_EQ(m->old_tuple[1].kind, 'n');
  EXPECT_EQ(m->new_tuple[0].text, "8");
  EXPECT_EQ(m->new_tuple[1].kind, 'u');
  auto plain = Parse("U" + Int(5, 4) + new_row);
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->old_kind, 0);
}

TEST(PgOutputTest, ParsesBeginCommitDeleteTruncate) {
  auto b = Parse("B" + Int(0x1000, 8) + Int(0, 8) + Int(42, 4));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->xid, 42u);
  EXPECT_EQ(b->lsn.ToString(), "0/1000");
  auto c = Parse("C" + Int(0, 1) + Int(0x1000, 8) + Int(0x1040, 8) + Int(0, 8));
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->lsn.ToString(), "0/1040");
  auto d = Parse("D" + Int(9, 4) + "O" + Int(1, 2) + TextValue(""));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->old_kind, 'O');
  EXPECT_EQ(d->old_tuple[0].kind, 't');
  EXPECT_EQ(d->old_tuple[0].text, "");
  auto t = Parse("T" + Int(2, 4) + Int(0, 1) + Int(3, 4) + Int(4, 4));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->truncated, (std::vector<uint32_t>{3, 4}));
}

TEST(PgOutputTest, TruncatedOrUnknownMessagesAreErrorsNotCrashes) {
  std::string full = "I" + Int(5, 4) + "N" + Int(1, 2) + TextValue("hello");
  for (size_t n = 0; n < full.size(); ++n) EXPECT_FALSE(Parse(full.substr(0, n)).ok()) << n;
  EXPECT_TRUE(Parse(full).ok());
  // A value length larger than what follows.
  EXPECT_FALSE(Parse("I" + Int(5, 4) + "N" + Int(1, 2) + "t" + Int(0xffffffff, 4)).ok());
  EXPECT_FALSE(Parse("Z").ok());
  EXPECT_FALSE(Parse("D" + Int(9, 4) + "N" + Int(0, 2)).ok());
}

TEST(PgOutputTest, DecodesByteaHex) {
  auto b = DecodeByteaHex("\\x00ff41");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, std::string("\0\xff"
                            "A",
                            3));
  EXPECT_FALSE(DecodeByteaHex("00ff").ok());
  EXPECT_FALSE(DecodeByteaHex("\\x0").ok());
  EXPECT_FALSE(DecodeByteaHex("\\xzz").ok());
}

TEST(RowTextTest, QuotesLikeRecordOut) {
  using dbr::verify::TableShape;
  EXPECT_EQ(TableShape::RowText({"42"}), "(42)");
  EXPECT_EQ(TableShape::RowText({"t3", "10"}), "(t3,10)");
  EXPECT_EQ(TableShape::RowText({""}), "(\"\")");
  EXPECT_EQ(TableShape::RowText({"a b", "x,y", "q\"uo\\te", "(p)"}),
            "(\"a b\",\"x,y\",\"q\"\"uo\\\\te\",\"(p)\")");
  EXPECT_EQ(TableShape::RowText({"ünï"}), "(ünï)");
}

}  // namespace
}  // namespace dbr::pg::pgoutput
