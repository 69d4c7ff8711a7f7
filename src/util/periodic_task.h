// Calls a function from its own thread every `period` of `clock` (the first time one period after
// it is made) and, unless told not to, a last time when destroyed: for recording figures while
// long work runs. `clock` outlives the task; on a ManualClock the calls follow each other at
// once, a period apart on that clock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "util/clock.h"

namespace dbr {

class PeriodicTask {
 public:
  PeriodicTask(std::chrono::milliseconds period, std::function<void()> task,
               bool call_when_stopped = true, Clock& clock = RealClock());
  ~PeriodicTask();  // stops, waits for a call in flight, then calls once more
  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  void Loop();

  std::chrono::milliseconds period_;
  std::function<void()> task_;
  bool call_when_stopped_;
  Clock& clock_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace dbr
