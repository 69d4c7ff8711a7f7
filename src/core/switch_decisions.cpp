#include "core/switch_decisions.h"

namespace dbr {

Recovery RecoverFromRecord(const SwitchRecord& interrupted, Side to) {
  if (interrupted.to != to) return Recovery::kRefuse;
  if (interrupted.stage == SwitchStage::kSwitched) return Recovery::kFinish;
  // An undo that sent the application back to the old side can only be finished as an undo.
  if (interrupted.undo != UndoProgress::kNone) return Recovery::kUndo;
  // Pointing: the proxy may have been pointed at the new side and resumed there before the
  // kill. Undoing: an undo that found the new side took writes rolls forward instead.
  if (interrupted.stage == SwitchStage::kPointing || interrupted.stage == SwitchStage::kUndoing)
    return Recovery::kAskTheProxy;
  return Recovery::kUndo;
}

Recovery RecoverFromProxy(const std::optional<ProxyState>& proxy, Side to) {
  if (!proxy || !proxy->running) return Recovery::kProxySilent;
  return proxy->active == to ? Recovery::kRollForward : Recovery::kUndo;
}

bool AskNewSideForWrites(UndoProgress progress, bool new_side_reachable) {
  return new_side_reachable && progress != UndoProgress::kNewSideClean;
}

UndoPlan PlanUndo(UndoProgress progress, bool new_side_reachable, bool new_side_took_writes,
                  bool way_back_built) {
  if (!new_side_reachable) return UndoPlan::kOldSideOnly;
  if (progress != UndoProgress::kNone && way_back_built) return UndoPlan::kDiverged;
  if (!AskNewSideForWrites(progress, new_side_reachable) || !new_side_took_writes)
    return UndoPlan::kBothSides;
  return progress == UndoProgress::kNone ? UndoPlan::kRollForward : UndoPlan::kDiverged;
}

Unreachable OnUnreachable(const std::optional<SwitchRecord>& pending, Side to) {
  return pending && pending->to == to ? Unreachable::kAskTheProxy : Unreachable::kReport;
}

Unreachable OnUnreachableProxy(const std::optional<ProxyState>& proxy, Side to,
                               UndoProgress progress, bool old_side_reachable,
                               bool new_side_reachable) {
  if (!proxy || !proxy->running) return Unreachable::kCannotYet;
  // The undo already chose the old side: the new side holds nothing the application needs.
  if (progress != UndoProgress::kNone)
    return old_side_reachable ? Unreachable::kResumeOnOldSide : Unreachable::kCannotYet;
  // The application may have written to the new side already.
  if (proxy->active == to)
    return new_side_reachable ? Unreachable::kCannotYet : Unreachable::kWaitForNewSide;
  if (!old_side_reachable) return Unreachable::kCannotYet;
  return Unreachable::kResumeOnOldSide;
}

}  // namespace dbr
