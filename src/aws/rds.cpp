#include "aws/rds.h"

#include <algorithm>

namespace dbr::aws {
namespace {

constexpr const char* kRdsVersion = "2014-10-31";
constexpr const char* kEc2Version = "2016-11-15";

// Lists serialize as botocore's Query serializer does: Name.<member name>.N.
void AddList(QueryParams& params, const std::string& name, const std::string& member,
             const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i)
    params[name + "." + member + "." + std::to_string(i + 1)] = values[i];
}

void SetIf(QueryParams& params, const std::string& name, const std::string& value) {
  if (!value.empty()) params[name] = value;
}
void SetIf(QueryParams& params, const std::string& name, int64_t value) {
  if (value > 0) params[name] = std::to_string(value);
}

std::vector<std::string> Texts(const pugi::xml_node& list, const char* item, const char* child) {
  std::vector<std::string> out;
  for (auto n : list.children(item)) out.push_back(child ? Text(n, child) : n.text().as_string());
  return out;
}

}  // namespace

DbInstance ParseInstance(const pugi::xml_node& n) {
  DbInstance d;
  d.id = Text(n, "DBInstanceIdentifier");
  d.status = Text(n, "DBInstanceStatus");
  d.engine_version = Text(n, "EngineVersion");
  d.instance_class = Text(n, "DBInstanceClass");
  d.storage_type = Text(n, "StorageType");
  d.allocated_storage = Int(n, "AllocatedStorage");
  d.iops = Int(n, "Iops");
  d.storage_throughput = Int(n, "StorageThroughput");
  auto pg = n.child("DBParameterGroups").child("DBParameterGroup");
  d.parameter_group = Text(pg, "DBParameterGroupName");
  d.parameter_apply_status = Text(pg, "ParameterApplyStatus");
  d.subnet_group = Text(n.child("DBSubnetGroup"), "DBSubnetGroupName");
  d.vpc_id = Text(n.child("DBSubnetGroup"), "VpcId");
  d.security_groups =
      Texts(n.child("VpcSecurityGroups"), "VpcSecurityGroupMembership", "VpcSecurityGroupId");
  d.encrypted = Bool(n, "StorageEncrypted");
  d.kms_key_id = Text(n, "KmsKeyId");
  d.ca_identifier = Text(n, "CACertificateIdentifier");
  d.multi_az = Bool(n, "MultiAZ");
  d.endpoint_host = Text(n.child("Endpoint"), "Address");
  d.endpoint_port = static_cast<int>(Int(n.child("Endpoint"), "Port"));
  d.read_replicas = Texts(n.child("ReadReplicaDBInstanceIdentifiers"),
                          "ReadReplicaDBInstanceIdentifier", nullptr);
  d.replica_source = Text(n, "ReadReplicaSourceDBInstanceIdentifier");
  d.pending_engine_version = Text(n.child("PendingModifiedValues"), "EngineVersion");
  return d;
}

DbSnapshot ParseSnapshot(const pugi::xml_node& n) {
  DbSnapshot s;
  s.id = Text(n, "DBSnapshotIdentifier");
  s.instance_id = Text(n, "DBInstanceIdentifier");
  s.status = Text(n, "Status");
  s.percent_progress = static_cast<int>(Int(n, "PercentProgress"));
  s.engine_version = Text(n, "EngineVersion");
  s.encrypted = Bool(n, "Encrypted");
  s.kms_key_id = Text(n, "KmsKeyId");
  s.allocated_storage = Int(n, "AllocatedStorage");
  s.storage_type = Text(n, "StorageType");
  s.iops = Int(n, "Iops");
  s.storage_throughput = Int(n, "StorageThroughput");
  return s;
}

EngineVersion ParseEngineVersion(const pugi::xml_node& n) {
  EngineVersion v;
  v.version = Text(n, "EngineVersion");
  v.family = Text(n, "DBParameterGroupFamily");
  for (auto t : n.child("ValidUpgradeTarget").children("UpgradeTarget"))
    v.targets.push_back({Text(t, "EngineVersion"), Bool(t, "IsMajorVersionUpgrade")});
  return v;
}

Result<KmsKey> ParseKmsKey(const nlohmann::json& reply) {
  if (!reply.is_object() || !reply.contains("KeyMetadata") || !reply["KeyMetadata"].is_object())
    return Status::Error("kms DescribeKey: the reply has no KeyMetadata object");
  const nlohmann::json& m = reply["KeyMetadata"];
  auto text = [&](const char* key) {
    return m.contains(key) && m[key].is_string() ? m[key].get<std::string>() : std::string();
  };
  KmsKey k;
  k.id = text("KeyId");
  k.arn = text("Arn");
  k.enabled = m.contains("Enabled") && m["Enabled"].is_boolean() && m["Enabled"].get<bool>();
  return k;
}

