#include "aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <vector>

namespace dbr::aws {
namespace {

// Headers botocore leaves unsigned: proxies and clients may change them on the way.
bool Unsigned(const std::string& lower_name) {
  return lower_name == "authorization" || lower_name == "expect" || lower_name == "user-agent" ||
         lower_name == "x-amzn-trace-id";
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Hex(const unsigned char* data, size_t size) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::string Hmac(const std::string& key, const std::string& data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &size);
  return std::string(reinterpret_cast<const char*>(out), size);
}

// Trimall: no leading or trailing whitespace, runs of whitespace as one space.
std::string TrimAll(const std::string& value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f') {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out.push_back(' ');
    pending_space = false;
    out.push_back(c);
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Query keys and values may arrive raw or already encoded; decoding first makes the canonical
// form the same either way (RFC 3986: '+' is a literal plus, not a space).
std::string PercentDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && HexValue(s[i + 1]) >= 0 && HexValue(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(HexValue(s[i + 1]) * 16 + HexValue(s[i + 2])));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

std::string FormatUtc(std::chrono::system_clock::time_point t, const char* format) {
  std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, format, &tm);
  return std::string(buf, n);
}

std::string Scope(const SigningInput& input) {
  return FormatUtc(input.now, "%Y%m%d") + "/" + input.region + "/" + input.service +
         "/aws4_request";
}

// The lower-cased names in `request` that get signed, sorted and unique.
std::vector<std::string> NamesToSign(const HttpRequest& request) {
  std::vector<std::string> names;
  for (const auto& [name, value] : request.headers) {
    std::string lower = Lower(name);
    if (!Unsigned(lower)) names.push_back(lower);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

void SetHeader(HttpRequest& request, const std::string& name, const std::string& value) {
  std::string lower = Lower(name);
  std::erase_if(request.headers, [&](const auto& h) { return Lower(h.first) == lower; });
  request.headers.emplace_back(name, value);
}

struct UrlParts {
  std::string scheme, host, port, path, query;
};

UrlParts SplitUrl(const std::string& url);
std::string HostHeader(const UrlParts& url);

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kDigits[c >> 4]);
      out.push_back(kDigits[c & 0xf]);
    }
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), out, &size, EVP_sha256(), nullptr);
  return Hex(out, size);
}

namespace {

UrlParts SplitUrl(const std::string& url) {
  UrlParts parts;
  size_t scheme_end = url.find("://");
  size_t authority_start = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  if (scheme_end != std::string::npos) parts.scheme = Lower(url.substr(0, scheme_end));
  size_t path_start = url.find_first_of("/?#", authority_start);
  std::string authority = url.substr(authority_start, path_start - authority_start);
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']', colon) == std::string::npos) {
    parts.host = Lower(authority.substr(0, colon));
    parts.port = authority.substr(colon + 1);
  } else {
    parts.host = Lower(authority);
  }
  std::string rest = path_start == std::string::npos ? "" : url.substr(path_start);
  if (size_t hash = rest.find('#'); hash != std::string::npos) rest.erase(hash);
  size_t question = rest.find('?');
  parts.path = rest.substr(0, question);
  if (question != std::string::npos) parts.query = rest.substr(question + 1);
  if (parts.path.empty()) parts.path = "/";
  return parts;
}

std::string HostHeader(const UrlParts& url) {
  bool default_port = url.port.empty() || (url.scheme == "http" && url.port == "80") ||
                      (url.scheme == "https" && url.port == "443");
  return default_port ? url.host : url.host + ":" + url.port;
}

}  // namespace

std::string CanonicalRequest(const HttpRequest& request, const std::string& signed_headers) {
  UrlParts url = SplitUrl(request.url);

  std::vector<std::pair<std::string, std::string>> query;
  size_t start = 0;
  while (!url.query.empty() && start <= url.query.size()) {
    size_t end = std::min(url.query.find('&', start), url.query.size());
    std::string pair = url.query.substr(start, end - start);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key = pair.substr(0, eq);
      std::string value = eq == std::string::npos ? "" : pair.substr(eq + 1);
      query.emplace_back(UriEncode(PercentDecode(key)), UriEncode(PercentDecode(value)));
    }
    start = end + 1;
  }
  std::sort(query.begin(), query.end());
  std::string canonical_query;
  for (const auto& [key, value] : query) {
    if (!canonical_query.empty()) canonical_query += '&';
    canonical_query += key + "=" + value;
  }

  // Values of repeated headers are joined with commas, in the order they were added.
  std::map<std::string, std::string> values;
  for (const auto& [name, value] : request.headers) {
    std::string& joined = values[Lower(name)];
    if (!joined.empty()) joined += ',';
    joined += TrimAll(value);
  }
  std::string canonical_headers;
  size_t name_start = 0;
  while (name_start <= signed_headers.size() && !signed_headers.empty()) {
    size_t end = std::min(signed_headers.find(';', name_start), signed_headers.size());
    std::string name = signed_headers.substr(name_start, end - name_start);
    std::string value = values[name];
    if (name == "host" && value.empty()) value = HostHeader(url);
    canonical_headers += name + ":" + value + "\n";
    name_start = end + 1;
  }

  return request.method + "\n" + UriEncode(url.path, false) + "\n" + canonical_query + "\n" +
         canonical_headers + "\n" + signed_headers + "\n" + Sha256Hex(request.body);
}

std::string StringToSign(const std::string& canonical_request, const SigningInput& input) {
  return "AWS4-HMAC-SHA256\n" + FormatUtc(input.now, "%Y%m%dT%H%M%SZ") + "\n" + Scope(input) +
         "\n" + Sha256Hex(canonical_request);
}

void SignV4(HttpRequest& request, const Credentials& credentials, const SigningInput& input) {
  bool has_host = std::any_of(request.headers.begin(), request.headers.end(),
                              [](const auto& h) { return Lower(h.first) == "host"; });
  if (!has_host) request.headers.emplace_back("Host", HostHeader(SplitUrl(request.url)));
  SetHeader(request, "X-Amz-Date", FormatUtc(input.now, "%Y%m%dT%H%M%SZ"));
  if (credentials.session_token.empty()) {
    std::erase_if(request.headers,
                  [](const auto& h) { return Lower(h.first) == "x-amz-security-token"; });
  } else {
    SetHeader(request, "X-Amz-Security-Token", credentials.session_token);
  }
  std::erase_if(request.headers, [](const auto& h) { return Lower(h.first) == "authorization"; });

  std::string signed_headers;
  for (const auto& name : NamesToSign(request)) {
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
  }
  std::string to_sign = StringToSign(CanonicalRequest(request, signed_headers), input);

  std::string key = Hmac("AWS4" + credentials.secret_access_key, FormatUtc(input.now, "%Y%m%d"));
  key = Hmac(key, input.region);
  key = Hmac(key, input.service);
  key = Hmac(key, "aws4_request");
  std::string signature = Hmac(key, to_sign);

  request.headers.emplace_back(
      "Authorization",
      "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + "/" + Scope(input) +
          ", SignedHeaders=" + signed_headers + ", Signature=" +
          Hex(reinterpret_cast<const unsigned char*>(signature.data()), signature.size()));
}

}  // namespace dbr::aws
