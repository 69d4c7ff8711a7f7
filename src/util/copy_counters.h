// What a copy has streamed so far: its workers add to it, progress lines and the report's
// samples read it meanwhile. Shared by both engines' copies.
#pragma once

#include <atomic>
#include <cstdint>

namespace dbr {

struct CopyCounters {
  std::atomic<int64_t> bytes{0};
  std::atomic<int64_t> rows{0};
};

}  // namespace dbr
