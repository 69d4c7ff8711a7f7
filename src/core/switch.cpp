#include "core/switch.h"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <optional>

#include "core/engine_switch.h"
#include "core/heartbeat_writer.h"
#include "core/switch_decisions.h"
#include "core/switch_ready.h"
#include "engine/heartbeat.h"
#include "engine/large_objects.h"
#include "model/servers.h"
#include "model/timings.h"
#include "proxy/proxy.h"
#include "util/clock.h"
#include "util/fault.h"
#include "util/files.h"
#include "util/log.h"

namespace dbr {
namespace {

using std::chrono::milliseconds;

// What the proxy reported, or nullopt when it could not be read.
std::optional<ProxyState> AnswerOf(const Result<ProxyState>& inspected) {
  return inspected.ok() ? std::optional<ProxyState>(*inspected) : std::nullopt;
}

struct Switch {
  const Config& config;
  Clock& clock;
  const Timings timings;
  StateStore store;
  RunState state;
  Side from, to;
  std::unique_ptr<Proxy> proxy;
  std::unique_ptr<EngineSwitch> sides;
  Clock::TimePoint paused_at;  // when the proxy was asked to pause

  Switch(const Config& c, Side target, Clock& clock, Timings timings)
      : config(c),
        clock(clock),
        timings(std::move(timings)),
        store(c.state_dir),
        from(Other(target)),
        to(target),
        sides(MakeEngineSwitch({config, clock, this->timings, store, state, from, to})) {}

  std::string Verb() const { return SwitchName(to); }

  Status Save() { return store.Save(state); }

  // ---- Before anything changes -------------------------------------------------------------

  Status CheckReady() {
    DBR_RETURN_IF_ERROR(ProxyIsReady(*proxy, from));
    if (!state.sequences_set)
      return Status::Error("sequences were never set on the destination: finish `run` first");
    return sides->CheckReady();
  }

  Status PrepareReturnPath() { return sides->PrepareReturnPath(); }

  // The heartbeat writer writes to the old side through no proxy: stop it first.
  Status StopHeartbeat() { return StopHeartbeatWriter(store); }

  // From here to ResumeProxy the proxy holds the application's writes: the write pause.
  Status PauseProxy() {
    paused_at = clock.Now();
    return proxy->Pause(milliseconds(static_cast<int64_t>(config.cutover.pause_timeout * 1000)));
  }

  // ---- While paused ------------------------------------------------------------------------

  Status FenceOldSide() {
    if (config.cutover.fence == FenceMode::kNone) return Status::Ok();
    // Recorded before it changes anything, so that a crash can be undone.
    if (state.fenced[from].empty()) {
      DBR_ASSIGN_OR_RETURN(state.fenced[from], sides->ReadFence(from));
      DBR_RETURN_IF_ERROR(Save());
    }
    return sides->ApplyFence(from, state.fenced[from]);
  }

  Status Drain() { return sides->Drain(); }

  // The new side's fence from the last switch (it was the old side then), lifted. Recorded in
  // the switch first, so that undoing it puts the fence back even after a crash.
  Status LiftNewSideFence() {
    auto it = state.fenced.find(to);
    if (it == state.fenced.end() || it->second.empty()) return Status::Ok();
    state.switching->lifted_fence = it->second;
    DBR_RETURN_IF_ERROR(Save());
    return LiftFenceOn(to);
  }

  Status LiftFenceOn(Side side) {
    auto it = state.fenced.find(side);
    if (it == state.fenced.end() || it->second.empty()) return Status::Ok();
    DBR_RETURN_IF_ERROR(sides->LiftFence(side, it->second));
    state.fenced.erase(it);
    return Save();
  }
  Status CopyWhatReplicationMisses() { return sides->CopyWhatReplicationMisses(); }
  Status TurnReplicationAround() { return sides->TurnReplicationAround(); }

  Status PointProxyAtNewSide() { return proxy->PointTo(BackendOf(config, to)); }

  Status ResumeProxy() {
    DBR_RETURN_IF_ERROR(proxy->Resume());
    state.switching->pause_ms =
        std::chrono::duration<double, std::milli>(clock.Now() - paused_at).count();
    return Status::Ok();
  }

  // ---- Undo and finish ---------------------------------------------------------------------

