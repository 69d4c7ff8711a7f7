// One `db_relocate check` run and its JSON report, with the lookups tests make in it.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "harness/cluster.h"

namespace dbr::test {

// One `db_relocate check` invocation and its parsed JSON report.
struct CheckRun {
  CommandResult result;
  nlohmann::json report;  // null when stdout was not JSON
  std::string parse_error;

  // Everything printed, for failure messages.
  std::string Dump() const {
    return "exit " + std::to_string(result.exit_code) + "\n--- stdout:\n" + result.out +
           "\n--- stderr:\n" + result.err;
  }
  // The named check, or nullopt.
  std::optional<nlohmann::json> Find(const std::string& name) const {
    if (!report.is_object() || !report.contains("checks")) return std::nullopt;
    for (const auto& c : report["checks"])
      if (c.value("name", "") == name) return c;
    return std::nullopt;
  }
  std::string Result(const std::string& name) const {
    auto c = Find(name);
    return c ? c->value("result", "<no result>") : "<check not reported>";
  }
  std::string Detail(const std::string& name) const {
    auto c = Find(name);
    return c ? c->value("detail", "<no detail>") : "<check not reported>";
  }
  std::vector<std::string> Objects(const std::string& name) const {
    auto c = Find(name);
    if (!c || !c->contains("objects")) return {};
    return (*c)["objects"].get<std::vector<std::string>>();
  }
  // True when one of the check's objects contains `fragment`.
  bool HasObject(const std::string& name, const std::string& fragment) const {
    for (const auto& o : Objects(name))
      if (o.find(fragment) != std::string::npos) return true;
    return false;
  }
};

inline CheckRun RunCheck(const std::filesystem::path& config, const std::string& output = "json") {
  CheckRun run;
  run.result = RunDbRelocate({"check", "--config", config.string(), "--output", output});
  if (output == "json") {
    try {
      run.report = nlohmann::json::parse(run.result.out);
    } catch (const nlohmann::json::exception& e) {
      run.parse_error = e.what();
    }
  }
  return run;
}

}  // namespace dbr::test
