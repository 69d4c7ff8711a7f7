#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "util/log.h"

namespace dbr::cli {

int Failed(const CommandOptions& options, const std::string& what) {
  log::failure("{}", what);
  if (options.output == "json") std::cout << nlohmann::json{{"error", what}}.dump(2) << "\n";
  return kExitFailed;
}

}  // namespace dbr::cli
