#include "cloud/cloud.h"

#include <fmt/format.h>

namespace dbr {

std::unique_ptr<Cloud> MakeRdsCloud();       // rds_cloud.cpp
std::unique_ptr<Cloud> MakeCloudSqlCloud();  // cloudsql_cloud.cpp

std::string RecordedDestinationDiffers(const Config& config, const std::string& recorded,
                                       const std::string& named) {
  return fmt::format(
      "the relocation in state_dir {} made the instance {}, and this config names {} as the "
      "destination",
      config.state_dir, recorded, named);
}

std::string RecordedDestinationFix(const std::string& recorded) {
  return fmt::format(
      "put back dst.instance_id: {} to go on with it, or remove it with `db_relocate cleanup "
      "--delete-instance {}` and start over",
      recorded, recorded);
}

std::unique_ptr<Cloud> MakeCloud(const Config& config) {
  switch (config.provider) {
    case Provider::kRds:
      return MakeRdsCloud();
    case Provider::kCloudSql:
      return MakeCloudSqlCloud();
    case Provider::kPostgres:
      return nullptr;
  }
  return nullptr;
}

}  // namespace dbr
