// The choices of a switch (core/switch.cpp) that depend on facts alone: what its record says,
// what the proxy reports, whether the new side answers and took writes. Pure, so that each one
// is unit-tested (tests/unit/switch_decisions_test.cpp); core/switch.cpp reads the facts, asks
// these, and acts. `to` is always the side the command switches to (its new side).
#pragma once

#include <optional>

#include "model/run_state.h"
#include "model/side.h"
#include "proxy/proxy.h"

namespace dbr {

// What a command does with a switch it finds recorded but not finished (it was killed, or a
// server was lost).
enum class Recovery {
  kRefuse,       // it is the other command's: that command must finish or undo it first
  kFinish,       // it was recorded as switched: only the bookkeeping is left
  kAskTheProxy,  // the proxy may send the application to the new side already: ask it
  kProxySilent,  // ... and it does not answer: nothing is decided from a proxy that is silent
  kRollForward,  // the proxy sends the application to the new side: finish the switch there
  kUndo,         // put everything back as it was before the switch
};

// From the record: kRefuse, kFinish, kUndo, or kAskTheProxy (pointing, or undoing before the
// application was sent back to the old side).
Recovery RecoverFromRecord(const SwitchRecord& interrupted, Side to);
// After kAskTheProxy, from its answer (nullopt: it could not be read): kProxySilent,
// kRollForward or kUndo.
Recovery RecoverFromProxy(const std::optional<ProxyState>& proxy, Side to);

// What undoing a switch does, from how far it got and what the new side says.
enum class UndoPlan {
  kRollForward,  // the new side took writes after its return slot was made, before anything was
                 // put back: the application wrote there, so the switch may only go forward
  kDiverged,     // the new side took writes, and the application was sent back to the old side
                 // while it was out of reach: each side may hold writes the other lacks, so the
                 // switch can be neither finished nor undone
  kBothSides,    // the new side and then the old side are put back
  kOldSideOnly,  // the new side does not answer: the old side is put back (when the proxy says
                 // the new side cannot have taken writes: OnUnreachableProxy) and the switch
                 // stays recorded, to be undone on the new side by the command run again
};
// Whether the new side is asked if it took writes: not once it was found without them (putting
// it back may write there: MariaDB's replication logs what it applies).
bool AskNewSideForWrites(UndoProgress progress, bool new_side_reachable);
// `new_side_took_writes` matters only where AskNewSideForWrites. `way_back_built`: the old side
// followed the new one (the switch got past its last stage but one), so the new side was the
// primary: once the application went back, that is a divergence too.
UndoPlan PlanUndo(UndoProgress progress, bool new_side_reachable, bool new_side_took_writes,
                  bool way_back_built = false);

// A command that cannot connect to both sides.
enum class Unreachable {
  kReport,           // no switch of its own is pending: the connection error is the answer
  kAskTheProxy,      // its own switch is pending: the application may be held by the proxy
  kCannotYet,        // the proxy does not answer, or the old side does not answer while the
                     // proxy does not send the application to the new side: nothing is changed
  kWaitForNewSide,   // the proxy sends the application to the new side (or holds it there) and
                     // the new side does not answer: it may hold writes, so only it can finish or
                     // undo the switch; nothing is changed
  kResumeOnOldSide,  // the new side cannot have taken writes: the application goes back to the
                     // old side now, and the command run again undoes the rest
};

// From the pending record: kReport or kAskTheProxy.
Unreachable OnUnreachable(const std::optional<SwitchRecord>& pending, Side to);
// After kAskTheProxy, from its answer (nullopt: it could not be read), how far an undo went and
// which sides answer: kCannotYet, kWaitForNewSide or kResumeOnOldSide.
Unreachable OnUnreachableProxy(const std::optional<ProxyState>& proxy, Side to,
                               UndoProgress progress, bool old_side_reachable,
                               bool new_side_reachable);

}  // namespace dbr
