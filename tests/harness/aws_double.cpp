#include "harness/aws_double.h"

#include <deque>
#include <fstream>

namespace dbr::test {

Result<std::unique_ptr<AwsDouble>> AwsDouble::Start(const nlohmann::json& seed) {
  auto process = DoubleProcess::Launch("tests/aws_double/rds_double.py", seed, "the AWS double");
  if (!process.ok()) return process.status();
  std::unique_ptr<AwsDouble> d(new AwsDouble());
  d->process_ = std::move(*process);
  return d;
}

std::string AwsDouble::LogTail(int lines) const {
  std::ifstream in(log_file());
  std::deque<std::string> tail;
  for (std::string line; std::getline(in, line);) {
    tail.push_back(line);
    if (static_cast<int>(tail.size()) > lines) tail.pop_front();
  }
  std::string out = "last requests to the AWS double:\n";
  for (const auto& l : tail) out += "  " + l + "\n";
  return out;
}

}  // namespace dbr::test
