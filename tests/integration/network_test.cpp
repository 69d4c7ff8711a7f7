// Faults between db_relocate and the servers, and between the servers, while `run` works: the
// network cut (connections reset, new ones refused) or partitioned (nothing passes, nobody is
// told) and restored through a FaultProxy on loopback, and servers restarted. The run waits an
// outage out and goes on, or, past `reconnect_timeout`, stops with a clear error and a later
// `run` resumes; either way nothing is lost.
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "harness/app_pair.h"
#include "harness/fault_proxy.h"
#include "util/files.h"

namespace dbr::test {
namespace {

using namespace std::chrono_literals;

class NetworkTest : public AppPairTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(StartAppPair());
    ASSERT_TRUE(LoadRichSchema(*src_, "app", 2000).ok());
  }

  // The config with db_relocate (and the subscription, which connects where the config says the
  // source is) going through `src_via` / `dst_via` when given.
  std::filesystem::path Config(const std::string& extra, const FaultProxy* src_via = nullptr,
                               const FaultProxy* dst_via = nullptr) {
    auto path = WriteConfig(tmp_.path(), *src_, *dst_, "app", extra);
    std::string text = *ReadFile(path);
    auto reroute = [&](int from, const FaultProxy* via) {
      if (via == nullptr) return;
      text = std::regex_replace(text, std::regex("port: " + std::to_string(from) + "\n"),
                                "port: " + std::to_string(via->port()) + "\n");
    };
    reroute(src_->port(), src_via);
    reroute(dst_->port(), dst_via);
    std::ofstream(path) << text;
    return path;
  }

  std::future<CommandResult> StartRun(const std::filesystem::path& config) {
    return std::async(std::launch::async, [config] {
      return RunDbRelocate({"run", "--config", config.string()});
    });
  }

