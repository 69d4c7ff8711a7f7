// A fixture whose tests share one PostgreSQL 15 cluster, started once per suite (with the
// suite's setup SQL run on it, if any) and stopped after it.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "harness/cluster.h"

namespace dbr::test {

class SharedClusterTest : public ::testing::Test {
 protected:
  // A suite with tables of its own calls this from its SetUpTestSuite.
  static void StartShared(const std::string& setup_sql = "") {
    start_error_.clear();  // from an earlier round of the suite (--gtest_repeat)
    auto c = TestCluster::Start(15);
    if (!c.ok()) {
      start_error_ = c.message();
      return;
    }
    if (!setup_sql.empty()) {
      Status made = (*c)->Exec(setup_sql);
      if (!made.ok()) {
        start_error_ = made.message();
        return;
      }
    }
    cluster_ = std::move(*c);
  }
  static void SetUpTestSuite() { StartShared(); }
  static void TearDownTestSuite() { cluster_.reset(); }
  void SetUp() override {
    ASSERT_TRUE(start_error_.empty()) << start_error_;
    ASSERT_NE(cluster_, nullptr);
  }

  static inline std::unique_ptr<TestCluster> cluster_;
  static inline std::string start_error_;
};

}  // namespace dbr::test
