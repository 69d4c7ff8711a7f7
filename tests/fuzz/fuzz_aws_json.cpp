// AWS JSON: the JSON 1.1 error parser, KMS DescribeKey's reply, and the credentials JSON of
// credential_process, the container endpoint and IMDS (with its ISO 8601 Expiration).
#include <cstddef>
#include <cstdint>

#include "aws/client.h"
#include "aws/credential_sources.h"
#include "aws/rds.h"
#include "fuzz_support.h"

using namespace dbr::aws;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(dbr::fuzz::AsText(data, size));
  dbr::HttpResponse response{400, {}, body};
  (void)ParseJsonError(response);
  response.headers = {{"x-amzn-errortype", body}};
  (void)ParseJsonError(response);

  nlohmann::json json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_discarded()) (void)ParseKmsKey(json);
  (void)CredentialsFromJson(body, "SessionToken", "fuzz");
  (void)CredentialsFromJson(body, "Token", "fuzz");
  (void)dbr::ParseIso8601(body);
  return 0;
}
