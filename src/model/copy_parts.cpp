#include "model/copy_parts.h"

#include <numeric>

namespace dbr {

std::vector<int> PlanCopyParts(const std::vector<int64_t>& bytes, int64_t split_above, int jobs) {
  jobs = std::max(1, jobs);
  std::vector<int> parts(bytes.size(), 1);
  const int64_t total = std::accumulate(bytes.begin(), bytes.end(), int64_t{0});
  const int64_t share = (total + jobs - 1) / jobs;
  std::vector<size_t> order(bytes.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return bytes[a] > bytes[b]; });
  std::vector<int64_t> load(static_cast<size_t>(jobs), 0);
  auto least = [&] { return std::min_element(load.begin(), load.end()); };
  for (size_t i : order) {
    const int split = CopyPartsOf(bytes[i], split_above, jobs);
    if (split > 1 && *least() + bytes[i] > share)
      parts[i] = split;  // its parts fill in around the whole tables
    else
      *least() += bytes[i];
  }
  return parts;
}

}  // namespace dbr
