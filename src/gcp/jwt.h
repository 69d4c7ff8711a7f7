// The signed JWT a Google service account exchanges for an access token (RFC 7523, as Google's
// OAuth 2.0 for server-to-server applications describes it): RS256 over base64url parts.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "util/status.h"

namespace dbr::gcp {

// base64url without padding (RFC 7515, section 2).
std::string Base64Url(std::string_view bytes);

// The RSASSA-PKCS1-v1_5 SHA-256 signature of `data` with the PEM private key `pem` (PKCS#8, as
// in a service account's key file). The error never quotes the key.
Result<std::string> SignRs256(const std::string& pem, std::string_view data);

struct AssertionClaims {
  std::string issuer;    // the service account's client_email
  std::string key_id;    // private_key_id, the header's kid ("" leaves it out)
  std::string scope;     // space-separated OAuth scopes
  std::string audience;  // the token endpoint
  std::chrono::system_clock::time_point issued_at;
};

// header.claims.signature, valid for one hour from issued_at (Google's maximum).
Result<std::string> SignedAssertion(const AssertionClaims& claims, const std::string& pem);

}  // namespace dbr::gcp
