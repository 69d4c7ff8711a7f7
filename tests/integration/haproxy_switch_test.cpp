// The HAProxy proxy against a real HAProxy (Debian's 2.6) in front of two real
// PostgreSQL clusters: provision, connect through it, pause, point at the destination, resume,
// inspect and stop. No HAProxy process outlives a test, whatever fails.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "harness/cluster.h"
#include "harness/shared_pair.h"
#include "proxy/haproxy.h"
#include "util/process.h"

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

pid_t PidIn(const fs::path& pid_file) {
  std::ifstream in(pid_file);
  pid_t pid = 0;
  return (in >> pid) ? pid : 0;
}

// Stops the managed HAProxy (StopManaged), then kills (SIGKILL) every HAProxy pid the test saw in
// the pid file, in case StopManaged itself is what failed or a reload left an old one.
class HAProxyGuard {
 public:
  HAProxyGuard(Proxy* proxy, fs::path pid_file) : proxy_(proxy), pid_file_(std::move(pid_file)) {}
  ~HAProxyGuard() {
    Note();
    if (proxy_ != nullptr) (void)proxy_->StopManaged();
    for (pid_t pid : pids_) {
      if (!ProcessAlive(pid)) continue;
      ADD_FAILURE() << "haproxy pid " << pid << " still ran at the end of the test; killing it";
      kill(pid, SIGKILL);
    }
  }
  // Records the pid in the pid file now (call after every Provision).
  void Note() {
    if (pid_t pid = PidIn(pid_file_); pid > 0) pids_.insert(pid);
  }

 private:
  Proxy* proxy_;
  fs::path pid_file_;
  std::set<pid_t> pids_;
};

// The suite's shared source and destination: only their ports matter here.
class HAProxySwitchTest : public SharedPairTest {
 protected:
  void SetUp() override {
    SharedPairTest::SetUp();
    if (HasFatalFailure()) return;
    auto port = PickFreePort();
    ASSERT_TRUE(port.ok()) << port.message();
    proxy_port_ = *port;
    config_.state_dir = tmp_.path().string();
    config_.cutover.configured = true;
    config_.cutover.type = ProxyType::kHaproxy;
    config_.cutover.manage = true;
    config_.cutover.listen = "127.0.0.1:" + std::to_string(proxy_port_);
    config_.cutover.admin = (tmp_.path() / "haproxy.sock").string();
    config_.cutover.config_file = (tmp_.path() / "haproxy.cfg").string();
    src_backend_ = {Side::kSource, src_->host(), src_->port(), "postgres"};
    dst_backend_ = {Side::kDestination, dst_->host(), dst_->port(), "postgres"};
  }

  fs::path PidFile() const { return tmp_.path() / "haproxy.pid"; }

  // A new connection through the proxy.
  Result<pg::Connection> ConnectThroughProxy() const {
    pg::ConnParams params = src_->Params();
    params.label = "proxy";
    params.port = proxy_port_;
    params.connect_timeout_s = 3;
    return pg::Connection::Open(params);
  }
  // The port of the server a new connection through the proxy lands on.
  std::string LandsOnPort() const {
    auto conn = ConnectThroughProxy();
    if (!conn.ok()) return "connect failed: " + conn.message();
    auto port = conn->QueryValue("SELECT current_setting('port')");
    return port.ok() ? *port : "query failed: " + port.message();
  }

  TempDir tmp_{"dbr-hap"};
  Config config_;
  int proxy_port_ = 0;
  Backend src_backend_, dst_backend_;
};

TEST_F(HAProxySwitchTest, ProvisionPauseSwitchResumeStop) {
  auto proxy = MakeHAProxy(config_);
  HAProxyGuard guard(proxy.get(), PidFile());
  EXPECT_STREQ(proxy->name(), "HAProxy");

  ASSERT_TRUE(proxy->Provision(src_backend_, dst_backend_).ok());
  guard.Note();
  const pid_t pid = PidIn(PidFile());
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(ProcessAlive(pid));
  EXPECT_TRUE(fs::exists(config_.cutover.config_file));
  EXPECT_TRUE(fs::exists(config_.cutover.admin));

  // Idempotent: the same provision keeps the same process.
  Status again = proxy->Provision(src_backend_, dst_backend_);
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_EQ(PidIn(PidFile()), pid);

  auto state = proxy->Inspect();
  ASSERT_TRUE(state.ok()) << state.message();
  EXPECT_TRUE(state->running) << state->detail;
  EXPECT_FALSE(state->paused) << state->detail;
  EXPECT_EQ(state->active, Side::kSource) << state->detail;

  EXPECT_EQ(LandsOnPort(), std::to_string(src_->port()));
  auto existing = ConnectThroughProxy();
  ASSERT_TRUE(existing.ok()) << existing.message();
  auto before = existing->QueryValue("SELECT current_setting('port')");
  ASSERT_TRUE(before.ok()) << before.message();
  EXPECT_EQ(*before, std::to_string(src_->port()));

  Status paused = proxy->Pause(std::chrono::seconds(5));
  ASSERT_TRUE(paused.ok()) << paused.message();
  // The existing session was ended, and a new one is not served while paused.
  auto after = existing->QueryValue("SELECT 1");
  EXPECT_FALSE(after.ok()) << "the session to src survived the pause";
  auto refused = ConnectThroughProxy();
  EXPECT_FALSE(refused.ok()) << "a new connection was served while paused";
  if (!refused.ok()) std::cout << "connecting while paused: " << refused.message() << "\n";
  state = proxy->Inspect();
  ASSERT_TRUE(state.ok()) << state.message();
  EXPECT_TRUE(state->paused) << state->detail;
  EXPECT_EQ(state->active, std::nullopt) << state->detail;

  Status pointed = proxy->PointTo(dst_backend_);
  ASSERT_TRUE(pointed.ok()) << pointed.message();
  EXPECT_FALSE(ConnectThroughProxy().ok()) << "PointTo must not take effect before Resume";
  Status resumed = proxy->Resume();
  ASSERT_TRUE(resumed.ok()) << resumed.message();

  EXPECT_EQ(LandsOnPort(), std::to_string(dst_->port()));
  state = proxy->Inspect();
  ASSERT_TRUE(state.ok()) << state.message();
  EXPECT_TRUE(state->running);
  EXPECT_FALSE(state->paused) << state->detail;
  EXPECT_EQ(state->active, Side::kDestination) << state->detail;
  EXPECT_NE(state->detail.find("postgres/dst"), std::string::npos) << state->detail;
  std::cout << state->detail;

  Status stopped = proxy->StopManaged();
  ASSERT_TRUE(stopped.ok()) << stopped.message();
  EXPECT_FALSE(ProcessAlive(pid));
  EXPECT_FALSE(fs::exists(config_.cutover.admin));
  EXPECT_FALSE(ConnectThroughProxy().ok());
  state = proxy->Inspect();
  ASSERT_TRUE(state.ok()) << state.message();
  EXPECT_FALSE(state->running) << state->detail;
}

