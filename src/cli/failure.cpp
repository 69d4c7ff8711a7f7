#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "util/log.h"

namespace dbr::cli {

int Failed(const CommandOptions& options, const std::string& what) {
  log::failure("{}", what);
  // A server's message may not be UTF-8: replaced, not thrown on.
  if (options.output == "json")
    std::cout << nlohmann::json{{"error", what}}.dump(2, ' ', false,
                                                      nlohmann::json::error_handler_t::replace)
              << "\n";
  return kExitFailed;
}

}  // namespace dbr::cli
