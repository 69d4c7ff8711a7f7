// The local AWS endpoint of tests/aws_double/rds_double.py (RDS, STS, KMS, EC2 whose RDS
// instances are real PostgreSQL clusters) as an RAII object for the C++ integration tests. The
// seed format is documented at the top of rds_double.py; its seeded instances are clusters the
// test started (e.g. TestCluster), which the double never deletes.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/cluster.h"
#include "harness/double_process.h"
#include "util/status.h"

namespace dbr::test {

class AwsDouble {
 public:
  // Starts the double on a free loopback port and waits until it listens.
  static Result<std::unique_ptr<AwsDouble>> Start(const nlohmann::json& seed);

  // Destroyed: SIGTERM (the double stops and deletes the clusters it created), then SIGKILL
  // after 60 s.

  // "http://127.0.0.1:PORT", for aws.endpoint_url.
  std::string endpoint() const { return process_->endpoint(); }
  // One line per request (service.Action status code identifiers; never secrets).
  std::filesystem::path log_file() const { return process_->work_dir() / "double.log"; }
  // The last requests it served, for failure messages.
  std::string LogTail(int lines = 30) const;

 private:
  AwsDouble() = default;

  std::unique_ptr<DoubleProcess> process_;
};

}  // namespace dbr::test
