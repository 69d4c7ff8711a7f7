#include "util/periodic_task.h"

namespace dbr {

PeriodicTask::PeriodicTask(std::chrono::milliseconds period, std::function<void()> task,
                           bool call_when_stopped, Clock& clock)
    : period_(period),
      task_(std::move(task)),
      call_when_stopped_(call_when_stopped),
      clock_(clock),
      thread_([this] { Loop(); }) {}

PeriodicTask::~PeriodicTask() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  if (call_when_stopped_) task_();
}

void PeriodicTask::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!clock_.SleepFor(period_, cv_, lock, [this] { return stop_; })) {
    lock.unlock();
    task_();
    lock.lock();
  }
}

}  // namespace dbr
