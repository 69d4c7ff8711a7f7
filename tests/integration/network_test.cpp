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
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "harness/app_pair.h"
#include "harness/fault_proxy.h"
#include "harness/wait.h"
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

  // `run` in the background, its log readable as it goes.
  std::unique_ptr<BackgroundDbRelocate> StartRun(const std::filesystem::path& config) {
    return std::make_unique<BackgroundDbRelocate>(
        std::vector<std::string>{"run", "--config", config.string()}, tmp_.path() / "run.log");
  }

  // The newest heartbeat the relocation's writer put on the source (0 before the first).
  int64_t LatestHeartbeat() {
    auto seq = src_->QueryValue("SELECT COALESCE(max(seq), 0) FROM db_relocate.heartbeat", "app");
    return seq.ok() ? std::stoll(*seq) : 0;
  }

  // Waits until the heartbeat writer has written `beats` more heartbeats on the source: its
  // writes get through again (it reconnects on its own) and the run's heartbeat check after
  // catch-up spans the fault.
  void ExpectHeartbeatsGoOn(int beats = 3) {
    const int64_t from = LatestHeartbeat();
    EXPECT_TRUE(WaitFor([&] { return LatestHeartbeat() >= from + beats; }, 60s))
        << "the heartbeat writer wrote no " << beats << " heartbeats after heartbeat " << from;
  }

  // Waits until the application's writer has done `more` operations more than `from`.
  static void ExpectWritesGoOn(const LiveWriter& writer, int64_t from, int64_t more) {
    EXPECT_TRUE(WaitFor([&] { return writer.operations() >= from + more; }, 60s))
        << "the live writer did " << writer.operations() - from << " operations, not " << more
        << ": " << writer.error();
  }

  // Holds back the copy of table `hot` until the returned connection ends its transaction: the
  // test holds a lock on it on the destination, which its COPY waits for. A fault injected once
  // "the copy is under way" then always finds a table not copied yet, however fast the others
  // go (else the last small tables could all be copied between the moment the copy is seen half
  // done and the fault). The lock is taken once the copy has begun: it starts by emptying every
  // table it copies, which the lock would block.
  void HoldBackTheCopyOfHot(std::optional<pg::Connection>* holder) {
    auto conn = dst_->Connect("app");
    ASSERT_TRUE(conn.ok()) << conn.message();
    ASSERT_TRUE(WaitFor(
        [&] {
          auto copying = conn->QueryValue(
              "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE "
              "'COPY % FROM STDIN%'");
          return copying.ok() && *copying != "0";
        },
        60s, 20ms))
        << "the copy never began";
    // The tables are copied largest first, `hot` (one page) among the last.
    Status locked = conn->Exec("BEGIN; LOCK TABLE hot IN SHARE MODE NOWAIT");
    ASSERT_TRUE(locked.ok()) << "the copy of hot had begun already: " << locked.message();
    holder->emplace(std::move(*conn));
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
  // The cut lasts until the run has been refused a reconnect, the application writing meanwhile.
  const int64_t written_before_cut = writer.operations();
  EXPECT_TRUE(run->WaitForLog("connecting to the source failed (attempt 1)")) << run->Log();
  ExpectWritesGoOn(writer, written_before_cut, 1000);
  (*proxy)->Restore();
  // ... and goes on writing once the network is back.
  ExpectWritesGoOn(writer, writer.operations(), 500);
  writer.Stop();
  StopHeartbeatWriter(state_dir());  // the lag can drain to nothing now
  CommandResult r = run->Wait();
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
  std::optional<pg::Connection> hold;
  ASSERT_NO_FATAL_FAILURE(HoldBackTheCopyOfHot(&hold));
  ASSERT_TRUE(WaitForCopyUnderway()) << "the copy was never seen half done";
  (*proxy)->Cut(FaultProxy::Mode::kReset);
  // The cut lasts until the run has noticed it.
  EXPECT_TRUE(run->WaitForLog("a server was lost during the step")) << run->Log();
  (*proxy)->Restore();
  ASSERT_TRUE(hold->Exec("ROLLBACK").ok());
  CommandResult r = run->Wait();
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

// The destination lost between making the slot and recording it: the state cannot be saved (its
// WAL cannot be flushed), so the resumed step lets the unrecorded slot's snapshot go and makes
// both again, as a new `run` would; also when the state records an earlier slot, from a run
// interrupted before it copied anything.
TEST_F(NetworkTest, DestinationCutBeforeTheSlotIsRecordedMakesItAgain) {
  auto proxy = FaultProxy::Start(dst_->port());
  ASSERT_TRUE(proxy.ok()) << proxy.message();
  const auto config = Config("reconnect_timeout: 60\n", nullptr, proxy->get());
  CommandResult interrupted =
      RunDbRelocate({"run", "--config", config.string()}, {{"DBR_CRASH_AT", "after:publication"}});
  ASSERT_EQ(interrupted.exit_code, 128 + 9) << "crash point not reached: " << interrupted.err;
  LiveWriter writer(*src_, "app");
  PauseWindow window("publication:slot-created", tmp_.path() / "release");
  BackgroundDbRelocate run({"run", "--config", config.string()}, tmp_.path() / "run.log",
                           window.Env());
  ASSERT_TRUE(run.WaitForLog("replication slot db_relocate_slot_app created at")) << run.Log();
  (*proxy)->Cut(FaultProxy::Mode::kReset);
  window.Release();
  EXPECT_TRUE(run.WaitForLog("a server was lost during the step")) << run.Log();
  (*proxy)->Restore();
  CommandResult r = run.Wait();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("the state does not record the slot it came with"), std::string::npos)
      << r.err;
  // Made again, with a new snapshot, and the state records the point of the last one made.
  std::vector<std::string> made_at;
  const std::regex made("replication slot db_relocate_slot_app created at ([0-9A-F]+/[0-9A-F]+)");
  for (std::sregex_iterator m(r.err.begin(), r.err.end(), made), end; m != end; ++m)
    made_at.push_back((*m)[1]);
  ASSERT_EQ(made_at.size(), 2u) << r.err;
  auto state = nlohmann::json::parse(*ReadFile(state_dir() / "state.json"));
  EXPECT_EQ(state.value("snapshot_lsn", ""), made_at.back());
  ExpectSynced(&writer);
}

