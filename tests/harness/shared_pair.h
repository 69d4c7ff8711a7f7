// A fixture whose tests share one PostgreSQL 15 source and one 17 destination, started
// concurrently once per suite and stopped after it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "harness/cluster.h"

namespace dbr::test {

class SharedPairTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    start_error_.clear();  // from an earlier round of the suite (--gtest_repeat)
    auto pair = StartPair(15, 17);
    if (!pair.ok()) {
      start_error_ = pair.message();
      return;
    }
    src_ = std::move(pair->first);
    dst_ = std::move(pair->second);
  }
  static void TearDownTestSuite() {
    src_.reset();
    dst_.reset();
  }
  void SetUp() override {
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    ASSERT_NE(src_, nullptr);
    ASSERT_NE(dst_, nullptr);
  }

  static inline std::unique_ptr<TestCluster> src_, dst_;
  static inline std::string start_error_;
};

}  // namespace dbr::test
