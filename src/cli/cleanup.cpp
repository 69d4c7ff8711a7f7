#include "core/cleanup.h"

#include <iostream>

#include "cli/commands.h"
#include "util/log.h"

namespace dbr::cli {

int Cleanup(const Config& config, const CommandOptions& options) {
  auto actions = CleanupRelocation(config, {.dry_run = options.dry_run,
                                            .delete_instance = options.delete_instance,
                                            .source_gone = options.source_gone});
  if (!actions.ok()) {
    log::failure("{}", actions.message());
    log::failure("nothing past that point was dropped; fix the cause and run `cleanup` again");
    return actions.status().is_bad_config() ? kExitUsage : kExitFailed;
  }
  if (actions->empty()) {
    std::cout << "nothing to clean up: no object of this relocation exists\n";
    return kExitOk;
  }
  std::cout << (options.dry_run ? "would:\n" : "done:\n");
  for (const auto& a : *actions) std::cout << "  " << a << "\n";
  return kExitOk;
}

}  // namespace dbr::cli
