// The engine's part of a switch (core/switch.cpp): what a cut-over or a rollback does on the two
// databases, while the switch itself (its stages, the proxy, the record in the state, the
// heartbeat writer, recovery after a crash) is the same for every engine. One method per stage
// that touches a server; core/postgres_switch.cpp and core/mysql_switch.cpp implement them side
// by side. `from` is the old side (the application writes there when the switch starts), `to`
// the new one. Every method is safe to run again after a crash, looking at what exists first.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "model/run_state.h"
#include "model/side.h"
#include "model/timings.h"
#include "util/clock.h"
#include "util/status.h"

namespace dbr {

// What the engine's switch shares with the switch: the relocation's state (its record
// `state.switching` exists from SwitchStage::kPrepared on) and the store that saves it.
struct SwitchContext {
  const Config& config;
  Clock& clock;
  const Timings& timings;
  StateStore& store;
  RunState& state;
  Side from, to;

  // The replication user's password: upgrade.password, else the one `run` generated.
  std::string ReplicationPassword() const {
    return config.upgrade.password.empty() ? state.replication_password : config.upgrade.password;
  }
};

class EngineSwitch {
 public:
  virtual ~EngineSwitch() = default;

  // Control sessions to both sides, opened where missing or broken; both are tried, so that the
  // error names every side that cannot be reached.
  virtual Status Connect() = 0;
  virtual bool Reachable(Side side) = 0;  // its session answers

  // Before anything changes: the new side can take the writes and carry them back, and the
  // replication into it flows (the heartbeat writer runs while it is measured).
  virtual Status CheckReady() = 0;
  // Reversible and harmless, before the pause: the return path's user and publications, logins,
  // whatever can be brought level ahead so that the pause pays less.
  virtual Status PrepareReturnPath() = 0;

  // The fence: what keeps the application from writing to a side. The switch records it in
  // state.fenced before it is set, so that a crash can be undone, and lifts it on the new side
  // (the old side of a former switch) inside the pause.
  // What the fence of `side` sets, with the values it replaces.
  virtual Result<std::vector<FencedRole>> ReadFence(Side side) = 0;
  // Sets it, and ends the sessions it would not hold.
  virtual Status ApplyFence(Side side, const std::vector<FencedRole>& fence) = 0;
  // Puts back the values it replaced.
  virtual Status LiftFence(Side side, const std::vector<FencedRole>& fence) = 0;

  // Inside the write pause, in this order (after the old side's fence).
  // The old side's last write applied on the new side, durably; the marker and its position in
  // state.switching.
  virtual Status Drain() = 0;
  // What replication does not carry, made equal on the new side (sequences, counters, ...).
  virtual Status CopyWhatReplicationMisses() = 0;
  // The new side stops following the old one and keeps the point from which the old side will
  // follow it; nothing writes to the new side from here until the proxy resumes.
  virtual Status TurnReplicationAround() = 0;

  // Once the application writes to the new side: the old side follows it from the point kept by
  // TurnReplicationAround, and what carried the writes the other way is removed.
  virtual Status BuildWayBack() = 0;
  // Waits until the way back carries the new side's writes (a switch is not done before).
  virtual Status WayBackStreams() = 0;
  // After the switch is recorded as done: what follows the application to the new side. Its
  // failure is warned about, the switch staying done; it is run again, by the same command run
  // again, until it succeeds, so it must finish what an earlier, interrupted run started.
  virtual Status AfterSwitch() = 0;
  // The way back, for the summary: "subscriptions a, b" or "replication db_relocate".
  virtual std::string WayBackName() const = 0;

  // Undoing a switch.
  // Whether the new side took writes after the point TurnReplicationAround kept: then the
  // application wrote there, and the switch may only go forward (or, once the application was
  // sent back to the old side, the two have diverged).
  virtual Result<bool> NewSideTookWrites() = 0;
  // The new side as before the switch, following the old side again (the switch puts its former
  // fence back).
  virtual Status PutBackNewSide() = 0;
  // When the way back was built (the old side follows the new one), stops it, keeping it, and
  // answers true: the new side was the primary, and can no longer be put back. False when there
  // is none.
  virtual Result<bool> StopWayBack() = 0;
};

// The engine switch of `ctx.config.engine` (core/engine.cpp's table of engines).
std::unique_ptr<EngineSwitch> MakeEngineSwitch(const SwitchContext& ctx);
std::unique_ptr<EngineSwitch> MakePostgresSwitch(const SwitchContext& ctx);  // postgres_switch.cpp
std::unique_ptr<EngineSwitch> MakeMysqlSwitch(const SwitchContext& ctx);     // mysql_switch.cpp

}  // namespace dbr
