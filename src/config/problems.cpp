#include "config/problems.h"

#include <algorithm>

namespace dbr {

namespace {
constexpr size_t kMaxReportedProblems = 20;
}  // namespace

void Problems::Add(const YAML::Mark& mark, const std::string& field, const std::string& what) {
  Problem p;
  p.text = field.empty() ? what : field + ": " + what;
  if (!mark.is_null() && mark.line >= 0 && mark.column >= 0) {
    p.line = mark.line + 1;
    p.column = mark.column + 1;
  }
  p.order = list_.size();
  list_.push_back(std::move(p));
}

Status Problems::ToStatus() const {
  std::vector<Problem> sorted = list_;
  std::stable_sort(sorted.begin(), sorted.end(), [](const Problem& a, const Problem& b) {
    if ((a.line == 0) != (b.line == 0)) return b.line == 0;
    if (a.line != b.line) return a.line < b.line;
    if (a.column != b.column) return a.column < b.column;
    return a.order < b.order;
  });
  std::string out;
  for (size_t i = 0; i < sorted.size() && i < kMaxReportedProblems; ++i) {
    if (i > 0) out += "\n";
    out += origin_;
    if (sorted[i].line > 0) {
      out += ":" + std::to_string(sorted[i].line) + ":" + std::to_string(sorted[i].column);
    }
    out += ": " + sorted[i].text;
  }
  if (sorted.size() > kMaxReportedProblems) {
    out += "\n" + origin_ + ": ... and " + std::to_string(sorted.size() - kMaxReportedProblems) +
           " more problems";
  }
  return Status::Error(out);
}

}  // namespace dbr
