// The relocation, top to bottom: the ordered steps of `run`, each timed and recorded in the
// run state so that a `run` started again skips what is done.
#pragma once

#include <string_view>
#include <vector>

#include "config/config.h"
#include "util/status.h"

namespace dbr {

Status RunRelocation(const Config& config);

// The names of the steps, in their order (the `steps` of the state; docs/resume.md).
std::vector<std::string_view> StepNames();

}  // namespace dbr
