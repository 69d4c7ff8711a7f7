#include "cloud/cloudsql_plan.h"

#include <fmt/format.h>

#include <algorithm>

#include "util/parse.h"
#include "util/text.h"

namespace dbr {
namespace {

// The PostgreSQL majors Cloud SQL offers ("Database versions and version policies").
constexpr int kOfferedMajors[] = {10, 11, 12, 13, 14, 15, 16, 17, 18};

// What of the source's settings the new instance takes (the Admin API's Settings fields that
// describe the machine, its storage, network, backups and maintenance; not its state).
constexpr const char* kCopiedSettings[] = {"tier",
                                           "availabilityType",
                                           "dataDiskType",
                                           "dataDiskSizeGb",
                                           "storageAutoResize",
                                           "ipConfiguration",
                                           "locationPreference",
                                           "backupConfiguration",
                                           "maintenanceWindow",
                                           "userLabels",
                                           "databaseFlags",
                                           "edition",
                                           "insightsConfig",
                                           "deletionProtectionEnabled"};

std::string DestinationName(const Config& config, int target_major) {
  if (!config.dst.instance_id.empty()) return config.dst.instance_id;
  return fmt::format("{}-pg{}", config.src.instance_id, target_major);
}

nlohmann::json InsertBody(const Config& config, const CloudSqlPlan& plan) {
  nlohmann::json settings = nlohmann::json::object();
  for (const char* field : kCopiedSettings)
    if (plan.source.settings.contains(field)) settings[field] = plan.source.settings[field];
  if (!config.upgrade.tier.empty()) settings["tier"] = config.upgrade.tier;
  settings["databaseFlags"] = FlagsWithLogicalDecoding(plan.source);
  return {{"name", plan.destination},
          {"databaseVersion", fmt::format("POSTGRES_{}", plan.target_major)},
          {"region", config.gcp.region.empty() ? plan.source.region : config.gcp.region},
          {"settings", settings}};
}

// `gcloud sql instances patch` replaces every flag: the command keeps the others.
std::string LogicalDecodingCommand(const Config& config, const gcp::SqlInstance& source) {
  std::vector<std::string> flags;
  for (const auto& flag : FlagsWithLogicalDecoding(source))
    flags.push_back(flag["name"].get<std::string>() + "=" + flag["value"].get<std::string>());
  return fmt::format("gcloud sql instances patch {} --project={} --database-flags={}", source.name,
                     config.gcp.project, Join(flags, ","));
}

class CloudSqlPlanner {
 public:
  CloudSqlPlanner(const Config& config, gcp::SqlAdmin& admin, std::string recorded_destination)
      : config_(config), admin_(admin), recorded_(std::move(recorded_destination)) {}

  CloudSqlPlanResult Run() {
    CloudSqlPlan plan;
    if (Source(plan) && Target(plan) && Destination(plan)) {
      LogicalDecoding(plan);
    }
    CloudSqlPlanResult out;
    out.findings = std::move(findings_);
    const bool failed =
        std::any_of(out.findings.begin(), out.findings.end(),
                    [](const CheckResult& c) { return c.level == CheckLevel::kFail; });
    if (!failed) {
      plan.insert = InsertBody(config_, plan);
      out.plan = std::move(plan);
    }
    return out;
  }

 private:
  CheckResult& Add(const char* name, CheckLevel level, std::string detail, std::string hint = "",
                   bool bad_config = false) {
    CheckResult& c = findings_.emplace_back();
    c.name = name;
    c.level = level;
    c.detail = std::move(detail);
    c.hint = std::move(hint);
    c.bad_config = bad_config;
    return c;
  }

  bool Source(CloudSqlPlan& plan) {
    const char* name = "Cloud SQL source instance";
    auto found = admin_.GetInstance(config_.gcp.project, config_.src.instance_id);
    if (!found.ok()) return (void)Add(name, CheckLevel::kFail, found.message()), false;
    if (!*found)
      return (void)Add(name, CheckLevel::kFail,
                       fmt::format("no instance {} in project {}", config_.src.instance_id,
                                   config_.gcp.project),
                       "set src.instance_id and gcp.project to the source's", true),
             false;
    plan.source = std::move(**found);
    plan.source_major = MajorOfDatabaseVersion(plan.source.database_version);
    const std::string detail =
        fmt::format("{} ({}, {}, {}, {})", plan.source.name, plan.source.database_version,
                    plan.source.region, plan.source.tier, plan.source.state);
    if (plan.source_major == 0)
      return (void)Add(name, CheckLevel::kFail, detail + ": not a PostgreSQL instance", "", true),
             false;
    if (plan.source.state != "RUNNABLE")
      return (void)Add(name, CheckLevel::kFail, detail + ": not RUNNABLE",
                       "wait until the instance is RUNNABLE (gcloud sql instances describe " +
                           plan.source.name + ")"),
             false;
    Add(name, CheckLevel::kPass, detail);
    return true;
  }

