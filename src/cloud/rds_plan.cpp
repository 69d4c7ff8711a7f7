#include "cloud/rds_plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "util/text.h"

namespace dbr {
namespace {

std::vector<int> VersionParts(const std::string& v) {
  std::vector<int> parts;
  int cur = 0;
  bool any = false;
  for (char c : v) {
    if (c >= '0' && c <= '9') {
      cur = cur * 10 + (c - '0');
      any = true;
    } else {
      parts.push_back(any ? cur : 0);
      cur = 0;
      any = false;
      if (c != '.') break;  // "15.4-R2": stop at the suffix
    }
  }
  if (any) parts.push_back(cur);
  return parts;
}

bool Matches(const std::string& version, const std::string& target) {
  if (target.find('.') != std::string::npos) return version == target;
  return MajorOf(version) == target;
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}

class Planner {
 public:
  Planner(const Config& config, aws::Rds& rds, const Cloud::Progress& progress)
      : config_(config), up_(config.upgrade), rds_(rds), progress_(progress) {}

  RdsPlanResult Run() {
    plan_.method = up_.method;
    if (!Source()) return Done();
    CheckLogicalReplication();
    if (!TargetVersion()) return Done();
    CheckParameterGroup();
    CheckNetwork();
    CheckEncryption();
    CheckInstanceClass();
    CheckStorage();
    CheckDestinationId();
    CheckReadReplicas();
    plan_.restore.ca_identifier =
        up_.ca_identifier.empty() ? plan_.source.ca_identifier : up_.ca_identifier;
    plan_.restore.multi_az = plan_.source.multi_az;
    return Done();
  }

 private:
  RdsFinding& Add(std::string name, bool ok, std::string detail, std::string hint = "") {
    result_.findings.push_back({std::move(name), ok, false, std::move(detail), std::move(hint)});
    return result_.findings.back();
  }
  void Warn(std::string name, std::string detail, std::string hint = "") {
    Add(std::move(name), true, std::move(detail), std::move(hint)).warn = true;
  }
  void BadConfig(std::string name, std::string detail, std::string hint = "") {
    Add(std::move(name), false, std::move(detail), std::move(hint)).bad_config = true;
  }

  RdsPlanResult Done() {
    bool failed = std::any_of(result_.findings.begin(), result_.findings.end(),
                              [](const RdsFinding& f) { return !f.ok; });
    if (!failed) result_.plan = plan_;
    return std::move(result_);
  }

  bool Source() {
    const char* name = "RDS source instance";
    if (config_.src.instance_id.empty()) {
      BadConfig(name, "src.instance_id is not set",
                "set src.instance_id to the RDS DB instance identifier of the source");
      return false;
    }
    auto found = rds_.FindInstance(config_.src.instance_id);
    if (!found.ok()) {
      Add(name, false, found.message(),
          "check the AWS credentials, aws.region and aws.endpoint_url");
      return false;
    }
    if (!*found) {
      BadConfig(name,
                fmt::format("no DB instance {} in {}", config_.src.instance_id, config_.aws.region),
                "check src.instance_id and aws.region");
      return false;
    }
    plan_.source = **found;
    const auto& s = plan_.source;
    if (s.status != "available") {
      if (!progress_.snapshot_requested) {
        Add(name, false, fmt::format("{} is {}", s.id, s.status),
            "wait until the instance is available");
        return false;
      }
      Warn(name, fmt::format("{} is {} (its snapshot is already requested)", s.id, s.status));
      return true;
    }
    Add(name, true,
        fmt::format("{}: PostgreSQL {}, {}, {} {} GiB, {}, {} read replica(s)", s.id,
                    s.engine_version, s.instance_class, s.storage_type, s.allocated_storage,
                    s.encrypted ? "encrypted" : "not encrypted", s.read_replicas.size()));
    return true;
  }

