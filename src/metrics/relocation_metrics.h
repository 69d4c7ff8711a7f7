// The metrics of one relocation, rendered from its state folder alone: state.json for the step,
// tables and switches, figures/*.json for what the processes measured last (see
// report/samples.h). Any process of the relocation renders the same page.
#pragma once

#include <filesystem>
#include <string>

namespace dbr::metrics {

// Lag figures older than this are left out rather than shown stale: nobody is measuring.
constexpr double kLagFreshSeconds = 120;

std::string RenderRelocationMetrics(const std::filesystem::path& state_dir, double now);

}  // namespace dbr::metrics