Result<XmlReply> Rds::Call(const std::string& action, const QueryParams& params, AwsError* error) {
  return client_.Query("rds", kRdsVersion, action, params, error);
}

Status Rds::EachPage(const std::string& action, QueryParams params,
                     const std::function<void(const pugi::xml_node& result)>& each) {
  std::string marker;
  do {
    if (!marker.empty()) params["Marker"] = marker;
    auto r = Call(action, params);
    if (!r.ok()) return r.status();
    each(r->result());
    marker = Text(r->result(), "Marker");
  } while (!marker.empty());
  return Status::Ok();
}

Result<std::optional<DbInstance>> Rds::FindInstance(const std::string& id) {
  AwsError error;
  auto r = Call("DescribeDBInstances", {{"DBInstanceIdentifier", id}}, &error);
  if (!r.ok()) {
    if (error.code == "DBInstanceNotFound") return std::optional<DbInstance>();
    return r.status();
  }
  auto n = r->result().child("DBInstances").child("DBInstance");
  if (!n) return std::optional<DbInstance>();
  return std::optional<DbInstance>(ParseInstance(n));
}

Result<DbInstance> Rds::DescribeInstance(const std::string& id) {
  auto found = FindInstance(id);
  if (!found.ok()) return found.status();
  if (!*found) return Status::Error("RDS instance " + id + " does not exist");
  return **found;
}

Result<std::vector<DbInstance>> Rds::Instances() {
  std::vector<DbInstance> out;
  DBR_RETURN_IF_ERROR(EachPage("DescribeDBInstances", {}, [&](const pugi::xml_node& result) {
    for (auto n : result.child("DBInstances").children("DBInstance"))
      out.push_back(ParseInstance(n));
  }));
  return out;
}

Result<std::optional<DbSnapshot>> Rds::FindSnapshot(const std::string& id) {
  AwsError error;
  auto r = Call("DescribeDBSnapshots", {{"DBSnapshotIdentifier", id}}, &error);
  if (!r.ok()) {
    if (error.code == "DBSnapshotNotFound") return std::optional<DbSnapshot>();
    return r.status();
  }
  auto n = r->result().child("DBSnapshots").child("DBSnapshot");
  if (!n) return std::optional<DbSnapshot>();
  return std::optional<DbSnapshot>(ParseSnapshot(n));
}

Result<DbSnapshot> Rds::DescribeSnapshot(const std::string& id) {
  auto found = FindSnapshot(id);
  if (!found.ok()) return found.status();
  if (!*found) return Status::Error("RDS snapshot " + id + " does not exist");
  return **found;
}

Result<std::map<std::string, std::string>> Rds::Parameters(const std::string& group) {
  std::map<std::string, std::string> out;
  DBR_RETURN_IF_ERROR(EachPage("DescribeDBParameters", {{"DBParameterGroupName", group}},
                               [&](const pugi::xml_node& result) {
                                 for (auto n : result.child("Parameters").children("Parameter"))
                                   out[Text(n, "ParameterName")] = Text(n, "ParameterValue");
                               }));
  return out;
}

Result<std::string> Rds::ParameterGroupFamily(const std::string& group) {
  auto r = Call("DescribeDBParameterGroups", {{"DBParameterGroupName", group}});
  if (!r.ok()) return r.status();
  return Text(r->result().child("DBParameterGroups").child("DBParameterGroup"),
              "DBParameterGroupFamily");
}

Status Rds::SetParameter(const std::string& group, const std::string& name,
                         const std::string& value) {
  return Call("ModifyDBParameterGroup", {{"DBParameterGroupName", group},
                                         {"Parameters.Parameter.1.ParameterName", name},
                                         {"Parameters.Parameter.1.ParameterValue", value},
                                         {"Parameters.Parameter.1.ApplyMethod", "pending-reboot"}})
      .status();
}

Status Rds::Reboot(const std::string& instance_id) {
  return Call("RebootDBInstance", {{"DBInstanceIdentifier", instance_id}}).status();
}

Result<std::optional<EngineVersion>> Rds::FindEngineVersion(const std::string& version) {
  // IncludeAll: a source may run a version AWS no longer offers for new instances.
  auto r = Call("DescribeDBEngineVersions",
                {{"Engine", "postgres"}, {"EngineVersion", version}, {"IncludeAll", "true"}});
  if (!r.ok()) return r.status();
  auto n = r->result().child("DBEngineVersions").child("DBEngineVersion");
  if (!n) return std::optional<EngineVersion>();
  return std::optional<EngineVersion>(ParseEngineVersion(n));
}

