// The problems found in a config file, each reported as "<file>:<line>:<column>: <field>: <what
// is wrong>", in file order.
#pragma once

#include <yaml-cpp/mark.h>

#include <string>
#include <vector>

#include "util/status.h"

namespace dbr {

class Problems {
 public:
  explicit Problems(std::string origin) : origin_(std::move(origin)) {}

  // `field` may be empty when `what` already names it.
  void Add(const YAML::Mark& mark, const std::string& field, const std::string& what);
  void Add(const std::string& field, const std::string& what) {
    Add(YAML::Mark::null_mark(), field, what);
  }

  bool empty() const { return list_.empty(); }

  // One line per problem, in file order; problems without a position come last.
  Status ToStatus() const;

 private:
  struct Problem {
    int line = 0;  // 1-based; 0: no position
    int column = 0;
    size_t order = 0;
    std::string text;
  };
  std::string origin_;
  std::vector<Problem> list_;
};

}  // namespace dbr
