#include "util/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <vector>

namespace dbr {
namespace {

TEST(RunParallel, RunsEveryTaskOnceWithinTheWorkerCount) {
  std::vector<std::atomic<int>> runs(100);
  std::atomic<int> max_worker{-1};
  Status st = RunParallel(3, runs.size(), [&](size_t i, int w) {
    runs[i]++;
    int seen = max_worker.load();
    while (w > seen && !max_worker.compare_exchange_weak(seen, w)) {
    }
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok());
  for (auto& r : runs) EXPECT_EQ(r.load(), 1);
  EXPECT_LE(max_worker.load(), 2);
}

TEST(RunParallel, ReturnsTheFailureAndStopsHandingOutTasks) {
  std::atomic<int> ran{0};
  Status st = RunParallel(1, 10, [&](size_t i, int) {
    ran++;
    return i == 3 ? Status::Error("task 3 broke") : Status::Ok();
  });
  EXPECT_EQ(st.message(), "task 3 broke");
  EXPECT_EQ(ran.load(), 4);
}

TEST(RunParallel, NothingToDoIsSuccess) {
  EXPECT_TRUE(RunParallel(4, 0, [](size_t, int) { return Status::Error("never"); }).ok());
}

}  // namespace
}  // namespace dbr
