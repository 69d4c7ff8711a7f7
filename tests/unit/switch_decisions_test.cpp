#include "core/switch_decisions.h"

#include <gtest/gtest.h>

namespace dbr {
namespace {

constexpr Side kCutover = Side::kDestination;  // the side a cut-over switches to
constexpr Side kRollback = Side::kSource;

constexpr UndoProgress kNothingPutBack = UndoProgress::kNone;

SwitchRecord Interrupted(Side to, SwitchStage stage) {
  return {.to = to, .stage = stage};
}

ProxyState SendsTo(std::optional<Side> active, bool paused = false) {
  return {.running = true, .paused = paused, .active = active};
}

TEST(RecoverFromRecord, TheOtherCommandsSwitchIsRefusedAtEveryStage) {
  for (SwitchStage stage : {SwitchStage::kPrepared, SwitchStage::kPaused, SwitchStage::kPointing,
                            SwitchStage::kSwitched, SwitchStage::kUndoing}) {
    SCOPED_TRACE(NameOf(stage));
    EXPECT_EQ(RecoverFromRecord(Interrupted(kRollback, stage), kCutover), Recovery::kRefuse);
    EXPECT_EQ(RecoverFromRecord(Interrupted(kCutover, stage), kRollback), Recovery::kRefuse);
  }
}

TEST(RecoverFromRecord, SwitchedIsFinished) {
  EXPECT_EQ(RecoverFromRecord(Interrupted(kCutover, SwitchStage::kSwitched), kCutover),
            Recovery::kFinish);
  EXPECT_EQ(RecoverFromRecord(Interrupted(kRollback, SwitchStage::kSwitched), kRollback),
            Recovery::kFinish);
}

TEST(RecoverFromRecord, PointingOrUndoingAsksTheProxy) {
  for (Side to : {kCutover, kRollback}) {
    EXPECT_EQ(RecoverFromRecord(Interrupted(to, SwitchStage::kPointing), to),
              Recovery::kAskTheProxy);
    EXPECT_EQ(RecoverFromRecord(Interrupted(to, SwitchStage::kUndoing), to),
              Recovery::kAskTheProxy);
  }
}

TEST(RecoverFromRecord, AnUndoThatSentTheApplicationBackIsOnlyEverUndone) {
  for (Side to : {kCutover, kRollback})
    for (UndoProgress progress : {UndoProgress::kOldSideBack, UndoProgress::kNewSideClean}) {
      SwitchRecord record = Interrupted(to, SwitchStage::kUndoing);
      record.undo = progress;
      EXPECT_EQ(RecoverFromRecord(record, to), Recovery::kUndo);
    }
}

TEST(RecoverFromRecord, BeforePointingItIsUndoneWithoutAskingTheProxy) {
  for (Side to : {kCutover, kRollback}) {
    EXPECT_EQ(RecoverFromRecord(Interrupted(to, SwitchStage::kPrepared), to), Recovery::kUndo);
    EXPECT_EQ(RecoverFromRecord(Interrupted(to, SwitchStage::kPaused), to), Recovery::kUndo);
  }
}

TEST(RecoverFromProxy, ASilentProxyDecidesNothing) {
  EXPECT_EQ(RecoverFromProxy(std::nullopt, kCutover), Recovery::kProxySilent);
  ProxyState stopped = SendsTo(kCutover);
  stopped.running = false;
  EXPECT_EQ(RecoverFromProxy(stopped, kCutover), Recovery::kProxySilent);
}

TEST(RecoverFromProxy, TrafficOnTheNewSideRollsForward) {
  EXPECT_EQ(RecoverFromProxy(SendsTo(kCutover), kCutover), Recovery::kRollForward);
  EXPECT_EQ(RecoverFromProxy(SendsTo(kCutover, /*paused=*/true), kCutover), Recovery::kRollForward);
  EXPECT_EQ(RecoverFromProxy(SendsTo(kRollback), kRollback), Recovery::kRollForward);
}

TEST(RecoverFromProxy, TrafficOnTheOldSideOrNowhereIsUndone) {
  EXPECT_EQ(RecoverFromProxy(SendsTo(kRollback), kCutover), Recovery::kUndo);
  EXPECT_EQ(RecoverFromProxy(SendsTo(kCutover), kRollback), Recovery::kUndo);
  // A paused HAProxy points at neither server.
  EXPECT_EQ(RecoverFromProxy(SendsTo(std::nullopt, /*paused=*/true), kCutover), Recovery::kUndo);
}

TEST(PlanUndo, ANewSideThatTookWritesBeforeAnythingWasPutBackRollsForward) {
  EXPECT_EQ(PlanUndo(kNothingPutBack, /*new_side_reachable=*/true, /*new_side_took_writes=*/true),
            UndoPlan::kRollForward);
}

TEST(PlanUndo, ANewSideWithoutWritesIsPutBackWithTheOldSide) {
  for (UndoProgress progress : {kNothingPutBack, UndoProgress::kOldSideBack}) {
    SCOPED_TRACE(NameOf(progress));
    EXPECT_EQ(PlanUndo(progress, /*new_side_reachable=*/true, /*new_side_took_writes=*/false),
              UndoPlan::kBothSides);
  }
}

// The application went back to the old side while the new side was out of reach (an operator
// gave the new side up): writes found there later mean both sides hold writes of their own.
TEST(PlanUndo, WritesOnTheNewSideOnceTheApplicationWentBackAreADivergenceNeverARollForward) {
  EXPECT_EQ(PlanUndo(UndoProgress::kOldSideBack, /*new_side_reachable=*/true,
                     /*new_side_took_writes=*/true),
            UndoPlan::kDiverged);
}

// The way back built: the new side was the primary, whatever its slot says now.
TEST(PlanUndo, AWayBackBuiltOnceTheApplicationWentBackIsADivergence) {
  for (bool took_writes : {false, true})
    EXPECT_EQ(PlanUndo(UndoProgress::kOldSideBack, /*new_side_reachable=*/true, took_writes,
                       /*way_back_built=*/true),
              UndoPlan::kDiverged);
}

TEST(PlanUndo, ANewSideFoundCleanIsNotAskedAgain) {
  EXPECT_TRUE(AskNewSideForWrites(kNothingPutBack, /*new_side_reachable=*/true));
  EXPECT_TRUE(AskNewSideForWrites(UndoProgress::kOldSideBack, /*new_side_reachable=*/true));
  EXPECT_FALSE(AskNewSideForWrites(UndoProgress::kNewSideClean, /*new_side_reachable=*/true));
  EXPECT_FALSE(AskNewSideForWrites(kNothingPutBack, /*new_side_reachable=*/false));
  // Putting it back may have written there (replication applying): it is put back all the same.
  EXPECT_EQ(PlanUndo(UndoProgress::kNewSideClean, /*new_side_reachable=*/true,
                     /*new_side_took_writes=*/true),
            UndoPlan::kBothSides);
}

TEST(PlanUndo, AnUnreachableNewSideLeavesOnlyTheOldSideToPutBack) {
  for (UndoProgress progress :
       {kNothingPutBack, UndoProgress::kOldSideBack, UndoProgress::kNewSideClean})
    for (bool took_writes : {false, true})
      EXPECT_EQ(PlanUndo(progress, /*new_side_reachable=*/false, took_writes),
                UndoPlan::kOldSideOnly);
}

TEST(OnUnreachable, WithoutAPendingSwitchOfItsOwnTheErrorIsTheAnswer) {
  EXPECT_EQ(OnUnreachable(std::nullopt, kCutover), Unreachable::kReport);
  EXPECT_EQ(OnUnreachable(Interrupted(kRollback, SwitchStage::kPaused), kCutover),
            Unreachable::kReport);
}

TEST(OnUnreachable, ItsOwnPendingSwitchAsksTheProxy) {
  for (SwitchStage stage : {SwitchStage::kPrepared, SwitchStage::kPaused, SwitchStage::kPointing,
                            SwitchStage::kSwitched, SwitchStage::kUndoing}) {
    SCOPED_TRACE(NameOf(stage));
    EXPECT_EQ(OnUnreachable(Interrupted(kCutover, stage), kCutover), Unreachable::kAskTheProxy);
    EXPECT_EQ(OnUnreachable(Interrupted(kRollback, stage), kRollback), Unreachable::kAskTheProxy);
  }
}

constexpr bool kOldSideAnswers = true;
constexpr bool kNewSideAnswers = true;

TEST(OnUnreachableProxy, ResumesOnTheOldSideWhenTheNewSideCannotHaveTakenWrites) {
  // PgBouncer paused while still naming the old side; HAProxy paused, naming neither; a proxy
  // already resumed on the old side.
  EXPECT_EQ(OnUnreachableProxy(SendsTo(kRollback, /*paused=*/true), kCutover, kNothingPutBack,
                               kOldSideAnswers, !kNewSideAnswers),
            Unreachable::kResumeOnOldSide);
  EXPECT_EQ(OnUnreachableProxy(SendsTo(std::nullopt, /*paused=*/true), kCutover, kNothingPutBack,
                               kOldSideAnswers, !kNewSideAnswers),
            Unreachable::kResumeOnOldSide);
  EXPECT_EQ(OnUnreachableProxy(SendsTo(kCutover), kRollback, kNothingPutBack, kOldSideAnswers,
                               !kNewSideAnswers),
            Unreachable::kResumeOnOldSide);
}

TEST(OnUnreachableProxy, WaitsForTheNewSideTheApplicationIsAlreadySentTo) {
  // Sent there, or held there (paused after pointing): it may hold writes, whatever the old
  // side says.
  for (bool paused : {false, true})
    for (bool old_side_answers : {true, false}) {
      EXPECT_EQ(OnUnreachableProxy(SendsTo(kCutover, paused), kCutover, kNothingPutBack,
                                   old_side_answers, !kNewSideAnswers),
                Unreachable::kWaitForNewSide);
      EXPECT_EQ(OnUnreachableProxy(SendsTo(kRollback, paused), kRollback, kNothingPutBack,
                                   old_side_answers, !kNewSideAnswers),
                Unreachable::kWaitForNewSide);
    }
}

// Once the undo chose the old side (the application sent back, or the new side found without its
// writes), the new side out of reach is no reason to hold the application.
TEST(OnUnreachableProxy, AnUndoThatChoseTheOldSideResumesThereWhereverTheProxyPoints) {
  for (UndoProgress progress : {UndoProgress::kOldSideBack, UndoProgress::kNewSideClean})
    for (bool paused : {false, true}) {
      EXPECT_EQ(OnUnreachableProxy(SendsTo(kCutover, paused), kCutover, progress, kOldSideAnswers,
                                   !kNewSideAnswers),
                Unreachable::kResumeOnOldSide);
      EXPECT_EQ(OnUnreachableProxy(SendsTo(kCutover, paused), kCutover, progress, !kOldSideAnswers,
                                   !kNewSideAnswers),
                Unreachable::kCannotYet);
    }
  EXPECT_EQ(OnUnreachableProxy(std::nullopt, kCutover, UndoProgress::kOldSideBack, kOldSideAnswers,
                               !kNewSideAnswers),
            Unreachable::kCannotYet);
}

TEST(OnUnreachableProxy, ChangesNothingWithoutTheFactsToDoItSafely) {
  ProxyState stopped = SendsTo(kRollback);
  stopped.running = false;
  for (bool new_side_answers : {true, false}) {
    EXPECT_EQ(OnUnreachableProxy(std::nullopt, kCutover, kNothingPutBack, kOldSideAnswers,
                                 new_side_answers),
              Unreachable::kCannotYet);
    EXPECT_EQ(
        OnUnreachableProxy(stopped, kCutover, kNothingPutBack, kOldSideAnswers, new_side_answers),
        Unreachable::kCannotYet);
    // There is nowhere to send it back to.
    EXPECT_EQ(OnUnreachableProxy(SendsTo(kRollback, /*paused=*/true), kCutover, kNothingPutBack,
                                 !kOldSideAnswers, new_side_answers),
              Unreachable::kCannotYet);
  }
  // The application writes to the new side, which answers: finishing waits for the old side.
  EXPECT_EQ(OnUnreachableProxy(SendsTo(kCutover), kCutover, kNothingPutBack, !kOldSideAnswers,
                               kNewSideAnswers),
            Unreachable::kCannotYet);
}

}  // namespace
}  // namespace dbr