Result<std::vector<EngineVersion>> Rds::EngineVersionsOfMajor(const std::string& major) {
  std::vector<EngineVersion> out;
  DBR_RETURN_IF_ERROR(
      EachPage("DescribeDBEngineVersions",
               {{"Engine", "postgres"}, {"DBParameterGroupFamily", "postgres" + major}},
               [&](const pugi::xml_node& result) {
                 for (auto n : result.child("DBEngineVersions").children("DBEngineVersion"))
                   out.push_back(ParseEngineVersion(n));
               }));
  return out;
}

Result<bool> Rds::Orderable(const std::string& engine_version, const std::string& instance_class) {
  auto r = Call("DescribeOrderableDBInstanceOptions", {{"Engine", "postgres"},
                                                       {"EngineVersion", engine_version},
                                                       {"DBInstanceClass", instance_class}});
  if (!r.ok()) return r.status();
  return static_cast<bool>(
      r->result().child("OrderableDBInstanceOptions").child("OrderableDBInstanceOption"));
}

Result<std::string> Rds::SubnetGroupVpc(const std::string& subnet_group) {
  auto r = Call("DescribeDBSubnetGroups", {{"DBSubnetGroupName", subnet_group}});
  if (!r.ok()) return r.status();
  return Text(r->result().child("DBSubnetGroups").child("DBSubnetGroup"), "VpcId");
}

Result<DbSnapshot> Rds::CreateSnapshot(const std::string& instance_id,
                                       const std::string& snapshot_id) {
  AwsError error;
  auto r =
      Call("CreateDBSnapshot",
           {{"DBInstanceIdentifier", instance_id}, {"DBSnapshotIdentifier", snapshot_id}}, &error);
  if (!r.ok() && error.code == "DBSnapshotAlreadyExists") return DescribeSnapshot(snapshot_id);
  if (!r.ok()) return r.status();
  return ParseSnapshot(r->result().child("DBSnapshot"));
}

Status Rds::UpgradeSnapshot(const std::string& snapshot_id, const std::string& engine_version) {
  return Call("ModifyDBSnapshot",
              {{"DBSnapshotIdentifier", snapshot_id}, {"EngineVersion", engine_version}})
      .status();
}

Result<DbSnapshot> Rds::CopySnapshot(const std::string& source_id, const std::string& target_id,
                                     const std::string& kms_key_id) {
  QueryParams p{{"SourceDBSnapshotIdentifier", source_id},
                {"TargetDBSnapshotIdentifier", target_id},
                {"CopyTags", "true"}};
  SetIf(p, "KmsKeyId", kms_key_id);
  AwsError error;
  auto r = Call("CopyDBSnapshot", p, &error);
  if (!r.ok() && error.code == "DBSnapshotAlreadyExists") return DescribeSnapshot(target_id);
  if (!r.ok()) return r.status();
  return ParseSnapshot(r->result().child("DBSnapshot"));
}

Status Rds::DeleteSnapshot(const std::string& snapshot_id) {
  AwsError error;
  auto r = Call("DeleteDBSnapshot", {{"DBSnapshotIdentifier", snapshot_id}}, &error);
  if (!r.ok() && error.code != "DBSnapshotNotFound") return r.status();
  return Status::Ok();
}

Result<DbInstance> Rds::Restore(const RestoreRequest& q) {
  QueryParams p{{"DBInstanceIdentifier", q.instance_id}, {"DBSnapshotIdentifier", q.snapshot_id}};
  SetIf(p, "DBInstanceClass", q.instance_class);
  SetIf(p, "DBSubnetGroupName", q.subnet_group);
  AddList(p, "VpcSecurityGroupIds", "VpcSecurityGroupId", q.security_groups);
  SetIf(p, "DBParameterGroupName", q.parameter_group);
  SetIf(p, "StorageType", q.storage_type);
  SetIf(p, "AllocatedStorage", q.allocated_storage);
  SetIf(p, "Iops", q.iops);
  SetIf(p, "StorageThroughput", q.storage_throughput);
  SetIf(p, "CACertificateIdentifier", q.ca_identifier);
  if (q.multi_az) p["MultiAZ"] = "true";
  AwsError error;
  auto r = Call("RestoreDBInstanceFromDBSnapshot", p, &error);
  if (!r.ok() && error.code == "DBInstanceAlreadyExists") return DescribeInstance(q.instance_id);
  if (!r.ok()) return r.status();
  return ParseInstance(r->result().child("DBInstance"));
}

