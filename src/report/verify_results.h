// The results `db_relocate verify` leaves in <state_dir>/verify.json, as the report shows them.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/status.h"

namespace dbr {

struct VerifiedTable {
  std::string table;
  std::string status;  // OK | DIFFERS | UNSETTLED
  int64_t source_rows = -1;
  int64_t destination_rows = -1;
  int64_t differing_rows = -1;
  std::string detail;
};

struct VerifiedObject {
  std::string kind;  // index, constraint, sequence, ...
  std::string name;
  std::string status;  // OK | DIFFERS | MISSING | EXTRA | BEHIND
  std::string detail;
};

struct VerifyResults {
  std::string finished_at;
  double seconds = 0;
  bool ok = false;
  std::vector<VerifiedTable> tables;
  std::vector<VerifiedObject> objects;
};

Result<VerifyResults> ParseVerifyResults(const nlohmann::json& j);
// nullopt when the file does not exist; an error when it cannot be read or is not its shape.
Result<std::optional<VerifyResults>> ReadVerifyResults(const std::filesystem::path& file);

}  // namespace dbr