  bool Target(CloudSqlPlan& plan) {
    const char* name = "upgrade target";
    const std::string& wanted = config_.upgrade.engine_version;
    plan.target_major = wanted.empty() ? plan.source_major
                                       : static_cast<int>(ParseInt(MajorOf(wanted)).value_or(0));
    const bool offered = std::find(std::begin(kOfferedMajors), std::end(kOfferedMajors),
                                   plan.target_major) != std::end(kOfferedMajors);
    if (!offered)
      return (void)Add(name, CheckLevel::kFail,
                       fmt::format("upgrade.engine_version {}: Cloud SQL offers PostgreSQL {}",
                                   wanted, Join(OfferedMajors(), ", ")),
                       "set upgrade.engine_version to one of them", true),
             false;
    if (plan.target_major < plan.source_major)
      return (void)Add(name, CheckLevel::kFail,
                       fmt::format("upgrade.engine_version {} is older than the source's {}",
                                   wanted, plan.source_major),
                       "", true),
             false;
    Add(name, CheckLevel::kPass,
        fmt::format("POSTGRES_{} -> POSTGRES_{}", plan.source_major, plan.target_major));
    return true;
  }

  bool Destination(CloudSqlPlan& plan) {
    const char* name = "Cloud SQL destination instance";
    // The one a run recorded (StateBelongsToConfig refused a config naming another), or the
    // config's.
    plan.destination = recorded_.empty() ? DestinationName(config_, plan.target_major) : recorded_;
    auto found = admin_.GetInstance(config_.gcp.project, plan.destination);
    if (!found.ok()) return (void)Add(name, CheckLevel::kFail, found.message()), false;
    if (*found && recorded_.empty())
      return (void)Add(name, CheckLevel::kFail,
                       fmt::format("an instance {} exists already in project {}", plan.destination,
                                   config_.gcp.project),
                       "set dst.instance_id to a free name (Cloud SQL keeps a deleted "
                       "instance's name for a week)",
                       true),
             false;
    Add(name, CheckLevel::kPass,
        fmt::format("{} ({}, tier {}){}", plan.destination, plan.target_major,
                    config_.upgrade.tier.empty() ? plan.source.tier : config_.upgrade.tier,
                    *found ? ": made by this relocation" : ": to be created"));
    return true;
  }

  void LogicalDecoding(const CloudSqlPlan& plan) {
    const char* name = kCloudSqlLogicalDecodingCheck;
    auto flag = plan.source.flags.find(kCloudSqlLogicalDecodingFlag);
    if (flag != plan.source.flags.end() && flag->second == "on")
      return (void)Add(name, CheckLevel::kPass,
                       std::string(kCloudSqlLogicalDecodingFlag) + " = on");
    const std::string detail = std::string(kCloudSqlLogicalDecodingFlag) + " is not on for " +
                               plan.source.name + " (setting it restarts the instance: downtime)";
    if (config_.upgrade.allow_source_restart)
      return (void)Add(name, CheckLevel::kWarn,
                       detail + "; upgrade.allow_source_restart: db_relocate sets it now");
    Add(name, CheckLevel::kFail, detail + "; or set upgrade.allow_source_restart: true",
        LogicalDecodingCommand(config_, plan.source));
  }

  static std::vector<std::string> OfferedMajors() {
    std::vector<std::string> out;
    for (int m : kOfferedMajors) out.push_back(std::to_string(m));
    return out;
  }

  const Config& config_;
  gcp::SqlAdmin& admin_;
  std::string recorded_;
  std::vector<CheckResult> findings_;
};

}  // namespace

CloudSqlPlanResult PlanCloudSqlRelocation(const Config& config, gcp::SqlAdmin& admin,
                                          const std::string& recorded_destination) {
  return CloudSqlPlanner(config, admin, recorded_destination).Run();
}

nlohmann::json FlagsWithLogicalDecoding(const gcp::SqlInstance& instance) {
  nlohmann::json flags = nlohmann::json::array();
  for (const auto& [name, value] : instance.flags)
    if (name != kCloudSqlLogicalDecodingFlag) flags.push_back({{"name", name}, {"value", value}});
  flags.push_back({{"name", kCloudSqlLogicalDecodingFlag}, {"value", "on"}});
  return flags;
}

int MajorOfDatabaseVersion(const std::string& database_version) {
  constexpr std::string_view kPrefix = "POSTGRES_";
  if (!database_version.starts_with(kPrefix)) return 0;
  std::string_view rest = std::string_view(database_version).substr(kPrefix.size());
  if (rest == "9_6") return 9;
  return static_cast<int>(ParseInt(std::string(rest)).value_or(0));
}

}  // namespace dbr
