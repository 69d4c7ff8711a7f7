// The AWS CLI's shared config and credentials files, the profiles read from them, and the
// credential_process command line split from a setting.
#include <cstddef>
#include <cstdint>

#include "aws/credential_sources.h"
#include "aws/shared_config.h"
#include "fuzz_support.h"

using namespace dbr::aws;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(dbr::fuzz::AsText(data, size));
  dbr::Result<IniFile> ini = ParseIniFile(text, "<fuzz>");
  if (ini.ok()) {
    SharedFiles files;
    files.config = *ini;
    files.credentials = *ini;
    for (const auto& [name, section] : *ini) {
      (void)files.Profile(name);
      if (auto it = section.find("credential_process"); it != section.end())
        (void)SplitCommandLine(it->second);
    }
    (void)files.Profile("default");
  }
  (void)SplitCommandLine(text);
  return 0;
}
