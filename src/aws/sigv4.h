// AWS Signature Version 4, as the AWS documentation and botocore define it. Pure: the request
// and the clock in, the signed headers out.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "aws/credentials.h"
#include "util/http.h"

namespace dbr::aws {

struct SigningInput {
  std::string service;  // "rds", "sts", "kms", "ec2"
  std::string region;
  std::chrono::system_clock::time_point now;
};

// Adds Host (when absent), X-Amz-Date, X-Amz-Security-Token (with a session token) and
// Authorization to `request`.
void SignV4(HttpRequest& request, const Credentials& credentials, const SigningInput& input);

// The intermediate forms, for the published test vectors and for messages.
std::string CanonicalRequest(const HttpRequest& request, const std::string& signed_headers);
std::string StringToSign(const std::string& canonical_request, const SigningInput& input);

// RFC 3986 percent-encoding: everything but A-Z a-z 0-9 - _ . ~ (and '/' unless encode_slash).
std::string UriEncode(std::string_view s, bool encode_slash = true);
std::string Sha256Hex(std::string_view data);

}  // namespace dbr::aws
