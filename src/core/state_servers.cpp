#include "core/state_servers.h"

#include <fmt/format.h>

#include <optional>

#include "engine/server_identity.h"
#include "model/servers.h"
#include "mysql/identity.h"
#include "mysql/servers.h"
#include "util/files.h"
#include "util/log.h"

namespace dbr {
namespace {

// A quick look: an unreachable side is the command's to report, with its own timeouts.
constexpr int kConnectTimeoutSeconds = 5;

Result<pg::Connection> Open(const Config& config, Side side) {
  pg::ConnParams params = ParamsOf(config, side);
  params.connect_timeout_s = kConnectTimeoutSeconds;
  return pg::Connection::Open(params);
}

std::optional<pg::Connection> Reach(const Config& config, Side side) {
  auto conn = Open(config, side);
  if (!conn.ok()) {
    log::debug("{}: not compared with the run state", conn.message());
    return std::nullopt;
  }
  return std::move(*conn);
}

// The config names the state's source under another address: the same server, or refused.
Status CheckRenamedSource(const Config& config, const RunState& state) {
  const std::string recorded = RelocationSource(config, state);
  const std::string named = config.src.Address();
  auto conn = Open(config, Side::kSource);
  if (!conn.ok())
    return Status::BadConfig(fmt::format(
        "the relocation in state_dir {} was started with the source at {}, and the config names "
        "{}, which cannot be reached to tell whether it is the same server ({}). Reach it, or "
        "put the address the relocation was started with back in src.host and src.port",
        config.state_dir, recorded, named, conn.message()));
  DBR_ASSIGN_OR_RETURN(LiveServer live, ReadServerIdentity(*conn));
  const ServerIdentity& mine = state.servers.at(Side::kSource);
  auto mismatches = CompareIdentity(Side::kSource, mine, live.identity);
  if (live.identity.system_identifier.empty())
    mismatches.push_back(
        {Side::kSource, "system_identifier", mine.system_identifier, "(not readable by src.user)"});
  if (!mismatches.empty())
    return Status::BadConfig(
        fmt::format("the source named {} (the relocation was started with {}) "
                    "is not the server it was started on: {}",
                    named, recorded, MismatchMessage(mismatches, config.state_dir)));
  log::info(
      "the source the relocation was started with at {} is reached at {}: the same server "
      "(system_identifier {})",
      recorded, named, mine.system_identifier);
  return Status::Ok();
}

// Records what `servers` found of the sides the state holds no identity of, under the lock; a
// command holding it (a `run` under way) records them itself.
void RecordMissing(const StateStore& store, const StateServers& servers) {
  auto lock = store.Lock();
  if (!lock.ok()) return;
  auto state = store.Load();
  if (!state.ok() || !RecordIdentity(*state, servers)) return;
  if (Status saved = store.Save(*state); !saved.ok()) log::warn("{}", saved.message());
}

// engine mysql: the markers of the sides reached against the ones the state recorded.
Status CheckMysqlStateServers(const Config& config) {
  StateStore store(config.state_dir);
  if (!store.Exists()) return Status::Ok();
  auto state = store.Load();
  if (!state.ok() || state->source.empty()) return Status::Ok();
  auto reach = [&](Side side) {
    mariadb::ConnParams params = mysql::ParamsOf(config, side);
    params.connect_timeout_s = kConnectTimeoutSeconds;
    return mariadb::Connection::OpenOrNone(params);
  };
  std::optional<mariadb::Connection> src = reach(Side::kSource), dst = reach(Side::kDestination);
  bool changed = false;
  return mysql::BindStateToServers(*state, config.state_dir, src ? &*src : nullptr,
                                   dst ? &*dst : nullptr, /*make=*/false, changed);
}

}  // namespace

Status CheckStateBelongsToConfig(const Config& config) {
  auto state = StateStore(config.state_dir).Load();
  if (!state.ok()) return Status::Ok();  // a command that reads the state says what is wrong
  DBR_RETURN_IF_ERROR(StateBelongsToConfig(config, *state));
  if (!SourceRenamed(config, *state)) return Status::Ok();
  // engine mysql: the markers are compared by CheckStateServers, where the source is reached.
  return config.engine == EngineKind::kMysql ? Status::Ok() : CheckRenamedSource(config, *state);
}

Status CheckStateServers(const Config& config, bool lost_slot_refuses) {
  if (config.engine == EngineKind::kMysql) return CheckMysqlStateServers(config);
  StateStore store(config.state_dir);
  if (!store.Exists()) return Status::Ok();
  auto state = store.Load();
  if (!state.ok() || state->source.empty()) return Status::Ok();  // the command says what is wrong
  std::optional<pg::Connection> src = Reach(config, Side::kSource);
  // An RDS destination restored by this relocation is known once its endpoint is recorded.
  std::optional<pg::Connection> dst;
  if (DestinationReachable(config, *state)) dst = Reach(config, Side::kDestination);
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