  // Puts everything back as it was before the switch began; safe to run more than once. What
  // cannot be put back keeps the switch recorded, so that running the command again goes on.
  Status Undo() {
    Status result = Record(SwitchStage::kUndoing);
    KeepFirstError(result, sides->Connect());  // a server restarted: do not give up on a blip
    const UndoProgress progress = state.switching->undo;
    const bool new_side_reachable = sides->Reachable(to);
    bool took_writes = false, way_back_built = false;
    if (AskNewSideForWrites(progress, new_side_reachable)) {
      // Asked while the proxy sends nothing there, so that the answer holds.
      if (progress == UndoProgress::kNone) DBR_RETURN_IF_ERROR(HoldApplicationOffNewSide());
      DBR_ASSIGN_OR_RETURN(took_writes, sides->NewSideTookWrites());
      if (progress != UndoProgress::kNone) {
        DBR_ASSIGN_OR_RETURN(way_back_built, sides->StopWayBack());
      }
    }
    switch (PlanUndo(progress, new_side_reachable, took_writes, way_back_built)) {
      case UndoPlan::kRollForward:
        log::warn("the {} took writes after the switch: finishing it instead of undoing it",
                  SideName(to));
        return RollForward();
      case UndoPlan::kDiverged:
        return Diverged(ResumeOnOldSide());
      case UndoPlan::kBothSides:
        DBR_RETURN_IF_ERROR(RecordUndo(UndoProgress::kNewSideClean));
        KeepFirstError(result, PutBackNewSide());
        break;
      case UndoPlan::kOldSideOnly: {
        const Status why = Status::Error(std::string("the ") + SideName(to) + " cannot be reached");
        if (Status asked = MayResumeOnOldSide(why); !asked.ok()) return asked;
        KeepFirstError(result, why);
        break;
      }
    }
    KeepFirstError(result, ResumeOnOldSide());
    if (result.ok()) state.switching.reset();
    KeepFirstError(result, Save());
    KeepFirstError(result, EnsureHeartbeatWriter(config, store));
    return result;
  }

  // The proxy lets no new work reach the new side: held when it sends the application there.
  Status HoldApplicationOffNewSide() {
    auto inspected = proxy->Inspect();
    if (!inspected.ok())
      return inspected.status().Wrap("reading the proxy before undoing the " + Verb());
    if (!inspected->running || inspected->paused || inspected->active != to) return Status::Ok();
    return PauseProxy();
  }

  // Recorded before the undo changes a side: from here the switch is only undone, and the old
  // side is the primary again.
  Status RecordUndo(UndoProgress progress) {
    state.switching->undo = progress;
    state.primary = from;
    return Save();
  }

  // The application on the old side: its fence lifted, the proxy sent there and resumed. Not
  // resumed while the proxy may still send it to the new side.
  Status ResumeOnOldSide() {
    if (state.switching->undo == UndoProgress::kNone)
      DBR_RETURN_IF_ERROR(RecordUndo(UndoProgress::kOldSideBack));
    Status result;
    if (sides->Reachable(from)) {
      // The new side's writes must not reach the old side once it takes the application's.
      Result<bool> stopped = sides->StopWayBack();
      KeepFirstError(result, stopped.status());
      if (stopped.ok()) KeepFirstError(result, LiftFenceOn(from));
    } else {
      KeepFirstError(result,
                     Status::Error(std::string("the ") + SideName(from) + " cannot be reached"));
    }
    Status pointed = proxy->PointTo(BackendOf(config, from));
    KeepFirstError(result, pointed);
    if (pointed.ok()) KeepFirstError(result, proxy->Resume());
    return result;
  }

  // Both sides took writes of their own; the switch stays recorded (the same answer each time).
  Status Diverged(const Status& resumed) {
    return Status::Error(fmt::format(
        "the {to} took writes during the interrupted {verb}, and the application was sent back "
        "to the {from} while the {to} was out of reach: each may hold writes the other lacks, so "
        "the {verb} can be neither finished nor undone. {where} The {to}'s own writes are there "
        "only: save what you need of them. The {to} is no longer a copy of the {from}: run "
        "`db_relocate cleanup` soon (with PostgreSQL, the {from}'s replication slot for the {to} "
        "keeps WAL until then); to relocate again, empty the {to}'s database, then `db_relocate "
        "run`.",
        fmt::arg("to", SideName(to)), fmt::arg("from", SideName(from)), fmt::arg("verb", Verb()),
        fmt::arg("where",
                 resumed.ok()
                     ? fmt::format("The application writes to the {}.", SideName(from))
                     : fmt::format("Sending the application to the {} failed ({}); run the "
                                   "command again.",
                                   SideName(from), resumed.message()))));
  }