  // Waits (up to 60 s) until the run's state file satisfies `reached`.
  bool WaitForState(const std::function<bool(const nlohmann::json&)>& reached) {
    for (int i = 0; i < 3000; ++i) {
      auto text = ReadFile(state_dir() / "state.json");
      if (text.ok()) {
        auto j = nlohmann::json::parse(*text, nullptr, false);
        if (!j.is_discarded() && reached(j)) return true;
      }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  }

  bool WaitForCatchUp() {
    return WaitForState(
        [](const nlohmann::json& j) { return j.value("current_step", "") == "catchup"; });
  }

  // While the rows are being copied, with at least one table copied and one not.
  bool WaitForCopyUnderway() {
    return WaitForState([](const nlohmann::json& j) {
      if (j.value("snapshot_phase", "") != "rows") return false;
      bool copied = false, pending = false;
      for (const auto& [name, t] : j["tables"].items()) {
        copied = copied || t.value("state", "") == "copied";
        pending = pending || t.value("state", "") == "pending";
      }
      return copied && pending;
    });
  }

  // Enough rows that copying them takes a few seconds: room to cut the network in the middle.
  void AddBulkTable() {
    ASSERT_TRUE(src_->Exec("CREATE TABLE bulk (id bigint PRIMARY KEY, a text, b text, c float8);"
                           "INSERT INTO bulk SELECT g, md5(random()::text) || md5(random()::text), "
                           "md5(g::text) || random()::text, random() "
                           "FROM generate_series(1, 400000) g",
                           "app")
                    .ok());
  }

  void ExpectSynced(LiveWriter* writer) {
    StopWritersAndExpectSynced(writer, state_dir(), *src_, "app", dst_->Params("app"),
                               kRichSchemas);
  }
};

TEST_F(NetworkTest, SourceCutDuringCatchUpIsWaitedOut) {
  auto proxy = FaultProxy::Start(src_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.message();
  LiveWriter writer(*src_, "app");  // the application reaches the source directly
  auto run = StartRun(Config("catchup_lag_bytes: 1\nreconnect_timeout: 60\n", proxy->get()));
  ASSERT_TRUE(WaitForCatchUp()) << "the run never reached catch-up";
  (*proxy)->Cut(FaultProxy::Mode::kReset);
  std::this_thread::sleep_for(6s);
  (*proxy)->Restore();
  std::this_thread::sleep_for(3s);
  writer.Stop();
  StopHeartbeatWriter(state_dir());  // the lag can drain to nothing now
  CommandResult r = run.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("connecting to the source failed (attempt 1)"), std::string::npos) << r.err;
  ExpectSynced(&writer);
}

TEST_F(NetworkTest, DestinationCutDuringTheCopyResumesUnderTheSameSnapshot) {
  AddBulkTable();
  auto proxy = FaultProxy::Start(dst_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.message();
  LiveWriter writer(*src_, "app");
  auto run = StartRun(Config("reconnect_timeout: 60\n", nullptr, proxy->get()));
  ASSERT_TRUE(WaitForCopyUnderway()) << "the copy was never seen half done";
  (*proxy)->Cut(FaultProxy::Mode::kReset);
  std::this_thread::sleep_for(4s);
  (*proxy)->Restore();
  CommandResult r = run.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("a server was lost during the step"), std::string::npos) << r.err;
  // The source was never lost: its exported snapshot still holds, the copy goes on under it and
  // no table is left to the subscription's own synchronisation.
  EXPECT_NE(r.err.find("keeping replication slot db_relocate_slot_app and its exported snapshot"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("table synchronisation"), std::string::npos) << r.err;
  ExpectSynced(&writer);
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM bulk", "app"), "400000");
}

TEST_F(NetworkTest, SourceRestartedDuringTheCopyIsResumed) {
  AddBulkTable();
  auto run = StartRun(Config("reconnect_timeout: 60\n"));
  ASSERT_TRUE(WaitForCopyUnderway()) << "the copy was never seen half done";
  ASSERT_TRUE(src_->Stop("immediate").ok());
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(src_->StartAgain().ok());
  // Written while the relocation recovers: it must arrive too.
  ASSERT_TRUE(
      src_->Exec("INSERT INTO bulk VALUES (400001, 'after', 'the restart', 1)", "app").ok());
  CommandResult r = run.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("a server was lost during the step"), std::string::npos) << r.err;
  // The exported snapshot died with the source's sessions: what was not copied under it is
  // copied by the subscription's table synchronisation, consistently with the change stream.
  EXPECT_NE(r.err.find("table synchronisation"), std::string::npos) << r.err;
  ExpectSynced(nullptr);
  EXPECT_EQ(*dst_->QueryValue("SELECT count(*) FROM bulk", "app"), "400001");
}

TEST_F(NetworkTest, SourceRestartedDuringCatchUpIsWaitedOut) {
  auto run = StartRun(Config("catchup_lag_bytes: 1\n"));
  ASSERT_TRUE(WaitForCatchUp()) << "the run never reached catch-up";
  ASSERT_TRUE(src_->Stop("fast").ok());
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(src_->StartAgain().ok());
  ASSERT_TRUE(
      src_->Exec("INSERT INTO big (payload) SELECT md5(g::text) FROM generate_series(1, 500) g",
                 "app")
          .ok());
  std::this_thread::sleep_for(2s);
  StopHeartbeatWriter(state_dir());
  CommandResult r = run.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Noticed either by the health reading or by the reconnect before it, whichever ran first.
  EXPECT_TRUE(r.err.find("lost the connection to the source during catch-up") !=
                  std::string::npos ||
              r.err.find("connecting to the source failed") != std::string::npos)
      << r.err;
  ExpectSynced(nullptr);
}

TEST_F(NetworkTest, LastingOutageStopsTheRunClearlyAndTheNextRunResumes) {
  auto proxy = FaultProxy::Start(src_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.message();
  auto config = Config("catchup_lag_bytes: 1\nreconnect_timeout: 5\n", proxy->get());
  auto run = StartRun(config);
  ASSERT_TRUE(WaitForCatchUp()) << "the run never reached catch-up";
  const auto cut_at = std::chrono::steady_clock::now();
  (*proxy)->Cut(FaultProxy::Mode::kReset);
  CommandResult r = run.get();
  const auto gave_up_after = std::chrono::steady_clock::now() - cut_at;
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.err.find("connecting to the source failed for"), std::string::npos) << r.err;
  EXPECT_NE(
      r.err.find("cannot connect to source ops@127.0.0.1:" + std::to_string((*proxy)->port())),
      std::string::npos)
      << r.err;
  // Bounded: reconnect_timeout, plus one backoff and the connect itself.
  EXPECT_LT(gave_up_after, 30s);

  (*proxy)->Restore();
  StopHeartbeatWriter(state_dir());
  CommandResult again = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.err.find("resuming"), std::string::npos) << again.err;
  ExpectSynced(nullptr);
}

