#include <iostream>

#include "cli/commands.h"

namespace dbr::cli {

int NotYetAvailable(const std::string& command, const std::string& issue) {
  std::cerr << "error: `db_relocate " << command << "` is not available in this version yet "
            << "(tracked in issue " << issue << "); nothing was done.\n";
  return kExitUsage;
}

}  // namespace dbr::cli
