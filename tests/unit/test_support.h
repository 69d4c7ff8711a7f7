// What the unit tests share: the source tree (for fixtures and the test doubles) and a
// temporary directory removed with everything in it.
#pragma once

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>

namespace dbr::unit_test {

namespace fs = std::filesystem;

// The repository checkout the tests were built from (a compile definition of unit_tests).
inline fs::path SourceDir() {
  return fs::path(DBR_SOURCE_DIR);
}

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("dbr_unit_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
             std::to_string(std::random_device{}()));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }
  // Writes `text` to `name` (sub-folders created), optionally executable by its owner.
  fs::path Write(const std::string& name, const std::string& text, bool executable = false) const {
    fs::path file = path_ / name;
    fs::create_directories(file.parent_path());
    std::ofstream(file) << text;
    if (executable) fs::permissions(file, fs::perms::owner_all, fs::perm_options::add);
    return file;
  }

 private:
  fs::path path_;
};

}  // namespace dbr::unit_test
