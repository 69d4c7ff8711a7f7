// Records the copy's progress as "copy" samples (report/samples.h) while the copy runs: the
// rows and bytes of the tables copied before it plus what it has streamed so far.
#pragma once

#include <chrono>
#include <memory>

#include "model/run_state.h"
#include "model/samples.h"
#include "pg/copy_stream.h"
#include "util/periodic_task.h"

namespace dbr {

constexpr std::chrono::milliseconds kCopySamplePeriod{2000};

class CopySampler {
 public:
  // At once, then every kCopySamplePeriod, and a last time when destroyed.
  CopySampler(const StateStore& store, const RunState& before, const pg::CopyCounters& live);
  ~CopySampler();

 private:
  void Sample();

  SampleRecorder recorder_;
  int64_t base_rows_ = 0, base_bytes_ = 0;
  const pg::CopyCounters& live_;
  std::unique_ptr<PeriodicTask> task_;
};

}  // namespace dbr
