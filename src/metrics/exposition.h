// Prometheus text exposition format, version 0.0.4: HELP and TYPE lines, then the samples of
// each metric family.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace dbr::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Exposition {
 public:
  // Starts a family; `type` is gauge or counter. Each family is declared once.
  void Family(const std::string& name, const std::string& type, const std::string& help);
  // A sample of the family declared last.
  void Add(double value, const Labels& labels = {});
  const std::string& text() const { return text_; }

 private:
  std::string name_;
  std::string text_;
};

// Label values: backslash, double quote and newline escaped.
std::string EscapeLabelValue(const std::string& value);
// 3, 0.25, NaN, +Inf, -Inf as Prometheus reads them.
std::string FormatValue(double value);

constexpr const char* kContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace dbr::metrics
