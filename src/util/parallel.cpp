#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <vector>

namespace dbr {

Status RunParallel(int jobs, size_t count, const std::function<Status(size_t, int)>& task) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first_error;
  auto worker = [&](int w) {
    while (!failed) {
      size_t i = next++;
      if (i >= count) return;
      Status st = task(i, w);
      if (!st.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first_error.ok()) first_error = st;
        failed = true;
      }
    }
  };
  int n = static_cast<int>(std::min<size_t>(std::max(1, jobs), std::max<size_t>(1, count)));
  std::vector<std::thread> threads;
  for (int w = 0; w < n; ++w) threads.emplace_back(worker, w);
  for (auto& t : threads) t.join();
  return first_error;
}

}  // namespace dbr
