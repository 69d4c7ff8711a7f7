// What an RDS relocation will create, resolved from the `upgrade` block and the source instance
// (every unset field taken from the source), and checked against AWS before anything is created.
// Pre-flight prints the findings; the snapshot step follows the plan.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "aws/rds.h"
#include "cloud/cloud.h"
#include "config/config.h"
#include "util/status.h"

namespace dbr {

// The finding on rds.logical_replication in the source's parameter group (WARN when it is off
// and upgrade.allow_source_reboot may turn it on).
inline constexpr const char* kRdsLogicalReplicationCheck = "RDS logical replication";

struct RdsFinding {
  std::string name;    // "RDS source instance", "upgrade target", ...
  bool ok = true;      // false: FAIL
  bool warn = false;   // true with ok: WARN
  std::string detail;  // what was found
  std::string hint;    // how to fix it
  bool bad_config = false;
};

struct RdsPlan {
  aws::DbInstance source;
  UpgradeMethod method = UpgradeMethod::kInstance;
  std::string target_version;     // the engine version the new instance runs
  std::vector<std::string> hops;  // the upgrade's targets in order; empty: same version
  // Method instance: the restore is at the source's version with the source's parameter group
  // (logical replication on: a copied logical slot stops a server with a lower wal_level);
  // the last hop moves the instance to this group of the target's family.
  std::string upgrade_parameter_group;
  std::string kms_key;          // key of the encrypting copy; empty: the source is encrypted
  aws::RestoreRequest restore;  // the new instance (snapshot_id filled in by the step)
  std::vector<std::string> replica_classes;  // one read replica per source read replica
  bool logical_replication_on = false;       // rds.logical_replication = 1 on the source
};

// The plan pre-flight made, shared with the snapshot source of the same run, so that the run
// follows what `run`'s own pre-flight printed (and asks AWS once): empty until it is made, and
// when pre-flight found a FAIL.
using SharedRdsPlan = std::shared_ptr<std::optional<RdsPlan>>;

struct RdsPlanResult {
  std::vector<RdsFinding> findings;
  std::optional<RdsPlan> plan;  // set when no finding is a FAIL
};

// Reads the source instance and everything the config names, and resolves the plan.
// `progress`: how far an interrupted run got (ProgressOf its state): what it made is expected to
// exist; once the snapshot was requested the source no longer needs to be `available` (it is
// `backing-up` while AWS takes the snapshot, and may be in a maintenance state later); the
// instance it recorded is the destination, and not "taken" (StateBelongsToConfig refuses a
// config naming another).
RdsPlanResult PlanRdsRelocation(const Config& config, aws::Rds& rds,
                                const Cloud::Progress& progress = {});

// The ModifyDBSnapshot hops from `from` to `target` ("17": the newest 17.x reachable; "16.4":
// exactly that), fewest hops first, following each version's ValidUpgradeTarget. Pure: `lookup`
// returns a version's upgrade targets (std::nullopt: unknown version).
using UpgradeTargetsLookup =
    std::function<Result<std::optional<std::vector<aws::UpgradeTarget>>>(const std::string&)>;
Result<std::vector<std::string>> PlanUpgradeHops(const std::string& from, const std::string& target,
                                                 const UpgradeTargetsLookup& lookup);

// Numeric version order: 13.7 < 13.10 < 14.1.
bool VersionLess(const std::string& a, const std::string& b);

// Method instance: the parameter group of the hop from `from` to `version`: into the target's
// major, plan.upgrade_parameter_group; into an intermediate major, that major's default group;
// within a major, none (the instance keeps its own).
std::string HopParameterGroup(const RdsPlan& plan, const std::string& from,
                              const std::string& version);

// What makes `id` an identifier RDS refuses (its rules for DB instance identifiers), or "".
std::string InstanceIdProblem(const std::string& id);
// The identifier of the new instance's read replica number `index` (from 0).
std::string ReplicaInstanceId(const std::string& instance_id, size_t index);

// The identifier of the new instance: dst.instance_id, else "<src.instance_id>-v<major>".
std::string DestinationInstanceId(const Config& config, const std::string& target_version);

}  // namespace dbr