  // The new side as before the switch, with the fence this switch lifted (it was the old side of
  // the last one) back on.
  Status PutBackNewSide() {
    Status result = sides->PutBackNewSide();
    const std::vector<FencedRole>& lifted = state.switching->lifted_fence;
    if (!lifted.empty()) {
      KeepFirstError(result, sides->ApplyFence(to, lifted));
      state.fenced[to] = lifted;
    }
    return result;
  }

  // The proxy sends (or is to send) the application to the new side: finish there.
  Status RollForward() {
    DBR_RETURN_IF_ERROR(proxy->PointTo(BackendOf(config, to)));
    DBR_RETURN_IF_ERROR(proxy->Resume());
    DBR_RETURN_IF_ERROR(Record(SwitchStage::kSwitched));
    return Finish();
  }

  // After the proxy points at the new side: what remains is bookkeeping that can be redone.
  Status Finish() {
    DBR_RETURN_IF_ERROR(sides->BuildWayBack());
    CrashPoint("switch:finishing");
    DBR_RETURN_IF_ERROR(EnsureHeartbeatWriter(config, store));
    // Not done before the way back carries the application's writes.
    DBR_RETURN_IF_ERROR(sides->WayBackStreams());
    state.switching->stage = SwitchStage::kDone;
    state.switching->finished_at = NowUtc();
    state.switching->lifted_fence.clear();  // lifted for good
    state.switching->follow_up_pending = true;
    state.switches.push_back(*state.switching);
    state.switching.reset();
    DBR_RETURN_IF_ERROR(Save());
    CrashPoint("switch:done");
    return FollowUp();
  }

  // What follows the application to the new side (EngineSwitch::AfterSwitch), after a switch
  // recorded as done. A failure is warned about and left pending for the same command run again.
  Status FollowUp() {
    if (Status followed = sides->AfterSwitch(); !followed.ok()) {
      log::warn("the {} takes the writes, but {}; run `db_relocate {}` again to retry",
                SideName(to), followed.message(), SwitchCommand(to));
      return Status::Ok();
    }
    state.switches.back().follow_up_pending = false;
    return Save();
  }

  // ---- What a failed stage becomes (the `undo` of kStages) ---------------------------------

  // The proxy did not pause (it resumed by itself): only the record and the stopped heartbeat
  // writer have changed.
  Status Abandon(const Status& failure) {
    state.switching.reset();
    (void)Save();
    (void)EnsureHeartbeatWriter(config, store);
    return failure.Wrap(Verb() + " abandoned");
  }

  // The proxy holds the application's writes, or sends them nowhere yet: everything goes back.
  Status PutBack(const Status& failure) {
    Status undone = Undo();
    return failure.Wrap(fmt::format(
        "{} failed, {}", Verb(),
        undone.ok() ? fmt::format("traffic is back on the {}; nothing was lost", SideName(from))
                    : "and putting things back failed too (" + undone.message() +
                          "); run the same command again"));
  }

  // The application writes to the new side: what is left is redone by the command run again.
  Status FinishLater(const Status& failure) {
    return failure.Wrap("the application now writes to the " + std::string(SideName(to)) +
                        ", but finishing failed; run the same command again to finish");
  }

  // ---- The sequence ------------------------------------------------------------------------

  // Records the switch at `stage`: the first stage starts its record, and a switched one makes
  // the new side the primary.
  Status Record(SwitchStage stage) {
    if (stage == SwitchStage::kPrepared)
      state.switching = SwitchRecord{.to = to, .started_at = NowUtc()};
    state.switching->stage = stage;
    if (stage == SwitchStage::kSwitched) state.primary = to;
    return Save();
  }

  // Runs kStages (below), the switch proper.
  Status RunStages();

