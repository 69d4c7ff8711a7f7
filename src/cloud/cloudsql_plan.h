// What a Cloud SQL relocation will create, resolved from the `upgrade` and `gcp` blocks and the
// source instance (every unset setting taken from the source), and checked against the Admin API
// before anything is created. Pre-flight prints the findings; the destination step follows the
// plan.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "gcp/sqladmin.h"
#include "model/checks.h"

namespace dbr {

inline constexpr const char* kCloudSqlLogicalDecodingFlag = "cloudsql.logical_decoding";
// The finding on that flag of the source (WARN when it is off and upgrade.allow_source_restart
// lets db_relocate set it).
inline constexpr const char* kCloudSqlLogicalDecodingCheck = "Cloud SQL logical decoding";

struct CloudSqlPlan {
  gcp::SqlInstance source;
  int source_major = 0;
  int target_major = 0;
  std::string destination;  // the new instance's name
  nlohmann::json insert;    // its instances.insert body, without a password
};

// The plan pre-flight made, shared with the run's snapshot source (empty until it is made, and
// when pre-flight found a FAIL).
using SharedCloudSqlPlan = std::shared_ptr<std::optional<CloudSqlPlan>>;

struct CloudSqlPlanResult {
  std::vector<CheckResult> findings;
  std::optional<CloudSqlPlan> plan;  // set when no finding is a FAIL
};

// `recorded_destination`: the instance a run recorded as made by it ("": none): the destination,
// and its name is not "taken" (StateBelongsToConfig refuses a config naming another).
CloudSqlPlanResult PlanCloudSqlRelocation(const Config& config, gcp::SqlAdmin& admin,
                                          const std::string& recorded_destination);

// The instance's flags with logical decoding on (databaseFlags replace them all).
nlohmann::json FlagsWithLogicalDecoding(const gcp::SqlInstance& instance);

// "POSTGRES_15" -> 15; 0 for anything else (MySQL, SQL Server, a malformed name).
int MajorOfDatabaseVersion(const std::string& database_version);

}  // namespace dbr
