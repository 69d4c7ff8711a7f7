// The detail engine mysql's verify gives for a schema object that differs: both sides' texts
// from a little before their first difference.
#include <gtest/gtest.h>

#include "mysql/schema_compare.h"

namespace dbr::mysql {
namespace {

TEST(WhereTextsDiffer, ShowsBothTextsFromJustBeforeTheFirstDifference) {
  const std::string head(100, 'x');
  EXPECT_EQ(WhereTextsDiffer(head + "DEFAULT 9.99 tail", head + "DEFAULT 1.00 tail", "source",
                             "destination"),
            "source `..." + std::string(12, 'x') + "DEFAULT 9.99 tail`, destination `..." +
                std::string(12, 'x') + "DEFAULT 1.00 tail`");
}

TEST(WhereTextsDiffer, ShortTextsAreShownWhole) {
  EXPECT_EQ(WhereTextsDiffer("int NOT NULL", "bigint NOT NULL", "source", "destination"),
            "source `int NOT NULL`, destination `bigint NOT NULL`");
}

TEST(WhereTextsDiffer, OneTextEndingWhereTheOtherGoesOn) {
  const std::string head(50, 'y');
  EXPECT_EQ(WhereTextsDiffer(head, head + " COLLATE utf8mb4_bin", "source", "destination"),
            "source `..." + std::string(20, 'y') + "`, destination `..." + std::string(20, 'y') +
                " COLLATE utf8mb4_bin`");
}

TEST(WhereTextsDiffer, LongTextsAreCut) {
  const std::string a = "a" + std::string(200, 'z'), b = "b" + std::string(200, 'z');
  EXPECT_EQ(
      WhereTextsDiffer(a, b, "source", "destination"),
      "source `a" + std::string(79, 'z') + "...`, destination `b" + std::string(79, 'z') + "...`");
}

TEST(WhereTextsDiffer, NeverCutsInsideAUtf8Character) {
  // 'é' is two bytes; the cut 20 bytes before the difference falls on its second and moves back.
  const std::string head = "x" + std::string(19, 'y') + "é" + std::string(19, 'z');
  EXPECT_EQ(WhereTextsDiffer(head + "A", head + "B", "source", "destination"),
            "source `...é" + std::string(19, 'z') + "A`, destination `...é" + std::string(19, 'z') +
                "B`");
}

}  // namespace
}  // namespace dbr::mysql
