// The relocation's figures over time. Each process that sees a figure (the copy, catch-up, the
// heartbeat writer, cut-over) records it as a sample: one JSON object per line appended to
// <state_dir>/samples.jsonl, {"t": <unix seconds>, "kind": "...", "process": "...", ...values}.
// The newest sample of each kind is also kept whole in <state_dir>/figures/<kind>.json, which
// the metrics endpoint reads; the report draws its charts from the samples file.
//
// Kinds: copy {bytes, rows} (relocation totals so far), lag {bytes, seconds}, heartbeat {seq,
// age_seconds} (newest row on the primary), errors {message, counts: {process: n}}.
//
// Bounded: when the file grows past its limit, every second sample of each kind is dropped from
// its older three quarters, so a long relocation keeps its whole span at a coarser step.
#pragma once

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "util/clock.h"
#include "util/status.h"

namespace dbr {

constexpr const char* kSamplesFile = "samples.jsonl";
constexpr size_t kDefaultSamplesMaxBytes = 4 * 1024 * 1024;

struct Sample {
  double t = 0;  // unix seconds
  std::string kind;
  nlohmann::json values;  // the whole line
};

struct SampleLog {
  std::vector<Sample> samples;  // in file order
  size_t damaged_lines = 0;     // not JSON (a line torn by a crash) or without t/kind
};

double UnixNow();

class SampleRecorder {
 public:
  // `process` names the recorder in each sample: run, heartbeat, cutover, rollback. `clock`
  // times the gaps between samples (their "t" is the wall clock's).
  SampleRecorder(std::filesystem::path state_dir, std::string process,
                 size_t max_bytes = kDefaultSamplesMaxBytes, Clock& clock = RealClock());

  // Records a sample of `kind` with `values` (an object); nothing when the state folder is gone.
  // With `min_gap`, a sample of the same
  // kind recorded by this object less than that long ago makes this call a no-op.
  Status Record(const std::string& kind, nlohmann::json values,
                std::chrono::milliseconds min_gap = std::chrono::milliseconds(0));
  // Counts an error of this process in the errors figure (shared by all processes) and records
  // it as a sample with its message.
  Status CountError(const std::string& message);

 private:
  Status Append(const nlohmann::json& line);  // under the samples lock

  std::filesystem::path dir_;
  std::string process_;
  size_t max_bytes_;
  Clock& clock_;
  std::map<std::string, Clock::TimePoint> last_recorded_;
};

SampleLog ReadSamples(const std::filesystem::path& file);
// The newest sample of `kind` from figures/<kind>.json, or nullopt when there is none (or it is
// unreadable).
std::optional<nlohmann::json> ReadFigure(const std::filesystem::path& state_dir,
                                         const std::string& kind);

// The lines of a samples file with every second sample of each kind dropped from all but the
// newest quarter.
std::string ThinSamples(const std::string& text);

}  // namespace dbr