  void CheckLogicalReplication() {
    const char* name = kRdsLogicalReplicationCheck;
    const auto& group = plan_.source.parameter_group;
    auto params = rds_.Parameters(group);
    if (!params.ok()) return (void)Add(name, false, params.message());
    auto it = params->find("rds.logical_replication");
    plan_.logical_replication_on = it != params->end() && it->second == "1";
    // AWS reports "pending-reboot" for the whole group (any static parameter changed since the
    // last reboot): whether this one is in effect is the source's own wal_level, which the
    // check "logical replication enabled" reads (RdsCloud reboots only when it is not).
    if (plan_.logical_replication_on)
      return (void)Add(name, true,
                       "rds.logical_replication = 1 in " + group +
                           (plan_.source.parameter_apply_status == "pending-reboot"
                                ? " (the group has changes waiting for a reboot of the source)"
                                : ""));
    std::string detail =
        fmt::format("rds.logical_replication is {} in parameter group {}",
                    it == params->end() || it->second.empty() ? "not set" : it->second, group);
    // AWS lets no one modify a default group: another group must be attached first.
    if (group.starts_with("default."))
      return (void)Add(
          name, false, detail + ", a default parameter group, which AWS does not let anyone modify",
          fmt::format("create a DB parameter group of family {} with rds.logical_replication = "
                      "1, attach it to {} (aws rds modify-db-instance --db-parameter-group-name), "
                      "then reboot it (downtime: plan it)",
                      group.substr(std::string_view("default.").size()), plan_.source.id));
    if (up_.allow_source_reboot) {
      auto all = rds_.Instances();
      if (!all.ok()) return (void)Add(name, false, all.message());
      std::vector<std::string> sharing;
      for (const auto& i : *all)
        if (i.parameter_group == group && i.id != plan_.source.id) sharing.push_back(i.id);
      return Warn(name, detail + ": db_relocate will set it and reboot the source (downtime)" +
                            (sharing.empty() ? std::string()
                                             : "; the group is shared: the change also reaches " +
                                                   JoinList(sharing) + " at their next reboot"));
    }
    Add(name, false, detail,
        fmt::format("aws rds modify-db-parameter-group --db-parameter-group-name {} --parameters "
                    "ParameterName=rds.logical_replication,ParameterValue=1,ApplyMethod=pending-"
                    "reboot, then reboot {} (downtime: plan it); or set "
                    "upgrade.allow_source_reboot: true to let db_relocate do both",
                    group, plan_.source.id));
  }

  bool TargetVersion() {
    const char* name = "upgrade target";
    const std::string& from = plan_.source.engine_version;
    if (up_.engine_version.empty() || Matches(from, up_.engine_version)) {
      plan_.target_version = from;
      Add(name, true, "no version upgrade: the new instance runs " + from);
      return true;
    }
    auto hops = PlanUpgradeHops(from, up_.engine_version, [&](const std::string& v) {
      using Targets = std::optional<std::vector<aws::UpgradeTarget>>;
      auto ev = rds_.FindEngineVersion(v);
      if (!ev.ok()) return Result<Targets>(ev.status());
      if (!*ev) return Result<Targets>(Targets());
      return Result<Targets>(Targets((*ev)->targets));
    });
    if (!hops.ok()) {
      BadConfig(name, hops.message(), "set upgrade.engine_version to a version RDS can reach");
      return false;
    }
    plan_.hops = *hops;
    plan_.target_version = hops->back();
    Add(name, true, fmt::format("{} -> {} ({})", from, plan_.target_version, JoinList(*hops)));
    AddMethod();
    return true;
  }

  // How the version changes, and what that means while it does.
  void AddMethod() {
    const std::string& from = plan_.source.engine_version;
    if (plan_.method == UpgradeMethod::kSnapshot)
      return (void)Add(
          "upgrade method", true,
          fmt::format("snapshot: ModifyDBSnapshot upgrades the snapshot of {} ({} hop(s): {}), "
                      "then it is restored at {}",
                      from, plan_.hops.size(), JoinList(plan_.hops), plan_.target_version));
    Add("upgrade method", true,
        fmt::format("instance: the snapshot is restored at {}, then ModifyDBInstance upgrades "
                    "that instance hop by hop ({}); each hop usually takes 10 to 60 minutes on "
                    "AWS, depending on the number of objects, and the new instance serves no one "
                    "until the relocation is cut over",
                    from, JoinList(plan_.hops)));
  }

