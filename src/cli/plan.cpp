#include "core/plan.h"

#include <iostream>

#include "cli/commands.h"
#include "util/log.h"

namespace dbr::cli {

int Plan(const Config& config, const CommandOptions& options) {
  auto plan = MakePlan(config);
  if (!plan.ok()) {
    log::failure("plan: {}", plan.message());
    return kExitFailed;
  }
  if (options.output == "json")
    std::cout << plan->doc.dump(2) << "\n";
  else
    std::cout << plan->ToText();
  return kExitOk;
}

}  // namespace dbr::cli
