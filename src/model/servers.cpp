#include "model/servers.h"

#include <fmt/format.h>

#include "model/names.h"

namespace dbr {
namespace {

pg::ConnParams FromServer(const ServerConfig& s, const char* label) {
  pg::ConnParams p;
  p.label = label;
  p.host = s.host;
  p.port = s.port;
  p.user = s.user;
  p.password = s.password;
  p.dbname = s.name;
  p.application_name = names::kApplicationName;
  p.sslmode = s.sslmode;
  p.sslrootcert = s.sslrootcert;
  return p;
}

std::string SourceAddress(const Config& config) {
  return config.src.Address() + "/" + config.src.name;
}

}  // namespace

pg::ConnParams SourceParams(const Config& config) {
  return FromServer(config.src, "source");
}
void UseRecordedDestination(Config& config, const RunState& state) {
  if (config.provider == Provider::kRds && !state.rds.dst_host.empty()) {
    config.dst.host = state.rds.dst_host;
    config.dst.port = state.rds.dst_port;
    config.dst.instance_id = state.rds.instance;
  } else if (config.provider == Provider::kCloudSql && !state.cloudsql.dst_host.empty()) {
    config.dst.host = state.cloudsql.dst_host;  // Cloud SQL serves every instance on one port
    config.dst.instance_id = state.cloudsql.instance;
  }
}

void UseRecordedDestination(Config& config) {
  if (config.provider == Provider::kPostgres) return;
  auto state = StateStore(config.state_dir).Load();
  if (state.ok()) UseRecordedDestination(config, *state);
}

pg::ConnParams DestinationParams(const Config& config) {
  return FromServer(config.dst, "destination");
}

bool DestinationReachable(const Config& config, const RunState& state) {
  switch (config.provider) {
    case Provider::kPostgres:
      return true;
    case Provider::kRds:
      return !state.rds.dst_host.empty() && state.rds.phase != RdsPhase::kUpgradeInstance;
    case Provider::kCloudSql:
      return state.cloudsql.Reachable();
  }
  return false;
}

const ServerConfig& ServerOf(const Config& config, Side side) {
  return side == Side::kDestination ? config.dst : config.src;
}
pg::ConnParams ParamsOf(const Config& config, Side side) {
  return side == Side::kDestination ? DestinationParams(config) : SourceParams(config);
}

void RecordRelocation(const Config& config, RunState& state) {
  state.source = SourceAddress(config);
  state.destination_database = config.dst.name;
}

bool SourceRenamed(const Config& config, const RunState& state) {
  return !state.source.empty() && state.source != SourceAddress(config) &&
         state.source.ends_with("/" + config.src.name) &&
         state.destination_database == config.dst.name;
}

Status StateBelongsToConfig(const Config& config, const RunState& state) {
  if (state.source.empty()) return Status::Ok();  // none yet
  if (config.engine == EngineKind::kMysql && state.format < 4)
    return Status::BadConfig(fmt::format(
        "the relocation in state_dir {} was started by an older db_relocate, which named its "
        "database and replication on the servers db_relocate; this one names them after the "
        "database (db_relocate_{}) and would not find them. Finish and clean it up with the "
        "db_relocate that started it",
        config.state_dir, config.src.name));
  // A state older than apply_workers made one lane (0: no publication yet).
  const int lanes =
      state.apply_workers == 0 && state.StepDone("publication") ? 1 : state.apply_workers;
  if (lanes != 0 && lanes != config.apply_workers)
    return Status::BadConfig(fmt::format(
        "apply_workers is {} in this config, but the relocation in state_dir {} replicates "
        "through {} subscriptions: put back apply_workers: {} (it changes only with a new "
        "relocation, after `db_relocate cleanup`)",
        config.apply_workers, config.state_dir, lanes, lanes));
  // Fixed by the relocation's first request to its cloud (the snapshot or the instance).
  const std::string& started =
      config.provider == Provider::kCloudSql ? state.cloudsql.method : state.rds.method;
  if (!started.empty() && started != NameOf(config.upgrade.method))
    return Status::BadConfig(fmt::format(
        "upgrade.method is {}, and the relocation in state_dir {} was started with "
        "upgrade.method {}: put {} back, to finish it or to remove it with `db_relocate "
        "cleanup` before starting again",
        config.upgrade.method, config.state_dir, started, started));
  const std::string& made =
      config.provider == Provider::kCloudSql ? state.cloudsql.instance : state.rds.instance;
  if (config.provider != Provider::kPostgres && !made.empty() && !config.dst.instance_id.empty() &&
      config.dst.instance_id != made)
    return Status::BadConfig(fmt::format(
        "dst.instance_id is {}, and the relocation in state_dir {} has {} as its destination: put "
        "back dst.instance_id: {} to go on with it; to give it up instead, run `db_relocate "
        "cleanup{}`{}",
        config.dst.instance_id, config.state_dir, made, made,
        config.provider == Provider::kCloudSql ? " --delete-instance " + made : "",
        config.provider == Provider::kRds
            ? ", then delete it: aws rds delete-db-instance --skip-final-snapshot "
              "--db-instance-identifier " +
                  made
            : ""));
  const std::string source = SourceAddress(config);
  if (state.source == source && state.destination_database == config.dst.name) return Status::Ok();
  auto recorded = state.servers.find(Side::kSource);
  const bool identity_tells =
      recorded != state.servers.end() && !recorded->second.system_identifier.empty();
  if (SourceRenamed(config, state) && identity_tells) return Status::Ok();
  std::string message = fmt::format(
      "state_dir {} holds the relocation of {} into database {}, and this config relocates {} "
      "into database {}: give each relocation a state_dir of its own (or use the config that "
      "relocation was started with)",
      config.state_dir, state.source, state.destination_database, source, config.dst.name);
  if (SourceRenamed(config, state))
    message +=
        "; if only the source's address changed (the same server under another name), keep the "
        "address the relocation was started with in src.host and src.port: the state records no "
        "system_identifier of the source to tell that it is the same server";
  return Status::Error(message);
}

std::string RelocationSource(const Config& config, const RunState& state) {
  const std::string suffix = "/" + config.src.name;
  if (state.source.empty() || !state.source.ends_with(suffix)) return config.src.Address();
  return state.source.substr(0, state.source.size() - suffix.size());
}

names::Links LinksOf(const Config& config) {
  return names::Links(config.src.name, config.dst.name, config.apply_workers);
}

}  // namespace dbr