TEST_F(NetworkTest, SourceRestartedDuringTheCopyIsResumed) {
  AddBulkTable();
  auto run = StartRun(Config("reconnect_timeout: 60\n"));
  std::optional<pg::Connection> hold;
  ASSERT_NO_FATAL_FAILURE(HoldBackTheCopyOfHot(&hold));
  ASSERT_TRUE(WaitForCopyUnderway()) << "the copy was never seen half done";
  ASSERT_TRUE(src_->Stop("immediate").ok());
  // The copy of hot goes on, and finds the source gone. The source stays down until the run
  // has noticed.
  ASSERT_TRUE(hold->Exec("ROLLBACK").ok());
  EXPECT_TRUE(run->WaitForLog("a server was lost during the step")) << run->Log();
  ASSERT_TRUE(src_->StartAgain().ok());
  // Written while the relocation recovers: it must arrive too.
  ASSERT_TRUE(
      src_->Exec("INSERT INTO bulk VALUES (400001, 'after', 'the restart', 1)", "app").ok());
  CommandResult r = run->Wait();
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
  // Down until the run has noticed, by the health reading or by a refused reconnect.
  auto noticed = [&] {
    const std::string log = run->Log();
    return log.find("lost the connection to the source during catch-up") != std::string::npos ||
           log.find("connecting to the source failed") != std::string::npos;
  };
  EXPECT_TRUE(WaitFor(noticed, 60s)) << run->Log();
  ASSERT_TRUE(src_->StartAgain().ok());
  ASSERT_TRUE(
      src_->Exec("INSERT INTO big (payload) SELECT md5(g::text) FROM generate_series(1, 500) g",
                 "app")
          .ok());
  ExpectHeartbeatsGoOn();
  StopHeartbeatWriter(state_dir());
  CommandResult r = run->Wait();
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
  const std::string outage = "reconnect_timeout: 5\n";
  auto config = Config("catchup_lag_bytes: 1\n" + outage, proxy->get());
  auto run = StartRun(config);
  ASSERT_TRUE(WaitForCatchUp()) << "the run never reached catch-up";
  const auto cut_at = std::chrono::steady_clock::now();
  (*proxy)->Cut(FaultProxy::Mode::kReset);
  CommandResult r = run->Wait();
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
  // The run resumed starts its own heartbeat writer, which keeps a heartbeat or so in flight:
  // under a one-byte bar catch-up would end only if a poll fell between two of them.
  config = Config(outage, proxy->get());
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
  // The partition's length is what this test is about, not a wait for something: it outlasts
  // the 3 s connect timeout of the sessions db_relocate opens meanwhile (the heartbeat writer's
  // lag sampler), while the sessions it holds must ride it out. A fixed time stays.
  std::this_thread::sleep_for(8s);
  (*to_src)->Restore();
  (*to_dst)->Restore();
  // What was held arrives, and the application and the heartbeat go on after it.
  ExpectWritesGoOn(writer, writer.operations(), 500);
  ExpectHeartbeatsGoOn();
  writer.Stop();
  StopHeartbeatWriter(state_dir());
  CommandResult r = run->Wait();
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
  // Until the newest heartbeat the destination has is more than 4.5 s old.
  auto behind = [&] {
    auto newest = dst_->QueryValue("SELECT max(src_time) FROM db_relocate.heartbeat", "app");
    if (!newest.ok()) return false;
    auto old =
        src_->QueryValue("SELECT clock_timestamp() - '" + *newest + "'::timestamptz > '4.5 s'");
    return old.ok() && *old == "t";
  };
  ASSERT_TRUE(WaitFor(behind, 60s, 200ms)) << "the destination never fell 4.5 s behind";
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
