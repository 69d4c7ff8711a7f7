// Records the copy's progress as "copy" samples (report/samples.h) while the copy runs: the
// rows and bytes of the tables copied before it plus what it has streamed so far.
#pragma once

#include <memory>

#include "model/run_state.h"
#include "model/samples.h"
#include "util/clock.h"
#include "util/copy_counters.h"
#include "util/periodic_task.h"

namespace dbr {

class CopySampler {
 public:
  // At once, then every copy.sample_period of `clock` (model/timings.h), and a last time when
  // destroyed.
  CopySampler(const StateStore& store, const RunState& before, const CopyCounters& live,
              Clock& clock = RealClock());
  ~CopySampler();

 private:
  void Sample();

  SampleRecorder recorder_;
  int64_t base_rows_ = 0, base_bytes_ = 0;
  const CopyCounters& live_;
  std::unique_ptr<PeriodicTask> task_;
};

}  // namespace dbr
