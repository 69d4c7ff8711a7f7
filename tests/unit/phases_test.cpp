#include "util/phases.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dbr {
namespace {

enum class Phase { kFirst, kSecond, kThird, kDone };

}  // namespace

template <>
struct EnumNames<Phase> {
  static constexpr std::string_view kWhat = "phase";
  static constexpr std::pair<Phase, std::string_view> kTable[] = {{Phase::kFirst, "first"},
                                                                  {Phase::kSecond, "second"},
                                                                  {Phase::kThird, "third"},
                                                                  {Phase::kDone, "done"}};
};

namespace {

// Three phases that log what ran; `fail_in` makes one of them fail.
struct Work {
  std::vector<std::string> ran;
  std::vector<Phase> saved;
  Phase recorded = Phase::kFirst;
  std::optional<Phase> fail_in;

  std::function<Result<Phase>()> Doing(Phase phase, Phase next) {
    return [this, phase, next]() -> Result<Phase> {
      ran.push_back(std::string(NameOf(phase)));
      if (fail_in == phase) return Status::Error("failed in " + std::string(NameOf(phase)));
      return next;
    };
  }

  Status Run() {
    const PhaseRow<Phase> rows[] = {
        {Phase::kFirst, Doing(Phase::kFirst, Phase::kSecond)},
        {Phase::kSecond, Doing(Phase::kSecond, Phase::kThird)},
        {Phase::kThird, Doing(Phase::kThird, Phase::kDone)},
    };
    return RunPhases(recorded, Phase::kDone, rows, "test", [this] {
      saved.push_back(recorded);
      return Status::Ok();
    });
  }
};

TEST(RunPhases, RunsEveryPhaseInOrderAndRecordsEachAsItEnds) {
  Work w;
  ASSERT_TRUE(w.Run().ok());
  EXPECT_EQ(w.ran, (std::vector<std::string>{"first", "second", "third"}));
  EXPECT_EQ(w.saved, (std::vector<Phase>{Phase::kSecond, Phase::kThird, Phase::kDone}));
  EXPECT_EQ(w.recorded, Phase::kDone);
}

TEST(RunPhases, ARerunStartsAtTheRecordedPhase) {
  Work w;
  w.recorded = Phase::kSecond;
  ASSERT_TRUE(w.Run().ok());
  EXPECT_EQ(w.ran, (std::vector<std::string>{"second", "third"}));
}

TEST(RunPhases, AFailedPhaseStaysRecordedAndRunsAgainFromItsBeginning) {
  Work w;
  w.fail_in = Phase::kSecond;
  Status st = w.Run();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "failed in second");
  EXPECT_EQ(w.recorded, Phase::kSecond);
  EXPECT_EQ(w.saved, (std::vector<Phase>{Phase::kSecond}));

  w.fail_in.reset();
  w.ran.clear();
  ASSERT_TRUE(w.Run().ok());
  EXPECT_EQ(w.ran, (std::vector<std::string>{"second", "third"}));
}

TEST(RunPhases, DoneRunsNothing) {
  Work w;
  w.recorded = Phase::kDone;
  ASSERT_TRUE(w.Run().ok());
  EXPECT_TRUE(w.ran.empty());
  EXPECT_TRUE(w.saved.empty());
}

TEST(RunPhases, APhaseWithoutARowIsAnErrorNotALoop) {
  Work w;
  const PhaseRow<Phase> rows[] = {{Phase::kFirst, w.Doing(Phase::kFirst, Phase::kThird)}};
  Status st = RunPhases(w.recorded, Phase::kDone, rows, "test", [] { return Status::Ok(); });
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("no phase third"), std::string::npos) << st.message();
}

TEST(RunPhases, AFailedSaveStopsBeforeTheNextPhase) {
  Work w;
  const PhaseRow<Phase> rows[] = {{Phase::kFirst, w.Doing(Phase::kFirst, Phase::kSecond)},
                                  {Phase::kSecond, w.Doing(Phase::kSecond, Phase::kDone)}};
  Status st =
      RunPhases(w.recorded, Phase::kDone, rows, "test", [] { return Status::Error("disk full"); });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(w.ran, (std::vector<std::string>{"first"}));
}

}  // namespace
}  // namespace dbr
