// `report`: the relocation's HTML report.
#include "report/report.h"

#include <iostream>

#include "cli/commands.h"

namespace dbr::cli {

int MakeReport(const Config& config, const CommandOptions& options) {
  auto file = WriteReport(config, options.report_file);
  if (!file.ok()) {
    std::cerr << "error: " << file.message() << "\n";
    return kExitFailed;
  }
  std::cout << "report written to " << file->string() << "\n";
  return kExitOk;
}

}  // namespace dbr::cli
