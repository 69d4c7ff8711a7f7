// Where and as whom the AWS client works: the config's `aws` block.
#pragma once

#include <string>

namespace dbr {

struct AwsConfig {
  std::string profile;
  std::string region = "us-east-1";
  std::string endpoint_url;  // every service, STS included (tests: the AWS double)
};

}  // namespace dbr
