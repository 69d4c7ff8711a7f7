#include <iostream>

#include "cli/commands.h"
#include "core/preflight.h"

namespace dbr::cli {

int Check(const Config& config, const CommandOptions& options) {
  PreflightReport report = RunPreflight(config);
  if (options.output == "json") {
    std::cout << report.ToJson(config.force).dump(2) << "\n";
  } else {
    std::cout << report.ToText();
    if (config.force && report.Blocks(false) && !report.Blocks(true))
      std::cout << "force: true lets the overridable failures through\n";
  }
  if (report.HasBadConfig()) return kExitUsage;
  return report.Blocks(config.force) ? kExitFailed : kExitOk;
}

}  // namespace dbr::cli
