#include "model/samples.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

#include "util/files.h"
#include "util/text.h"

namespace dbr {
namespace {

std::string Errno() {
  return strerror(errno);
}

// Blocking flock on <state_dir>/samples.lock: appends, thinning and the errors count of several
// processes must not interleave.
class SamplesLock {
 public:
  explicit SamplesLock(const std::filesystem::path& dir) {
    fd_ = open((dir / "samples.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~SamplesLock() {
    if (fd_ >= 0) close(fd_);
  }
  SamplesLock(const SamplesLock&) = delete;
  SamplesLock& operator=(const SamplesLock&) = delete;
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

std::optional<Sample> ParseLine(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  auto t = j.find("t");
  auto kind = j.find("kind");
  if (t == j.end() || !t->is_number() || kind == j.end() || !kind->is_string()) return std::nullopt;
  return Sample{t->get<double>(), kind->get<std::string>(), std::move(j)};
}

Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::Error(Errno());
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

SampleRecorder::SampleRecorder(std::filesystem::path state_dir, std::string process,
                               size_t max_bytes, Clock& clock)
    : dir_(std::move(state_dir)),
      process_(std::move(process)),
      max_bytes_(max_bytes),
      clock_(clock) {}

Status SampleRecorder::Record(const std::string& kind, nlohmann::json values,
                              std::chrono::milliseconds min_gap) {
  const Clock::TimePoint now = clock_.Now();
  auto last = last_recorded_.find(kind);
  if (last != last_recorded_.end() && now - last->second < min_gap) return Status::Ok();
  last_recorded_[kind] = now;
  if (!std::filesystem::is_directory(dir_)) return Status::Ok();  // cleaned up: nothing to record
  nlohmann::json line = {{"t", UnixNow()}, {"kind", kind}, {"process", process_}};
  if (values.is_object()) line.update(values);
  DBR_RETURN_IF_ERROR(EnsureDirectory(dir_ / "figures"));
  SamplesLock lock(dir_);
  if (!lock.ok()) return Status::Error("cannot lock the samples of " + dir_.string());
  DBR_RETURN_IF_ERROR(WriteFileAtomic(dir_ / "figures" / (kind + ".json"), line.dump() + "\n"));
  return Append(line);
}

Status SampleRecorder::CountError(const std::string& message) {
  if (!std::filesystem::is_directory(dir_)) return Status::Ok();
  DBR_RETURN_IF_ERROR(EnsureDirectory(dir_ / "figures"));
  SamplesLock lock(dir_);
  if (!lock.ok()) return Status::Error("cannot lock the samples of " + dir_.string());
  nlohmann::json counts = nlohmann::json::object();
  if (auto previous = ReadFigure(dir_, "errors");
      previous && previous->contains("counts") && (*previous)["counts"].is_object())
    counts = (*previous)["counts"];
  counts[process_] = counts.value(process_, int64_t{0}) + 1;
  nlohmann::json line = {{"t", UnixNow()},
                         {"kind", "errors"},
                         {"process", process_},
                         {"message", message.substr(0, 2000)},
                         {"counts", counts}};
  DBR_RETURN_IF_ERROR(WriteFileAtomic(dir_ / "figures" / "errors.json", line.dump() + "\n"));
  return Append(line);
}

Status SampleRecorder::Append(const nlohmann::json& line) {
  const std::filesystem::path file = dir_ / kSamplesFile;
  int fd = open(file.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return Status::Error("cannot append to " + file.string() + ": " + Errno());
  struct stat st {};
  std::string text = line.dump() + "\n";
  if (fstat(fd, &st) == 0 && st.st_size > 0) {
    // A crash may have torn the last line: start on a line of our own.
    char last = '\n';
    if (pread(fd, &last, 1, st.st_size - 1) == 1 && last != '\n') text = "\n" + text;
  }
  Status written = WriteAll(fd, text);
  const auto size = static_cast<size_t>(st.st_size) + text.size();
  close(fd);
  if (!written.ok()) return written.Wrap("cannot append to " + file.string());
  if (size <= max_bytes_) return Status::Ok();
  auto all = ReadFile(file);
  if (!all.ok()) return all.status();
  return WriteFileAtomic(file, ThinSamples(*all));
}

std::string ThinSamples(const std::string& text) {
  std::vector<std::string> lines = SplitLines(text);
  std::erase(lines, std::string());
  const size_t keep_from = lines.size() - lines.size() / 4;
  std::map<std::string, size_t> seen;
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i < keep_from) {
      auto sample = ParseLine(lines[i]);
      if (!sample) continue;
      if (seen[sample->kind]++ % 2 == 1) continue;
    }
    out += lines[i] + "\n";
  }
  return out;
}

SampleLog ReadSamples(const std::filesystem::path& file) {
  SampleLog log;
  auto text = ReadFile(file);
  if (!text.ok()) return log;
  for (const std::string& line : SplitLines(*text)) {
    if (line.empty()) continue;
    if (auto sample = ParseLine(line))
      log.samples.push_back(std::move(*sample));
    else
      ++log.damaged_lines;
  }
  return log;
}

std::optional<nlohmann::json> ReadFigure(const std::filesystem::path& state_dir,
                                         const std::string& kind) {
  auto text = ReadFile(state_dir / "figures" / (kind + ".json"));
  if (!text.ok()) return std::nullopt;
  auto sample = ParseLine(*text);
  if (!sample) return std::nullopt;
  return sample->values;
}

}  // namespace dbr
