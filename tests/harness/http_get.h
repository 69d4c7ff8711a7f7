// A plain HTTP GET with libcurl, for the tests that scrape the metrics endpoint. Header-only:
// the unit tests use it without the rest of the harness.
#pragma once

#include <curl/curl.h>

#include <string>

namespace dbr::test {

struct HttpReply {
  long status = 0;  // 0: no answer (error says why)
  std::string content_type;
  std::string body;
  std::string error;
};

inline HttpReply HttpGet(const std::string& url, long timeout_ms = 3000) {
  HttpReply reply;
  CURL* curl = curl_easy_init();
  if (curl == nullptr) {
    reply.error = "curl_easy_init failed";
    return reply;
  }
  auto write = +[](char* data, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(data, size * n);
    return size * n;
  };
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  CURLcode rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) {
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
    char* type = nullptr;
    curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
    if (type != nullptr) reply.content_type = type;
  } else {
    reply.error = curl_easy_strerror(rc);
  }
  curl_easy_cleanup(curl);
  return reply;
}

}  // namespace dbr::test
