// Crash-safe file writes and the single-instance lock.
#pragma once

#include <filesystem>
#include <string>

#include "util/status.h"

namespace dbr {

// Writes to a temporary file, fsyncs it, renames it over `path` and fsyncs the folder: after a
// crash the file holds either the old or the new content, never a mix. Mode 0600.
Status WriteFileAtomic(const std::filesystem::path& path, const std::string& content);
Result<std::string> ReadFile(const std::filesystem::path& path);
Status EnsureDirectory(const std::filesystem::path& dir);  // created 0700 when missing

// An exclusive advisory lock (flock) held for the object's lifetime.
class FileLock {
 public:
  static Result<FileLock> Acquire(const std::filesystem::path& path, const std::string& what);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_ = -1;
};

// A random password of `length` characters from an unambiguous alphabet (from /dev/urandom).
std::string RandomPassword(size_t length = 32);

}  // namespace dbr