TEST_F(NetworkTest, PartitionDuringCatchUpIsRiddenOut) {
  // Nothing passes for a while and no side is told (a switch reboots): what was sent meanwhile
  // arrives once the network is back, as TCP would retransmit it.
  auto to_src = FaultProxy::Start(src_->port());
  auto to_dst = FaultProxy::Start(dst_->port());
  ASSERT_TRUE(to_src.ok() && to_dst.ok());
  LiveWriter writer(*src_, "app");
  auto run = StartRun(
      Config("catchup_lag_bytes: 1\nreconnect_timeout: 60\n", to_src->get(), to_dst->get()));
  ASSERT_TRUE(WaitForCatchUp()) << "the run never reached catch-up";
  (*to_src)->Cut(FaultProxy::Mode::kBlackhole);
  (*to_dst)->Cut(FaultProxy::Mode::kBlackhole);
  std::this_thread::sleep_for(8s);
  (*to_src)->Restore();
  (*to_dst)->Restore();
  std::this_thread::sleep_for(2s);
  writer.Stop();
  StopHeartbeatWriter(state_dir());
  CommandResult r = run.get();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ExpectSynced(&writer);
}

TEST_F(NetworkTest, ReplicationBetweenTheServersCutIsShownAndRecovers) {
  CommandResult r = RunDbRelocate({"run", "--config", Config("").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Only the subscription goes through the proxy: db_relocate still reaches both servers.
  auto proxy = FaultProxy::Start(src_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.message();
  auto state = nlohmann::json::parse(*ReadFile(state_dir() / "state.json"));
  std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string((*proxy)->port()) +
      " dbname=app user=upgrade password=" + state["replication_password"].get<std::string>();
  ASSERT_TRUE(
      dst_->Exec("ALTER SUBSCRIPTION db_relocate_sub CONNECTION '" + conninfo + "'", "app").ok());
  ASSERT_TRUE(WaitUntilApplied(*src_, "app").ok());
  LiveWriter writer(*src_, "app");
  (*proxy)->Cut(FaultProxy::Mode::kReset);
  std::this_thread::sleep_for(8s);
  // While the link is down, status shows the destination falling behind.
  CommandResult down = RunDbRelocate(
      {"status", "--config", (tmp_.path() / "relocate.yaml").string(), "--output", "json"});
  auto j = nlohmann::json::parse(down.out);
  EXPECT_GT(j["replication"]["heartbeat"]["lag_seconds"].get<double>(), 4.0) << down.out;
  EXPECT_GT(j["replication"]["slot"]["lag_bytes"].get<int64_t>(), 0) << down.out;
  (*proxy)->Restore();
  ExpectSynced(&writer);
  CommandResult up = RunDbRelocate(
      {"status", "--config", (tmp_.path() / "relocate.yaml").string(), "--output", "json"});
  EXPECT_TRUE(nlohmann::json::parse(up.out)["replication"]["subscription"]["apply_worker_running"]
                  .get<bool>())
      << up.out;
}

}  // namespace
}  // namespace dbr::test