  void CheckParameterGroup() {
    const char* name = "RDS parameter group";
    const bool same_major = MajorOf(plan_.target_version) == MajorOf(plan_.source.engine_version);
    const bool upgrade_instance = plan_.method == UpgradeMethod::kInstance && !same_major;
    std::string group = up_.parameter_group;
    if (group.empty()) {
      if (!same_major)
        return BadConfig(name, "upgrade.parameter_group is not set",
                         fmt::format("create a DB parameter group of family postgres{} with "
                                     "rds.logical_replication = 1 and set upgrade.parameter_group",
                                     MajorOf(plan_.target_version)));
      group = plan_.source.parameter_group;
    }
    plan_.restore.parameter_group = upgrade_instance ? plan_.source.parameter_group : group;
    if (upgrade_instance) plan_.upgrade_parameter_group = group;
    auto family = rds_.ParameterGroupFamily(group);
    if (!family.ok())
      return (void)Add(name, false, family.message(), "check upgrade.parameter_group");
    auto version = rds_.FindEngineVersion(plan_.target_version);
    if (!version.ok()) return (void)Add(name, false, version.message());
    const std::string want =
        *version ? (*version)->family : "postgres" + MajorOf(plan_.target_version);
    if (*family != want)
      return BadConfig(
          name, fmt::format("{} is of family {}, the new instance needs {}", group, *family, want),
          "set upgrade.parameter_group to a group of family " + want);
    auto params = rds_.Parameters(group);
    if (params.ok() && (*params)["rds.logical_replication"] != "1") {
      // Restored at the source's major, the instance holds the slot the snapshot was taken with,
      // and PostgreSQL does not start with a logical slot under a lower wal_level. (The source's
      // own group is the check "RDS logical replication"'s, with its fix.)
      if (same_major && group != plan_.source.parameter_group)
        return BadConfig(name,
                         group + " (" + *family +
                             ") has rds.logical_replication off: the instance restored with it "
                             "would not start (it holds the source's logical replication slot, "
                             "copied by the snapshot)",
                         "set rds.logical_replication = 1 in " + group +
                             ", or leave upgrade.parameter_group empty to use the source's");
      return Warn(name, group + " (" + *family + ") has rds.logical_replication off",
                  "cut-over's replication back to the source needs it on the new instance");
    }
    Add(name, true,
        upgrade_instance ? fmt::format("restored with {} (the source's), upgraded with {} ({})",
                                       plan_.source.parameter_group, group, *family)
                         : group + " (" + *family + ")");
  }

  void CheckNetwork() {
    const char* name = "RDS network";
    std::string vpc = up_.vpc_id.empty() ? plan_.source.vpc_id : up_.vpc_id;
    if (!up_.vpc_id.empty()) {
      auto exists = rds_.VpcExists(vpc);
      if (!exists.ok()) return (void)Add(name, false, exists.message());
      if (!*exists)
        return BadConfig(name, "VPC " + vpc + " does not exist", "check upgrade.vpc_id");
    }
    plan_.restore.subnet_group =
        up_.subnet_group.empty() ? plan_.source.subnet_group : up_.subnet_group;
    auto subnet_vpc = rds_.SubnetGroupVpc(plan_.restore.subnet_group);
    if (!subnet_vpc.ok())
      return (void)Add(name, false, subnet_vpc.message(), "check upgrade.subnet_group");
    if (*subnet_vpc != vpc)
      return BadConfig(name,
                       fmt::format("subnet group {} is in {}, not in {}",
                                   plan_.restore.subnet_group, *subnet_vpc, vpc),
                       "set upgrade.subnet_group to a subnet group of " + vpc);
    plan_.restore.security_groups =
        up_.security_groups.empty() ? plan_.source.security_groups : up_.security_groups;
    auto vpcs = rds_.SecurityGroupVpcs(plan_.restore.security_groups);
    if (!vpcs.ok()) return (void)Add(name, false, vpcs.message());
    std::vector<std::string> wrong;
    for (const auto& g : plan_.restore.security_groups) {
      auto it = vpcs->find(g);
      if (it == vpcs->end())
        wrong.push_back(g + " (not found)");
      else if (it->second != vpc)
        wrong.push_back(g + " (in " + it->second + ")");
    }
    if (!wrong.empty())
      return BadConfig(name, "security groups not in " + vpc + ": " + JoinList(wrong),
                       "set upgrade.security_groups to groups of " + vpc);
    Add(name, true,
        fmt::format("{}, subnet group {}, security groups {}", vpc, plan_.restore.subnet_group,
                    JoinList(plan_.restore.security_groups)));
  }

  void CheckEncryption() {
    const char* name = "RDS encryption";
    if (plan_.source.encrypted)
      return (void)Add(name, true,
                       "the source is encrypted (" + plan_.source.kms_key_id +
                           "); the snapshot and the new instance stay so");
    const std::string key = up_.kms_id.empty() ? "alias/aws/rds" : up_.kms_id;
    auto found = rds_.FindKmsKey(key);
    if (!found.ok()) return (void)Add(name, false, found.message());
    if (!*found) return BadConfig(name, "KMS key " + key + " not found", "check upgrade.kms_id");
    if (!(*found)->enabled)
      return (void)Add(name, false, "KMS key " + key + " is disabled", "enable it or set another");
    plan_.kms_key = (*found)->arn.empty() ? key : (*found)->arn;
    Add(name, true, "the source is not encrypted: the snapshot is copied encrypted with " + key);
  }

