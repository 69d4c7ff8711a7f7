// `status`: what the relocation has done and how its replication is, as text or JSON; exit 1
// when a side cannot be reached.
#include <iostream>

#include "cli/commands.h"
#include "core/status_view.h"

namespace dbr::cli {

int ShowStatus(const Config& config, const CommandOptions& options) {
  auto view = ReadStatus(config);
  if (!view.ok()) return Failed(options, view.message());
  if (options.output == "json")
    std::cout << StatusJson(*view).dump(2) << "\n";
  else
    std::cout << StatusText(*view);
  return view->source_error.empty() && view->destination_error.empty() ? kExitOk : kExitFailed;
}

}  // namespace dbr::cli
