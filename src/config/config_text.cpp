#include "config/config_text.h"

#include <algorithm>

namespace dbr {

std::string DottedName(const std::string& block, const std::string& key) {
  return block.empty() ? key : block + "." + key;
}

std::string Quoted(const std::string& s) {
  return "\"" + s + "\"";
}

namespace {

// The length of the UTF-8 sequence that starts `text`, or 0 when it is not one.
size_t Utf8Length(std::string_view text) {
  const auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(0);
  const size_t n = lead < 0x80           ? 1
                   : (lead >> 5) == 0x6  ? 2
                   : (lead >> 4) == 0xe  ? 3
                   : (lead >> 3) == 0x1e ? 4
                                         : 0;
  if (n == 0 || n > text.size()) return 0;
  for (size_t i = 1; i < n; ++i)
    if ((byte(i) >> 6) != 0x2) return 0;
  return n;
}

}  // namespace

std::string Printable(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    const size_t n = Utf8Length(text);
    const unsigned char c = static_cast<unsigned char>(text[0]);
    if (n == 0 || c < 0x20 || c == 0x7f)
      out += '?';
    else
      out.append(text.substr(0, n));
    text.remove_prefix(n == 0 ? 1 : n);
  }
  return out;
}

std::string Shown(const std::string& value) {
  constexpr size_t kMax = 60;
  std::string shown = Printable(std::string_view(value).substr(0, kMax));
  if (value.size() > kMax) shown += "...";
  return Quoted(shown);
}

std::string KindOf(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Scalar:
      break;
  }
  return "a value";
}

std::string Normalized(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c == '-') c = '_';
  }
  return s;
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace dbr
