// The one way to spread independent tasks over worker threads.
#pragma once

#include <cstddef>
#include <functional>

#include "util/status.h"

namespace dbr {

// Runs task(i, worker) for i in [0, count) on `jobs` threads; `worker` (0..jobs-1) lets a task
// reuse per-worker resources. Stops handing out tasks after the first failure and returns it.
Status RunParallel(int jobs, size_t count, const std::function<Status(size_t, int)>& task);

}  // namespace dbr
