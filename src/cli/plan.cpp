#include "core/plan.h"

#include <iostream>

#include "cli/commands.h"

namespace dbr::cli {

int Plan(const Config& config, const CommandOptions& options) {
  auto plan = MakePlan(config);
  if (!plan.ok()) return Failed(options, "plan: " + plan.message());
  if (options.output == "json")
    std::cout << plan->doc.dump(2) << "\n";
  else
    std::cout << plan->ToText();
  return kExitOk;
}

}  // namespace dbr::cli
