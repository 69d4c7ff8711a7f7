// Shared by the AWS unit tests: a temp directory and the local AWS double
// (tests/aws_double/metadata_double.py) started on a free loopback port and stopped with the
// object.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "aws/credentials.h"
#include "unit/test_support.h"
#include "util/process.h"

namespace dbr::aws::testing {

namespace fs = std::filesystem;

using unit_test::TempDir;

inline fs::path AwsDoubleDir() {
  return unit_test::SourceDir() / "tests/aws_double";
}

inline constexpr const char* kPython = "/usr/bin/python3";

inline std::string ReadFile(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The double runs for the lifetime of this object; construction fails the test (ASSERT in
// the caller via ok()) when it does not come up within five seconds.
class MetadataDouble {
 public:
  explicit MetadataDouble(std::vector<std::string> extra_args = {}) {
    fs::path port_file = dir_.path() / "port";
    std::vector<std::string> argv = {kPython, (AwsDoubleDir() / "metadata_double.py").string(),
                                     "--port-file", port_file.string()};
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    Result<pid_t> pid = SpawnDetached(ProcessSpec{argv, {}, {}, dir_.path() / "stderr"});
    if (!pid.ok()) {
      error_ = pid.message();
      return;
    }
    pid_ = *pid;
    for (int i = 0; i < 100 && !fs::exists(port_file); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!fs::exists(port_file)) {
      error_ = "the AWS double did not start: " + ReadFile(dir_.path() / "stderr");
      return;
    }
    url_ = "http://127.0.0.1:" + ReadFile(port_file);
  }
  ~MetadataDouble() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    for (int i = 0; i < 100 && ProcessAlive(pid_); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  MetadataDouble(const MetadataDouble&) = delete;
  MetadataDouble& operator=(const MetadataDouble&) = delete;

  bool ok() const { return !url_.empty(); }
  const std::string& error() const { return error_; }
  const std::string& url() const { return url_; }  // "http://127.0.0.1:PORT"

 private:
  TempDir dir_;
  pid_t pid_ = -1;
  std::string url_;
  std::string error_;
};

// An EnvLookup over a fixed map: tests never read or change the process environment.
inline EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

}  // namespace dbr::aws::testing