  Status Run() {
    DBR_ASSIGN_OR_RETURN(proxy, MakeProxy(config));
    DBR_ASSIGN_OR_RETURN(state, store.Load());
    DBR_RETURN_IF_ERROR(StateBelongsToConfig(config, state));
    if (state.current_step != "replicating" && state.switches.empty() && !state.switching)
      return Status::Error("the relocation is not replicating yet (step: " +
                           (state.current_step.empty() ? "none" : state.current_step) +
                           "): run `db_relocate run` to the end first");
    if (Status connected = sides->Connect(); !connected.ok()) return WhenUnreachable(connected);

    const bool interrupted = state.switching.has_value();
    if (interrupted) DBR_RETURN_IF_ERROR(Recover());
    if (state.primary == to) {
      const bool follow_up = !interrupted && !state.switches.empty() &&
                             state.switches.back().to == to &&
                             state.switches.back().follow_up_pending;
      if (follow_up) DBR_RETURN_IF_ERROR(FollowUp());
      if (interrupted)
        std::cout << fmt::format(
            "Finished the interrupted {}: the application writes to the {} (write pause {:.0f} "
            "ms, as recorded).\n",
            Verb(), SideName(to), state.switches.empty() ? 0.0 : state.switches.back().pause_ms);
      else if (follow_up)
        std::cout << fmt::format(
            "The application already writes to the {}; what the {} left to do after it {}.\n",
            SideName(to), Verb(),
            state.switches.back().follow_up_pending ? "failed again (see the warning)"
                                                    : "is done now");
      else
        std::cout << fmt::format("The application already writes to the {}; nothing to do.\n",
                                 SideName(to));
      return Status::Ok();
    }

    DBR_RETURN_IF_ERROR(RunStages());
    const SwitchRecord& done = state.switches.back();
    std::cout << fmt::format(
        "{} done: the application writes to the {} ({}:{}).\n"
        "  write pause: {:.0f} ms (proxy paused -> resumed)\n"
        "  last write on the {}: heartbeat {} at {}, applied before the switch\n"
        "  return replication: {} -> {} ({}), so `{}` loses nothing\n",
        to == Side::kDestination ? "Cut-over" : "Rollback", SideName(to), ServerOf(config, to).host,
        ServerOf(config, to).port, done.pause_ms, SideName(from), done.marker, done.lsn,
        SideName(to), SideName(from), sides->WayBackName(), SwitchCommand(from));
    if (!done.large_objects.None())
      std::cout << "  large objects, inside the pause: " << Describe(done.large_objects) << "\n";
    return Status::Ok();
  }

  // A switch interrupted by a crash: finish it when the proxy already sends traffic to its
  // target, else undo it. Only the command that was interrupted does that.
  Status Recover() {
    Recovery what = RecoverFromRecord(*state.switching, to);
    if (what == Recovery::kRefuse)
      return Status::Error(fmt::format("{}: run `db_relocate {}` again first, to finish or undo it",
                                       state.switching->Interrupted(),
                                       SwitchCommand(state.switching->to)));
    log::warn("an interrupted {} (stage {}) was found", Verb(), state.switching->stage);
    if (what == Recovery::kAskTheProxy) {
      auto ps = proxy->Inspect();
      what = RecoverFromProxy(AnswerOf(ps), to);
      if (what == Recovery::kProxySilent)
        return Status::Error(fmt::format(
            "cannot read the proxy to finish or undo the interrupted {} ({}); run the command "
            "again once it answers",
            Verb(), ps.ok() ? ps->detail : ps.message()));
    }
    if (what == Recovery::kFinish) {
      Status finished = Finish();
      return finished.ok() ? finished : FinishLater(finished);
    }
    if (what == Recovery::kRollForward) return RollForward();
    DBR_RETURN_IF_ERROR(Undo().Wrap("undoing the interrupted " + Verb()));
    log::info("the interrupted {} was undone; traffic is on the {}", Verb(), SideName(from));
    return Status::Ok();
  }

  // Both sides could not be reached. The application must not wait at a proxy paused by an
  // interrupted switch of this command: when the new side cannot have taken writes, traffic goes
  // back to the old side now; the switch stays recorded as undoing, and the command run again
  // once the new side is back finishes the undo there.
  Status WhenUnreachable(const Status& why) {
    if (OnUnreachable(state.switching, to) == Unreachable::kReport) return why;
    DBR_RETURN_IF_ERROR(MayResumeOnOldSide(why));
    DBR_RETURN_IF_ERROR(Record(SwitchStage::kUndoing));
    DBR_RETURN_IF_ERROR(ResumeOnOldSide());
    (void)EnsureHeartbeatWriter(config, store);
    return why.Wrap(fmt::format(
        "the interrupted {} could not be undone on the {}, but the application is back on the "
        "{}; run the same command again once the {} answers",
        Verb(), SideName(to), SideName(from), SideName(to)));
  }

  // With the new side out of reach (`why`): ok when the application may go back to the old side
  // (the proxy says the new side cannot have taken writes, or the undo already chose the old
  // side); else why not, changing nothing.
  Status MayResumeOnOldSide(const Status& why) {
    auto inspected = proxy->Inspect();
    const Unreachable what = OnUnreachableProxy(AnswerOf(inspected), to, state.switching->undo,
                                                sides->Reachable(from), sides->Reachable(to));
    if (what == Unreachable::kWaitForNewSide) return WaitForNewSide(why, inspected->paused);
    if (what != Unreachable::kResumeOnOldSide)
      return why.Wrap("an interrupted " + Verb() + " cannot be finished or undone yet");
    return Status::Ok();
  }