  void CheckInstanceClass() {
    const char* name = "RDS instance class";
    plan_.restore.instance_class =
        up_.instance_class.empty() ? plan_.source.instance_class : up_.instance_class;
    // Method instance: the class runs every version from the source's to the target.
    std::vector<std::string> versions{plan_.target_version};
    if (plan_.method == UpgradeMethod::kInstance) {
      versions = {plan_.source.engine_version};
      versions.insert(versions.end(), plan_.hops.begin(), plan_.hops.end());
    }
    for (const auto& version : versions) {
      auto ok = rds_.Orderable(version, plan_.restore.instance_class);
      if (!ok.ok()) return (void)Add(name, false, ok.message());
      if (!*ok)
        return BadConfig(name,
                         fmt::format("{} cannot be ordered for PostgreSQL {}",
                                     plan_.restore.instance_class, version),
                         "set upgrade.instance_class to a class offered for that version");
    }
    Add(name, true, plan_.restore.instance_class);
  }

  void CheckStorage() {
    const char* name = "RDS storage";
    auto& r = plan_.restore;
    r.storage_type = up_.storage_type.empty() ? plan_.source.storage_type : up_.storage_type;
    if (up_.storage_size > 0 && up_.storage_size < plan_.source.allocated_storage)
      return BadConfig(name,
                       fmt::format("upgrade.storage_size {} GiB is below the source's {} GiB",
                                   up_.storage_size, plan_.source.allocated_storage),
                       "leave it unset (the snapshot's size) or raise it");
    r.allocated_storage = up_.storage_size;  // 0: the snapshot's
    // gp3 left to its baseline unless set; provisioned-IOPS types keep the source's figures.
    const bool provisioned = r.storage_type == "io1" || r.storage_type == "io2";
    r.iops = up_.storage_iops > 0 ? up_.storage_iops : provisioned ? plan_.source.iops : 0;
    r.storage_throughput = up_.storage_throughput;
    // gp3 at its baseline: below 400 GiB AWS fixes it (3000 IOPS, 125 MiB/s) and refuses values;
    // from 400 GiB the baseline is 12000 IOPS and 500 MiB/s, sent unless set.
    const int64_t size =
        r.allocated_storage > 0 ? r.allocated_storage : plan_.source.allocated_storage;
    if (r.storage_type == "gp3" && size >= 400) {
      if (r.iops == 0) r.iops = 12000;
      if (r.storage_throughput == 0) r.storage_throughput = 500;
    }
    Add(name, true,
        fmt::format(
            "{}, {} GiB{}{}", r.storage_type,
            r.allocated_storage > 0 ? r.allocated_storage : plan_.source.allocated_storage,
            r.iops > 0 ? fmt::format(", {} IOPS", r.iops) : "",
            r.storage_throughput > 0 ? fmt::format(", {} MiB/s", r.storage_throughput) : ""));
  }

  void CheckDestinationId() {
    const char* name = "RDS destination instance";
    // The one a run recorded (StateBelongsToConfig refused a config naming another), or the
    // config's.
    const std::string& recorded = progress_.recorded_destination;
    plan_.restore.instance_id =
        recorded.empty() ? DestinationInstanceId(config_, plan_.target_version) : recorded;
    if (auto bad = InstanceIdProblem(plan_.restore.instance_id); !bad.empty())
      return BadConfig(name, plan_.restore.instance_id + ": " + bad,
                       "set dst.instance_id to a valid identifier");
    auto found = rds_.FindInstance(plan_.restore.instance_id);
    if (!found.ok()) return (void)Add(name, false, found.message());
    if (*found && recorded.empty())
      return BadConfig(name, "DB instance " + plan_.restore.instance_id + " already exists",
                       "set dst.instance_id to a new identifier, or remove that instance");
    Add(name, true,
        plan_.restore.instance_id + (*found ? " (restored by this relocation)" : " (to create)"));
  }

