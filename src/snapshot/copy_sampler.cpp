#include "snapshot/copy_sampler.h"

#include "model/timings.h"
#include "util/log.h"

namespace dbr {

CopySampler::CopySampler(const StateStore& store, const RunState& before,
                         const CopyCounters& live, Clock& clock)
    : recorder_(store.dir(), "run", kDefaultSamplesMaxBytes, clock), live_(live) {
  for (const auto& [name, t] : before.tables) {
    if (t.state != TableState::kCopied) continue;
    base_rows_ += t.rows;
    base_bytes_ += t.bytes;
  }
  Sample();  // the start, so that even a copy shorter than a period has a rate
  task_ = std::make_unique<PeriodicTask>(
      Timings::Default().copy.sample_period, [this] { Sample(); }, /*call_when_stopped=*/true,
      clock);
}

void CopySampler::Sample() {
  Status st = recorder_.Record("copy", {{"bytes", base_bytes_ + live_.bytes.load()},
                                        {"rows", base_rows_ + live_.rows.load()}});
  if (!st.ok()) log::debug("{}", st.message());
}

CopySampler::~CopySampler() {
  task_.reset();
}

}  // namespace dbr