TEST_F(HAProxySwitchTest, ProvisionReloadsWhenTheActiveSideChangesAndRuntimeFollowsConfig) {
  auto proxy = MakeHAProxy(config_);
  HAProxyGuard guard(proxy.get(), PidFile());
  ASSERT_TRUE(proxy->Provision(src_backend_, dst_backend_).ok());
  guard.Note();
  const pid_t first = PidIn(PidFile());
  EXPECT_EQ(LandsOnPort(), std::to_string(src_->port()));

  // A different config: graceful reload, a new process, the old one gone (it had no sessions).
  Status reloaded = proxy->Provision(dst_backend_, src_backend_);
  ASSERT_TRUE(reloaded.ok()) << reloaded.message();
  guard.Note();
  const pid_t second = PidIn(PidFile());
  EXPECT_NE(second, first);
  EXPECT_EQ(LandsOnPort(), std::to_string(dst_->port()));
  for (int i = 0; i < 100 && ProcessAlive(first); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(ProcessAlive(first)) << "the reloaded-away haproxy still runs";

  // Runtime state drifted from the config (someone switched by hand): provision puts it back
  // without a reload.
  ASSERT_TRUE(proxy->PointTo(src_backend_).ok());
  ASSERT_TRUE(proxy->Resume().ok());
  EXPECT_EQ(LandsOnPort(), std::to_string(src_->port()));
  ASSERT_TRUE(proxy->Provision(dst_backend_, src_backend_).ok());
  EXPECT_EQ(PidIn(PidFile()), second);
  EXPECT_EQ(LandsOnPort(), std::to_string(dst_->port()));
}

TEST_F(HAProxySwitchTest, PauseWithoutSocketIsAClearError) {
  config_.cutover.manage = false;
  config_.cutover.admin = (tmp_.path() / "nothing-here.sock").string();
  auto proxy = MakeHAProxy(config_);
  Status paused = proxy->Pause(std::chrono::seconds(1));
  ASSERT_FALSE(paused.ok());
  EXPECT_NE(paused.message().find(config_.cutover.admin), std::string::npos) << paused.message();
  EXPECT_NE(paused.message().find("stats socket"), std::string::npos) << paused.message();
  EXPECT_FALSE(proxy->Resume().ok());
  auto state = proxy->Inspect();
  ASSERT_TRUE(state.ok()) << state.message();
  EXPECT_FALSE(state->running);
  EXPECT_NE(state->detail.find(config_.cutover.admin), std::string::npos) << state->detail;
  // Unmanaged: StopManaged leaves everything alone.
  EXPECT_TRUE(proxy->StopManaged().ok());
}

TEST_F(HAProxySwitchTest, ProvisionSurfacesHAProxyConfigErrors) {
  auto proxy = MakeHAProxy(config_);
  HAProxyGuard guard(proxy.get(), PidFile());
  Backend unresolvable = dst_backend_;
  unresolvable.host = "no-such-host.invalid";
  Status s = proxy->Provision(src_backend_, unresolvable);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("could not resolve address 'no-such-host.invalid'"), std::string::npos)
      << s.message();
  EXPECT_NE(s.message().find(config_.cutover.config_file), std::string::npos) << s.message();
  EXPECT_EQ(PidIn(PidFile()), 0) << "nothing may start on a rejected config";

  config_.cutover.listen = "127.0.0.1";
  auto bad_listen = MakeHAProxy(config_);
  s = bad_listen->Provision(src_backend_, dst_backend_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cutover.listen"), std::string::npos) << s.message();
}

TEST_F(HAProxySwitchTest, ProvisionFailsClearlyWhenTheListenPortIsTaken) {
  // The destination's own port is in use: HAProxy cannot bind it.
  config_.cutover.listen = "127.0.0.1:" + std::to_string(dst_->port());
  auto proxy = MakeHAProxy(config_);
  HAProxyGuard guard(proxy.get(), PidFile());
  Status s = proxy->Provision(src_backend_, dst_backend_);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("cannot start HAProxy"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find(std::to_string(dst_->port())), std::string::npos) << s.message();
}

}  // namespace
}  // namespace dbr::test
