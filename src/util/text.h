// Small helpers for text read from files, servers and proxies.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace dbr {

// `s` without the leading and trailing characters found in `chars`.
std::string Trim(std::string_view s, std::string_view chars = " \t\r\n");

// `items` with `sep` between them.
std::string Join(const std::vector<std::string>& items, std::string_view sep = ", ");

// The lines of `text`, empty ones included, each without its line end ("\n" or "\r\n").
std::vector<std::string> SplitLines(std::string_view text);

// The major of a PostgreSQL version: "17.2" -> "17", "17" -> "17".
std::string MajorOf(const std::string& version);

}  // namespace dbr
