// Where and as whom the Google client works: the config's `gcp` block (provider cloudsql).
#pragma once

#include <string>

namespace dbr {

struct GcpConfig {
  std::string project;           // required with provider cloudsql
  std::string region;            // empty: the source instance's region
  std::string credentials_file;  // empty: the default chain (gcp/credentials.h)
  std::string endpoint_url;      // tests: one base URL for the Admin API, OAuth2 and Logging
};

}  // namespace dbr
