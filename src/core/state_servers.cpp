#include "core/state_servers.h"

#include <optional>

#include "engine/server_identity.h"
#include "model/servers.h"
#include "util/files.h"
#include "util/log.h"

namespace dbr {
namespace {

// A quick look: an unreachable side is the command's to report, with its own timeouts.
constexpr int kConnectTimeoutSeconds = 5;

std::optional<pg::Connection> Reach(const Config& config, Side side) {
  pg::ConnParams params = ParamsOf(config, side);
  params.connect_timeout_s = kConnectTimeoutSeconds;
  auto conn = pg::Connection::Open(params);
  if (!conn.ok()) {
    log::debug("{}: not compared with the run state", conn.message());
    return std::nullopt;
  }
  return std::move(*conn);
}

// Records what `servers` found of the sides the state holds no identity of, under the lock; a
// command holding it (a `run` under way) records them itself.
void RecordMissing(const StateStore& store, const StateServers& servers) {
  auto lock = FileLock::Acquire(store.file("run.lock"), "this relocation");
  if (!lock.ok()) return;
  auto state = store.Load();
  if (!state.ok() || !RecordIdentity(*state, servers)) return;
  if (Status saved = store.Save(*state); !saved.ok()) log::warn("{}", saved.message());
}

}  // namespace

Status CheckStateServers(const Config& config, bool lost_slot_refuses) {
  StateStore store(config.state_dir);
  if (!store.Exists()) return Status::Ok();
  auto state = store.Load();
  if (!state.ok() || state->source.empty()) return Status::Ok();  // the command says what is wrong
  std::optional<pg::Connection> src = Reach(config, Side::kSource);
  // An RDS destination restored by this relocation is known once its endpoint is recorded.
  std::optional<pg::Connection> dst;
  if (config.provider != "rds" || !state->rds.dst_host.empty())
    dst = Reach(config, Side::kDestination);
  auto servers =
      CompareWithServers(*state, LinksOf(config), src ? &*src : nullptr, dst ? &*dst : nullptr);
  if (!servers.ok()) {
    log::debug("the run state not compared with the servers: {}", servers.message());
    return Status::Ok();
  }
  Status verdict = servers->Verdict(*state, config.state_dir);
  if (verdict.is_bad_config() || (!verdict.ok() && lost_slot_refuses)) return verdict;
  if (!verdict.ok()) log::error("{}", verdict.message());  // a lost slot
  if (!servers->Unrecorded(*state).empty()) RecordMissing(store, *servers);
  return Status::Ok();
}

}  // namespace dbr
