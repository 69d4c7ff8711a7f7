#include "core/switch_decisions.h"

namespace dbr {

Recovery RecoverFromRecord(const SwitchRecord& interrupted, Side to) {
  if (interrupted.to != to) return Recovery::kRefuse;
  if (interrupted.stage == SwitchStage::kSwitched) return Recovery::kFinish;
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

UndoPlan PlanUndo(bool new_side_reachable, bool new_side_took_writes) {
  if (!new_side_reachable) return UndoPlan::kOldSideOnly;
  return new_side_took_writes ? UndoPlan::kRollForward : UndoPlan::kBothSides;
}

Unreachable OnUnreachable(const std::optional<SwitchRecord>& pending, Side to) {
  return pending && pending->to == to ? Unreachable::kAskTheProxy : Unreachable::kReport;
}

Unreachable OnUnreachableProxy(const std::optional<ProxyState>& proxy, Side to,
                               bool old_side_reachable, bool new_side_reachable) {
  if (!proxy || !proxy->running) return Unreachable::kCannotYet;
  // The application may have written to the new side already.
  if (proxy->active == to)
    return new_side_reachable ? Unreachable::kCannotYet : Unreachable::kWaitForNewSide;
  if (!old_side_reachable) return Unreachable::kCannotYet;
  return Unreachable::kResumeOnOldSide;
}

}  // namespace dbr
