// Progress of long work on stderr: a line redrawn in place on a terminal, a plain line every
// few seconds when stderr is a file or a pipe.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "util/periodic_task.h"

namespace dbr {

std::string HumanBytes(double bytes);       // "1.5 GB"
std::string HumanDuration(double seconds);  // "1h02m", "3m05s", "4.2s"

class ProgressReporter {
 public:
  // `line` is called from the reporter's thread and returns the text to show.
  explicit ProgressReporter(std::function<std::string()> line);
  ~ProgressReporter();  // stops and prints the last line
  ProgressReporter(const ProgressReporter&) = delete;
  ProgressReporter& operator=(const ProgressReporter&) = delete;

 private:
  void Print(bool final_line);

  std::function<std::string()> line_;
  bool tty_;
  std::unique_ptr<PeriodicTask> task_;  // last: stopped before the rest goes
};

}  // namespace dbr
