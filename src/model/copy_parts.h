// How many parts a table is copied in, for both engines' copies (PostgreSQL's block ranges,
// MySQL's primary-key ranges) and `plan`.
#pragma once

#include <algorithm>
#include <cstdint>

namespace dbr {

// Tables above `split_above` bytes are split, into at most 4 parts per job.
inline int CopyPartsOf(int64_t bytes, int64_t split_above, int jobs) {
  if (split_above <= 0 || bytes <= split_above) return 1;
  return static_cast<int>(
      std::min<int64_t>((bytes + split_above - 1) / split_above, std::max(2, jobs * 4)));
}

}  // namespace dbr
