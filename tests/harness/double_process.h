// A service double (a Python HTTP server under tests/) as a process: started on a free loopback
// port with a seed, waited for until it listens, stopped (SIGTERM, then SIGKILL after 60 s) when
// destroyed. AwsDouble and GcpDouble are each one of these.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/cluster.h"
#include "util/status.h"

namespace dbr::test {

class DoubleProcess {
 public:
  // `script` relative to the source tree; `name` for messages ("the AWS double").
  static Result<std::unique_ptr<DoubleProcess>> Launch(const std::string& script,
                                                       const nlohmann::json& seed,
                                                       const std::string& name);
  ~DoubleProcess();
  DoubleProcess(const DoubleProcess&) = delete;
  DoubleProcess& operator=(const DoubleProcess&) = delete;

  // "http://127.0.0.1:PORT".
  const std::string& endpoint() const { return endpoint_; }
  // Its work directory (WORK/double.log is its request log).
  std::filesystem::path work_dir() const { return dir_->path() / "work"; }

 private:
  DoubleProcess() = default;

  std::unique_ptr<TempDir> dir_;
  pid_t pid_ = -1;
  std::string endpoint_;
};

}  // namespace dbr::test
