// Waiting on AWS: every wait polls with a growing delay, shows progress, and gives up after a
// timeout with a message saying that `run` again keeps waiting.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "aws/rds.h"
#include "util/clock.h"
#include "util/status.h"

namespace dbr {

// Polls `done` until it returns true (it may set *progress for the progress line), waiting on
// `clock`.
Status WaitForAws(const std::string& what, int64_t timeout_s,
                  const std::function<Result<bool>(std::string* progress)>& done,
                  Clock& clock = RealClock());

// Until the instance is available (*out: its last description, when given).
Status WaitForInstance(aws::Rds& rds, const std::string& id, int64_t timeout_s,
                       aws::DbInstance* out, Clock& clock = RealClock());

// Until the snapshot is available, at `engine_version` when that is not empty.
Status WaitForSnapshot(aws::Rds& rds, const std::string& id, const std::string& engine_version,
                       int64_t timeout_s, Clock& clock = RealClock());

}  // namespace dbr
