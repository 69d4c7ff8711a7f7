#include "cloud/cloud.h"

namespace dbr {

std::unique_ptr<Cloud> MakeRdsCloud();       // rds_cloud.cpp
std::unique_ptr<Cloud> MakeCloudSqlCloud();  // cloudsql_cloud.cpp

Cloud::Progress ProgressOf(const Config& config, const RunState& state) {
  return {.snapshot_requested = !state.rds.snapshot.empty(),
          .recorded_destination = config.provider == Provider::kCloudSql ? state.cloudsql.instance
                                                                         : state.rds.instance};
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
