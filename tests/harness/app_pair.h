// A fixture for tests that need a pair of their own (SharedPairTest shares one across a suite):
// a source and a destination, each with an empty database `app`, a temporary folder holding the
// config and the state, and the relocation's heartbeat writer stopped at the end.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "harness/cluster.h"
#include "harness/relocation.h"

namespace dbr::test {

class AppPairTest : public ::testing::Test {
 protected:
  void StartAppPair(int src_major = 15, int dst_major = 17) {
    auto pair = StartPair(src_major, dst_major);
    ASSERT_TRUE(pair.ok()) << pair.message();
    src_ = std::move(pair->first);
    dst_ = std::move(pair->second);
    ASSERT_TRUE(src_->CreateDatabase("app").ok());
    ASSERT_TRUE(dst_->CreateDatabase("app").ok());
  }

  void TearDown() override { StopHeartbeatWriter(state_dir()); }

  std::filesystem::path state_dir() const { return tmp_.path() / "state"; }

  TempDir tmp_;
  std::unique_ptr<TestCluster> src_, dst_;
};

}  // namespace dbr::test