  void CheckReadReplicas() {
    for (const auto& id : plan_.source.read_replicas) {
      auto r = rds_.DescribeInstance(id);
      if (!r.ok()) return (void)Add("RDS read replicas", false, r.message());
      plan_.replica_classes.push_back(r->instance_class);
    }
    for (size_t i = 0; i < plan_.replica_classes.size(); ++i) {
      const std::string id = ReplicaInstanceId(plan_.restore.instance_id, i);
      if (auto bad = InstanceIdProblem(id); !bad.empty())
        return BadConfig("RDS read replicas", "read replica " + id + ": " + bad,
                         "set dst.instance_id to a shorter identifier");
      auto found = rds_.FindInstance(id);
      if (!found.ok()) return (void)Add("RDS read replicas", false, found.message());
      if (*found && progress_.recorded_destination.empty())
        return BadConfig("RDS read replicas", "DB instance " + id + " already exists",
                         "set dst.instance_id to a new identifier, or remove that instance");
    }
    if (!plan_.replica_classes.empty())
      Add("RDS read replicas", true,
          fmt::format("{} read replica(s) will be created for the new instance",
                      plan_.replica_classes.size()));
  }

  const Config& config_;
  const UpgradeConfig& up_;
  aws::Rds& rds_;
  Cloud::Progress progress_;
  RdsPlan plan_;
  RdsPlanResult result_;
};

}  // namespace

RdsPlanResult PlanRdsRelocation(const Config& config, aws::Rds& rds,
                                const Cloud::Progress& progress) {
  return Planner(config, rds, progress).Run();
}

bool VersionLess(const std::string& a, const std::string& b) {
  return VersionParts(a) < VersionParts(b);
}

std::string InstanceIdProblem(const std::string& id) {
  constexpr size_t kMaxLength = 63;
  if (id.empty() || id.size() > kMaxLength)
    return fmt::format("a DB instance identifier has 1 to {} characters, this one {}", kMaxLength,
                       id.size());
  const auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!letter(id.front())) return "a DB instance identifier starts with a letter";
  for (char c : id)
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '-')
      return "a DB instance identifier has only letters, digits and hyphens";
  if (id.back() == '-' || id.find("--") != std::string::npos)
    return "a DB instance identifier neither ends with a hyphen nor has two in a row";
  return "";
}

std::string ReplicaInstanceId(const std::string& instance_id, size_t index) {
  return fmt::format("{}-replica-{}", instance_id, index + 1);
}

std::string HopParameterGroup(const RdsPlan& plan, const std::string& from,
                              const std::string& version) {
  if (MajorOf(from) == MajorOf(version)) return "";
  if (!plan.hops.empty() && MajorOf(version) == MajorOf(plan.hops.back()))
    return plan.upgrade_parameter_group;
  return "default.postgres" + MajorOf(version);
}

std::string DestinationInstanceId(const Config& config, const std::string& target_version) {
  if (!config.dst.instance_id.empty()) return config.dst.instance_id;
  return config.src.instance_id + "-v" + MajorOf(target_version);
}

Result<std::vector<std::string>> PlanUpgradeHops(const std::string& from, const std::string& target,
                                                 const UpgradeTargetsLookup& lookup) {
  constexpr size_t kMaxHops = 4;
  // Breadth first: the first depth at which a match appears gives the fewest hops; at that
  // depth the newest matching version wins.
  std::map<std::string, std::string> parent{{from, ""}};
  std::vector<std::string> frontier{from};
  std::vector<std::string> direct;  // for the message
  for (size_t depth = 1; depth <= kMaxHops && !frontier.empty(); ++depth) {
    std::vector<std::string> next;
    for (const auto& v : frontier) {
      auto targets = lookup(v);
      if (!targets.ok()) return targets.status();
      if (!*targets) {
        if (v == from) return Status::Error("RDS does not know engine version " + from);
        continue;
      }
      for (const auto& t : **targets) {
        if (v == from) direct.push_back(t.version);
        if (parent.count(t.version)) continue;
        parent[t.version] = v;
        next.push_back(t.version);
      }
    }
    std::string best;
    for (const auto& v : next)
      if (Matches(v, target) && (best.empty() || VersionLess(best, v))) best = v;
    if (!best.empty()) {
      std::vector<std::string> hops;
      for (std::string v = best; v != from; v = parent[v]) hops.insert(hops.begin(), v);
      return hops;
    }
    frontier = std::move(next);
  }
  std::sort(direct.begin(), direct.end(), VersionLess);
  return Status::Error(fmt::format(
      "PostgreSQL {} cannot be upgraded to {} on RDS (directly or in up to {} steps); its valid "
      "upgrade targets are: {}",
      from, target, kMaxHops, JoinList(direct)));
}

}  // namespace dbr