Result<DbInstance> Rds::CreateReadReplica(const std::string& replica_id,
                                          const std::string& source_id,
                                          const std::string& instance_class) {
  QueryParams p{{"DBInstanceIdentifier", replica_id}, {"SourceDBInstanceIdentifier", source_id}};
  SetIf(p, "DBInstanceClass", instance_class);
  AwsError error;
  auto r = Call("CreateDBInstanceReadReplica", p, &error);
  if (!r.ok() && error.code == "DBInstanceAlreadyExists") return DescribeInstance(replica_id);
  if (!r.ok()) return r.status();
  return ParseInstance(r->result().child("DBInstance"));
}

Status Rds::UpgradeInstance(const InstanceUpgrade& u) {
  QueryParams p{{"DBInstanceIdentifier", u.instance_id},
                {"EngineVersion", u.engine_version},
                {"ApplyImmediately", "true"}};
  if (u.major) p["AllowMajorVersionUpgrade"] = "true";
  SetIf(p, "DBParameterGroupName", u.parameter_group);
  return Call("ModifyDBInstance", p).status();
}

Result<std::vector<Event>> Rds::Events(const std::string& source_type, const std::string& id,
                                       const std::string& since) {
  std::vector<Event> out;
  DBR_RETURN_IF_ERROR(
      EachPage("DescribeEvents",
               {{"SourceIdentifier", id}, {"SourceType", source_type}, {"StartTime", since}},
               [&](const pugi::xml_node& result) {
                 for (auto n : result.child("Events").children("Event"))
                   out.push_back({Text(n, "Date"), Text(n, "Message")});
               }));
  return out;
}

Result<std::vector<LogFile>> Rds::LogFiles(const std::string& instance_id, int64_t since_ms) {
  std::vector<LogFile> out;
  DBR_RETURN_IF_ERROR(EachPage(
      "DescribeDBLogFiles",
      {{"DBInstanceIdentifier", instance_id}, {"FileLastWritten", std::to_string(since_ms)}},
      [&](const pugi::xml_node& result) {
        for (auto n : result.child("DescribeDBLogFiles").children("DescribeDBLogFilesDetails"))
          out.push_back({Text(n, "LogFileName"), Int(n, "LastWritten"), Int(n, "Size")});
      }));
  std::sort(out.begin(), out.end(),
            [](const LogFile& a, const LogFile& b) { return a.name < b.name; });
  return out;
}

Result<LogPortion> Rds::DownloadLogPortion(const std::string& instance_id, const std::string& file,
                                           const std::string& marker) {
  auto r = Call("DownloadDBLogFilePortion", {{"DBInstanceIdentifier", instance_id},
                                             {"LogFileName", file},
                                             {"Marker", marker.empty() ? "0" : marker}});
  if (!r.ok()) return r.status();
  return LogPortion{Text(r->result(), "LogFileData"), Text(r->result(), "Marker"),
                    Bool(r->result(), "AdditionalDataPending")};
}

Result<std::map<std::string, std::string>> Rds::SecurityGroupVpcs(
    const std::vector<std::string>& group_ids) {
  std::map<std::string, std::string> out;
  for (const auto& id : group_ids) {  // one at a time: a missing group fails the whole call
    AwsError error;
    auto r =
        client_.Query("ec2", kEc2Version, "DescribeSecurityGroups", {{"GroupId.1", id}}, &error);
    if (!r.ok()) {
      if (error.code == "InvalidGroup.NotFound" || error.code == "InvalidGroupId.Malformed")
        continue;
      return r.status();
    }
    for (auto n : r->result().child("securityGroupInfo").children("item"))
      out[Text(n, "groupId")] = Text(n, "vpcId");
  }
  return out;
}

Result<bool> Rds::VpcExists(const std::string& vpc_id) {
  AwsError error;
  auto r = client_.Query("ec2", kEc2Version, "DescribeVpcs", {{"VpcId.1", vpc_id}}, &error);
  if (!r.ok()) {
    if (error.code == "InvalidVpcID.NotFound" || error.code == "InvalidVpcID.Malformed")
      return false;
    return r.status();
  }
  return static_cast<bool>(r->result().child("vpcSet").child("item"));
}

Result<std::optional<KmsKey>> Rds::FindKmsKey(const std::string& key) {
  AwsError error;
  auto r = client_.Json("kms", "TrentService.DescribeKey", {{"KeyId", key}}, &error);
  if (!r.ok()) {
    if (error.code == "NotFoundException") return std::optional<KmsKey>();
    return r.status();
  }
  DBR_ASSIGN_OR_RETURN(KmsKey k, ParseKmsKey(*r));
  return std::optional<KmsKey>(k);
}

}  // namespace dbr::aws
