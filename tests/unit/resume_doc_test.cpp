// docs/resume.md has a row for every step of `run` and every phase of the snapshot step, so the
// page cannot fall behind the code.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "model/steps.h"
#include "model/run_state.h"
#include "test_support.h"

namespace dbr {
namespace {

std::string ResumePage() {
  std::ifstream in(unit_test::SourceDir() / "docs" / "resume.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The text from the heading `from` to the next heading `to`.
std::string Section(const std::string& page, const std::string& from, const std::string& to) {
  const size_t begin = page.find(from);
  if (begin == std::string::npos) return "";
  return page.substr(begin, page.find(to, begin) - begin);
}

// A table row whose first cell is the name in backquotes.
bool HasRow(const std::string& page, std::string_view name) {
  return page.find("| `" + std::string(name) + "` |") != std::string::npos;
}

TEST(ResumeDoc, EveryStepOfRunHasARow) {
  const std::string steps = Section(ResumePage(), "## The steps of `run`", "\n## ");
  ASSERT_FALSE(steps.empty());
  for (std::string_view step : kStepNames) EXPECT_TRUE(HasRow(steps, step)) << step;
}

template <NamedEnum Phase>
void ExpectARowForEveryPhase(const std::string& page) {
  for (const auto& [phase, name] : EnumNames<Phase>::kTable)
    if (!name.empty() && name != "schema") EXPECT_TRUE(HasRow(page, name)) << name;
}

TEST(ResumeDoc, EveryPhaseOfTheSnapshotHasARow) {
  const std::string page = ResumePage();
  const std::string copy = Section(page, "### Logical copy", "\n### ");
  const std::string rds = Section(page, "### RDS snapshot", "\n## ");
  ASSERT_FALSE(copy.empty());
  ASSERT_FALSE(rds.empty());
  ExpectARowForEveryPhase<SnapshotPhase>(copy);
  EXPECT_NE(copy.find("| (none) or `schema` |"), std::string::npos);
  ExpectARowForEveryPhase<RdsPhase>(rds);
}

}  // namespace
}  // namespace dbr
