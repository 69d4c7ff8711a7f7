// The result of pre-flight checks: each check PASS, WARN or FAIL, naming the objects at fault and
// how to fix them. The engine's checks (core/preflight.cpp) and a cloud's (cloud/cloud.h) fill one
// report.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

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
  bool unread = false;  // what it checks could not be read (`detail` says why): no verdict on it
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

const char* LevelName(CheckLevel level);

// The engine's check of the source's wal_level, which a cloud reads to know whether logical
// replication is in effect there.
inline constexpr const char* kLogicalReplicationCheck = "logical replication enabled";

}  // namespace dbr
