// The RDS, EC2 and KMS calls db_relocate makes, typed. Each is one AWS API action (or a
// paginated series of them) over AwsClient; nothing here knows about the relocation's steps.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "aws/client.h"
#include "util/status.h"

namespace dbr::aws {

struct DbInstance {
  std::string id;
  std::string status;  // available, creating, modifying, rebooting, ...
  std::string engine_version;
  std::string instance_class;
  std::string storage_type;
  int64_t allocated_storage = 0;  // GiB
  int64_t iops = 0;
  int64_t storage_throughput = 0;
  std::string parameter_group;
  std::string parameter_apply_status;  // in-sync, pending-reboot, applying
  std::string subnet_group;
  std::string vpc_id;
  std::vector<std::string> security_groups;
  bool encrypted = false;
  std::string kms_key_id;
  std::string ca_identifier;
  bool multi_az = false;
  std::string endpoint_host;
  int endpoint_port = 0;
  std::vector<std::string> read_replicas;  // identifiers of its read replicas
  std::string replica_source;              // set on a read replica
  std::string pending_engine_version;      // PendingModifiedValues: an upgrade not applied yet
};

struct DbSnapshot {
  std::string id;
  std::string instance_id;
  std::string status;  // creating, available, modifying (upgrade), copying, ...
  int percent_progress = 0;
  std::string engine_version;
  bool encrypted = false;
  std::string kms_key_id;
  int64_t allocated_storage = 0;
  std::string storage_type;
  int64_t iops = 0;
  int64_t storage_throughput = 0;
};

struct UpgradeTarget {
  std::string version;
  bool major = false;
};

struct EngineVersion {
  std::string version;
  std::string family;  // parameter group family, e.g. postgres17
  std::vector<UpgradeTarget> targets;
};

struct LogFile {
  std::string name;
  int64_t last_written_ms = 0;
  int64_t size = 0;
};

struct LogPortion {
  std::string data;
  std::string marker;
  bool more = false;  // AdditionalDataPending
};

// What RestoreDBInstanceFromDBSnapshot is given; empty/zero fields are left to AWS.
struct RestoreRequest {
  std::string instance_id;
  std::string snapshot_id;
  std::string instance_class;
  std::string subnet_group;
  std::vector<std::string> security_groups;
  std::string parameter_group;
  std::string storage_type;
  int64_t allocated_storage = 0;
  int64_t iops = 0;
  int64_t storage_throughput = 0;
  std::string ca_identifier;
  bool multi_az = false;
};

// ModifyDBInstance to another engine version, applied at once.
struct InstanceUpgrade {
  std::string instance_id;
  std::string engine_version;
  bool major = false;           // AllowMajorVersionUpgrade: required across majors
  std::string parameter_group;  // of the target's family; empty: left to AWS
};

// One of DescribeEvents' events.
struct Event {
  std::string date;  // ISO 8601, as AWS gives it
  std::string message;
};

struct KmsKey {
  std::string id;
  std::string arn;
  bool enabled = false;
};

class Rds {
 public:
  explicit Rds(AwsClient& client) : client_(client) {}

  // std::nullopt when AWS answers DBInstanceNotFound / DBSnapshotNotFound.
  Result<std::optional<DbInstance>> FindInstance(const std::string& id);
  Result<DbInstance> DescribeInstance(const std::string& id);
  Result<std::vector<DbInstance>> Instances();  // every DB instance of the region (all pages)
  Result<std::optional<DbSnapshot>> FindSnapshot(const std::string& id);
  Result<DbSnapshot> DescribeSnapshot(const std::string& id);

  // Every parameter of a DB parameter group, by name (all pages).
  Result<std::map<std::string, std::string>> Parameters(const std::string& group);
  Result<std::string> ParameterGroupFamily(const std::string& group);
  Status SetParameter(const std::string& group, const std::string& name, const std::string& value);
  Status Reboot(const std::string& instance_id);

  Result<std::optional<EngineVersion>> FindEngineVersion(const std::string& version);
  // Every postgres engine version of one major ("17"), oldest first.
  Result<std::vector<EngineVersion>> EngineVersionsOfMajor(const std::string& major);
  Result<bool> Orderable(const std::string& engine_version, const std::string& instance_class);
  Result<std::string> SubnetGroupVpc(const std::string& subnet_group);

  // The create calls: an "already exists" answer (a retried call whose first reply was lost)
  // returns the existing resource; callers choose identifiers that are theirs alone.
  Result<DbSnapshot> CreateSnapshot(const std::string& instance_id, const std::string& snapshot_id);
  Status UpgradeSnapshot(const std::string& snapshot_id, const std::string& engine_version);
  Result<DbSnapshot> CopySnapshot(const std::string& source_id, const std::string& target_id,
                                  const std::string& kms_key_id);
  Status DeleteSnapshot(const std::string& snapshot_id);
  Result<DbInstance> Restore(const RestoreRequest& request);
  Result<DbInstance> CreateReadReplica(const std::string& replica_id, const std::string& source_id,
                                       const std::string& instance_class);
  Status UpgradeInstance(const InstanceUpgrade& upgrade);

  // The events of `id`, a `source_type` ("db-instance", "db-snapshot"), since `since` (ISO
  // 8601), oldest first (all pages).
  Result<std::vector<Event>> Events(const std::string& source_type, const std::string& id,
                                    const std::string& since);

  // Log files written at or after `since_ms` (milliseconds since the epoch).
  Result<std::vector<LogFile>> LogFiles(const std::string& instance_id, int64_t since_ms);
  Result<LogPortion> DownloadLogPortion(const std::string& instance_id, const std::string& file,
                                        const std::string& marker);

  // EC2: the VPC of each security group (absent: not found).
  Result<std::map<std::string, std::string>> SecurityGroupVpcs(
      const std::vector<std::string>& group_ids);
  Result<bool> VpcExists(const std::string& vpc_id);
  // KMS: a key by id, ARN or alias ("alias/aws/rds"); std::nullopt when NotFoundException.
  Result<std::optional<KmsKey>> FindKmsKey(const std::string& key);

 private:
  Result<XmlReply> Call(const std::string& action, const QueryParams& params,
                        AwsError* error = nullptr);
  // Calls `action` page after page (Marker), handing each reply's result element to `each`.
  Status EachPage(const std::string& action, QueryParams params,
                  const std::function<void(const pugi::xml_node& result)>& each);
  AwsClient& client_;
};

// The values in a reply (the <DBInstance>, <DBSnapshot>, <DBEngineVersion> element; KMS
// DescribeKey's JSON). Missing elements give empty/zero fields.
DbInstance ParseInstance(const pugi::xml_node& n);
DbSnapshot ParseSnapshot(const pugi::xml_node& n);
EngineVersion ParseEngineVersion(const pugi::xml_node& n);
Result<KmsKey> ParseKmsKey(const nlohmann::json& reply);  // error: no KeyMetadata object

// The RDS calls over a client of their own with the default credential chain: what a command
// or step that talks to AWS holds for its lifetime.
class RdsSession {
 public:
  explicit RdsSession(const AwsConfig& config)
      : client_(config, MakeDefaultCredentialChain(config)), rds_(client_) {}
  Rds& rds() { return rds_; }

 private:
  AwsClient client_;  // before rds_, which refers to it
  Rds rds_;
};

}  // namespace dbr::aws
