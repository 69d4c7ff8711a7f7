// Helpers shared by the fuzz targets: splitting one input into several parts, so that one target
// can drive a parser that takes more than one piece of text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace dbr::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The parts of `text` between "\n====\n" separators (the seeds use it to hold several inputs).
inline std::vector<std::string> Parts(std::string_view text) {
  static constexpr std::string_view kSeparator = "\n====\n";
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t at = text.find(kSeparator, start);
    parts.emplace_back(text.substr(start, at == std::string_view::npos ? at : at - start));
    if (at == std::string_view::npos) break;
    start = at + kSeparator.size();
  }
  return parts;
}

}  // namespace dbr::fuzz
