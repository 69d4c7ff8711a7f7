// How many parts a table is copied in, for both engines' copies (PostgreSQL's block ranges,
// MySQL's primary-key ranges) and `plan`.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

namespace dbr {

// Tables above `split_above` bytes are split, into at most 4 parts per job.
inline int CopyPartsOf(int64_t bytes, int64_t split_above, int jobs) {
  if (split_above <= 0 || bytes <= split_above) return 1;
  return static_cast<int>(
      std::min<int64_t>((bytes + split_above - 1) / split_above, std::max(2, jobs * 4)));
}

// PostgreSQL's copy: the parts of each table of `bytes` (in any order). A table copied whole is
// loaded in the transaction that empties it (COPY FREEZE: no later pass sets its rows' hint
// bits or visibility), so a table above `split_above` is split (CopyPartsOf) only where it
// would not fit whole: taken largest first, each table goes whole to the least loaded of the
// `jobs` workers unless that worker would then exceed an even share of all the bytes; the parts
// of the tables split for that fill in around the whole ones.
std::vector<int> PlanCopyParts(const std::vector<int64_t>& bytes, int64_t split_above, int jobs);

}  // namespace dbr
