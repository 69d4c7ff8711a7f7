// The relocation, top to bottom: the ordered steps of `run` (named in model/steps.h), each timed
// and recorded in the run state so that a `run` started again skips what is done.
#pragma once

#include "config/config.h"
#include "util/status.h"

namespace dbr {

Status RunRelocation(const Config& config);

}  // namespace dbr
