// How the application's traffic is moved at cut-over (issue #4): PgBouncer (PAUSE, repoint,
// RESUME) or HAProxy (runtime API). The cut-over step talks only to this interface.
#pragma once

#include <string>

#include "util/status.h"

namespace dbr {

struct Backend {
  std::string host;
  int port = 0;
};

class TrafficSwitch {
 public:
  virtual ~TrafficSwitch() = default;
  virtual const char* name() const = 0;
  // Holds new transactions (in-flight ones finish); Resume() undoes it.
  virtual Status Pause() = 0;
  virtual Status Resume() = 0;
  // Sends new connections to `backend`.
  virtual Status PointTo(const Backend& backend) = 0;
};

}  // namespace dbr
