// The config file: YAML of any shape gives a Config or a Result error; it never crashes, throws
// out or hangs.
#include <cstddef>
#include <cstdint>

#include "config/config.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(dbr::fuzz::AsText(data, size));
  dbr::Result<dbr::Config> config = dbr::ParseConfig(text, "<fuzz>");
  if (config.ok()) (void)dbr::ConfigWarnings(*config);
  return 0;
}
