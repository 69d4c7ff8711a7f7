// The steps of `run`, in the order they run. core/pipeline.cpp's table of steps is checked
// against this list when it compiles; the state keeps each step by name, and the report orders
// steps finished within the same second by it.
#pragma once

#include <cstddef>
#include <iterator>
#include <string_view>

namespace dbr {

inline constexpr std::string_view kStepNames[] = {
    "preflight", "destination",      "heartbeat", "publication", "snapshot", "subscription",
    "catchup",   "heartbeat_verify", "sequences", "proxy",       "verify"};

// The place of `name` in the run; std::size(kStepNames) for a name that is no step.
constexpr size_t StepRank(std::string_view name) {
  size_t i = 0;
  while (i < std::size(kStepNames) && kStepNames[i] != name) ++i;
  return i;
}

}  // namespace dbr
