// What the schema copy reads of pg_restore's output: the `--list` table of contents it filters,
// the error text of a resumed post-data restore and the pre-data script it sends in pieces.
#include <cstddef>
#include <cstdint>
#include <sstream>

#include "fuzz_support.h"
#include "snapshot/restore_list.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(dbr::fuzz::AsText(data, size));
  (void)dbr::FilterRestoreList(
      text, {"EXTENSION - ", "COMMENT - EXTENSION ", "SCHEMA - public ", "SCHEMA - app "});
  (void)dbr::FilterRestoreList(text, {});
  (void)dbr::OnlyAlreadyExistsErrors(text);
  std::istringstream script(text);
  (void)dbr::ForEachScriptPiece(script, 64, [](const std::string&) { return dbr::Status::Ok(); });
  return 0;
}
