// Pre-flight checks: every condition the relocation needs, checked against the live servers
// before anything is changed. Each check is PASS, WARN or FAIL, names the objects at fault and
// says how to fix it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/config.h"

namespace dbr {

enum class CheckLevel { kPass, kWarn, kFail };

struct CheckResult {
  std::string name;
  CheckLevel level = CheckLevel::kPass;
  std::string detail;
  std::vector<std::string> objects;  // the tables, roles, extensions... at fault
  std::string hint;                  // how to fix it
  bool overridable = false;          // `force: true` lets the run go on despite this FAIL
  bool bad_config = false;           // the config is wrong for these servers (exit code 2)
};

struct PreflightReport {
  std::vector<CheckResult> checks;

  // A FAIL that stops the relocation (`force` lets the overridable ones through).
  bool Blocks(bool force) const;
  // A FAIL caused by a config value that cannot work against these servers.
  bool HasBadConfig() const;
  const CheckResult* Find(const std::string& name) const;
  std::string ToText() const;
  nlohmann::json ToJson(bool force) const;
};

struct PreflightOptions {
  // `run` resuming after its schema was restored: tables on the destination are its own.
  bool destination_schema_is_ours = false;
  // `run` resuming after it requested the RDS snapshot / restored the destination instance.
  bool rds_snapshot_requested = false;
  bool destination_instance_is_ours = false;
};

PreflightReport RunPreflight(const Config& config, const PreflightOptions& options = {});

const char* LevelName(CheckLevel level);

// Names of the checks that other steps look up.
namespace checks {
inline constexpr const char* kReplicaIdentity = "replica identity";
inline constexpr const char* kRdsLogicalReplication = "RDS logical replication";
}  // namespace checks

}  // namespace dbr