  // The proxy sends the application to the new side (or holds it for it), and the new side does
  // not answer: it may hold writes that exist nowhere else, so nothing is decided without it.
  // Says what the command waits for and the ways on; changes nothing.
  Status WaitForNewSide(const Status& why, bool proxy_paused) {
    const ServerConfig& server = ServerOf(config, to);
    const std::string at = fmt::format("{}:{}", server.host, server.port);
    return Status::Error(fmt::format(
        "the interrupted {verb} can be neither finished nor undone: the proxy already {sends} "
        "the {to} ({at}), which does not answer ({why}). Nothing was changed.\n"
        "`db_relocate {cmd}` waits for the {to} at {at}: it alone may hold writes the "
        "application made since the switch. Ways on:\n"
        "  1. bring the {to} back at {at}, then run `db_relocate {cmd}` again: it finishes or "
        "undoes the {verb}, losing nothing;\n"
        "  2. only if the {to} is lost for good: point the proxy back at the {from} by hand "
        "({how}), "
        "then run `db_relocate {cmd}` again: it lifts the fence on the {from} and the "
        "application writes there. This LOSES every write the application made on the {to} "
        "since the {verb} started ({started}).",
        fmt::arg("verb", Verb()),
        fmt::arg("sends",
                 proxy_paused ? "holds the application's writes for" : "sends the application to"),
        fmt::arg("to", SideName(to)), fmt::arg("at", at), fmt::arg("why", why.message()),
        fmt::arg("cmd", SwitchCommand(to)), fmt::arg("from", SideName(from)),
        fmt::arg("how", proxy->HowToPointTo(BackendOf(config, from))),
        fmt::arg("started", state.switching->started_at)));
  }
};

// One stage of the switch.
struct Stage {
  // The SwitchStage recorded in the state before the stage runs, where one begins here.
  std::optional<SwitchStage> records;
  // Where the tests kill the process (DBR_CRASH_AT), right after the stage is recorded.
  const char* crash_point;
  Status (Switch::*does)();
  // What a failure of the stage, or of recording it, becomes; none: it is returned as it is.
  Status (Switch::*undo)(const Status& failure);
};

constexpr std::optional<SwitchStage> kSameStage = std::nullopt;

// The switch, in order. Before the proxy pauses, a failure has nothing to undo (a recorded
// switch is undone by the command run again); a pause the proxy refuses abandons the switch;
// while the proxy holds the application's writes, a failure puts everything back; once the
// application writes to the new side, what is left is finished by the command run again.
// clang-format off
const Stage kStages[] = {
    // records                crash point        does                               undo
    {kSameStage,              nullptr,           &Switch::CheckReady,               nullptr},
    {kSameStage,              nullptr,           &Switch::PrepareReturnPath,        nullptr},
    {SwitchStage::kPrepared,  nullptr,           &Switch::StopHeartbeat,            nullptr},
    {kSameStage,              nullptr,           &Switch::PauseProxy,               &Switch::Abandon},
    {SwitchStage::kPaused,    "switch:paused",   &Switch::FenceOldSide,             &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::Drain,                    &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::LiftNewSideFence,         &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::CopyWhatReplicationMisses, &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::TurnReplicationAround,    &Switch::PutBack},
    {SwitchStage::kPointing,  "switch:pointing", &Switch::PointProxyAtNewSide,      &Switch::PutBack},
    {kSameStage,              nullptr,           &Switch::ResumeProxy,              &Switch::PutBack},
    {SwitchStage::kSwitched,  "switch:switched", &Switch::Finish,                   &Switch::FinishLater},
};
// clang-format on

Status Switch::RunStages() {
  for (const Stage& stage : kStages) {
    Status st = stage.records ? Record(*stage.records) : Status::Ok();
    if (stage.crash_point != nullptr) CrashPoint(stage.crash_point);
    if (st.ok()) st = (this->*stage.does)();
    if (!st.ok()) return stage.undo != nullptr ? (this->*stage.undo)(st) : st;
  }
  return Status::Ok();
}

}  // namespace

Status RunSwitch(const Config& config, Side to) {
  DBR_RETURN_IF_ERROR(HasCutoverBlock(config));
  DBR_RETURN_IF_ERROR(EnsureDirectory(config.state_dir));
  auto lock = StateStore(config.state_dir).Lock();
  if (!lock.ok()) return lock.status();
  Switch s(config, to, RealClock(), Timings::Default());
  return s.Run();
}

}  // namespace dbr
