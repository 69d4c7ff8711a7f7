#include "util/fault.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

using std::chrono::milliseconds;

TEST(PauseAt, PausesOnlyAtTheNamedPointForTheGivenMilliseconds) {
  EXPECT_EQ(PauseAt("publication:user-ready:3000", "publication:user-ready"), milliseconds(3000));
  EXPECT_EQ(PauseAt("after:preflight:0", "after:preflight"), milliseconds(0));
  EXPECT_FALSE(PauseAt("publication:user-ready:3000", "publication").has_value());
  EXPECT_FALSE(PauseAt("publication:user-ready:3000", "user-ready").has_value());
}

TEST(PauseAt, AnythingButPointColonMillisecondsPausesNowhere) {
  for (const char* bad : {"", "publication:user-ready", "publication:user-ready:", ":3000",
                          "publication:user-ready:-1", "publication:user-ready:3s"})
    EXPECT_FALSE(PauseAt(bad, "publication:user-ready").has_value()) << bad;
  EXPECT_EQ(PauseAt(":3000", ""), milliseconds(3000));  // an empty point is a point
}

}  // namespace
}  // namespace dbr
