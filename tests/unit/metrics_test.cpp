// The Prometheus exposition, the relocation's metrics page and the HTTP server that serves it.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <regex>
#include <thread>

#include "harness/http_get.h"
#include "metrics/exposition.h"
#include "metrics/http_server.h"
#include "metrics/relocation_metrics.h"
#include "model/run_state.h"
#include "model/samples.h"
#include "unit/test_support.h"

namespace dbr::metrics {
namespace {

using unit_test::TempDir;

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  close(fd);
  return ntohs(a.sin_port);
}

// Polls until `pred` holds or `timeout` passes.
template <typename Pred>
bool WaitFor(Pred pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

TEST(MetricsExposition, FamiliesHaveHelpAndTypeThenTheirSamples) {
  Exposition e;
  e.Family("db_relocate_step", "gauge", "The step\\now");
  e.Add(1, {{"step", "catchup"}});
  e.Family("db_relocate_copied_rows_total", "counter", "Rows copied");
  e.Add(12345);
  EXPECT_EQ(e.text(),
            "# HELP db_relocate_step The step\\\\now\n"
            "# TYPE db_relocate_step gauge\n"
            "db_relocate_step{step=\"catchup\"} 1\n"
            "# HELP db_relocate_copied_rows_total Rows copied\n"
            "# TYPE db_relocate_copied_rows_total counter\n"
            "db_relocate_copied_rows_total 12345\n");
}

TEST(MetricsExposition, LabelValuesAndNumbersAreWrittenAsPrometheusReadsThem) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(FormatValue(0), "0");
  EXPECT_EQ(FormatValue(3e12), "3000000000000");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(-1.5), "-1.5");
  EXPECT_EQ(FormatValue(std::nan("")), "NaN");
  EXPECT_EQ(FormatValue(1.0 / 0.0), "+Inf");
  Exposition e;
  e.Family("m", "gauge", "h");
  e.Add(2, {{"a", "x"}, {"b", "y\"z"}});
  EXPECT_NE(e.text().find("m{a=\"x\",b=\"y\\\"z\"} 2\n"), std::string::npos);
}

TEST(MetricsRelocation, RendersTheStateAndTheLatestFigures) {
  TempDir tmp;
  RunState state;
  state.current_step = "catchup";
  state.tables["\"public\".\"a\""] = {TableState::kCopied, 100, 8192, 1};
  state.tables["\"public\".\"b\""] = {TableState::kPending, 0, 0, 0};
  ASSERT_TRUE(StateStore(tmp.path()).Save(state).ok());
  SampleRecorder run(tmp.path(), "run"), heartbeat(tmp.path(), "heartbeat");
  ASSERT_TRUE(run.Record("copy", {{"bytes", 20000}, {"rows", 150}}).ok());
  ASSERT_TRUE(heartbeat.Record("lag", {{"bytes", 4096}, {"seconds", 0.5}}).ok());
  ASSERT_TRUE(heartbeat.Record("heartbeat", {{"seq", 42}, {"age_seconds", 0.2}}).ok());
  ASSERT_TRUE(heartbeat.CountError("insert failed").ok());

  const double now = UnixNow();
  std::string page = RenderRelocationMetrics(tmp.path(), now + 10);
  for (const char* line :
       {"db_relocate_step{step=\"catchup\"} 1\n", "db_relocate_copied_bytes_total 20000\n",
        "db_relocate_copied_rows_total 150\n", "db_relocate_replication_lag_bytes 4096\n",
        "db_relocate_replication_lag_seconds 0.5\n", "db_relocate_tables{state=\"pending\"} 1\n",
        "db_relocate_errors_total{process=\"heartbeat\"} 1\n",
        "db_relocate_errors_total{process=\"run\"} 0\n",
        "# TYPE db_relocate_copied_rows_total counter\n",
        "# TYPE db_relocate_replication_lag_seconds gauge\n",
        "# HELP db_relocate_heartbeat_age_seconds "})
    EXPECT_NE(page.find(line), std::string::npos) << line << "\n" << page;
  // The heartbeat ages while nobody measures it: 0.2 s old when sampled, 10 s ago.
  std::smatch m;
  ASSERT_TRUE(
      std::regex_search(page, m, std::regex("db_relocate_heartbeat_age_seconds ([0-9.]+)")));
  EXPECT_NEAR(std::stod(m[1]), 10.2, 0.5);

  // Lag nobody has measured for minutes is left out rather than shown stale.
  page = RenderRelocationMetrics(tmp.path(), now + kLagFreshSeconds + 60);
  EXPECT_EQ(page.find("\ndb_relocate_replication_lag_bytes "), std::string::npos) << page;
  EXPECT_NE(page.find("# TYPE db_relocate_replication_lag_bytes gauge"), std::string::npos);
}

TEST(MetricsRelocation, WithoutStateItStillAnswers) {
  TempDir tmp;
  std::string page = RenderRelocationMetrics(tmp.path() / "none", UnixNow());
  EXPECT_NE(page.find("db_relocate_step{step=\"none\"} 1\n"), std::string::npos) << page;
  EXPECT_NE(page.find("db_relocate_copied_rows_total 0\n"), std::string::npos) << page;
}

TEST(MetricsHttpServer, ServesMetricsAndNothingElse) {
  const int port = FreePort();
  auto server = HttpServer::Start("127.0.0.1:" + std::to_string(port), [] { return "m 1\n"; });
  ASSERT_TRUE(server.ok()) << server.message();
  ASSERT_TRUE(WaitFor([&] { return (*server)->serving(); }));
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  auto ok = test::HttpGet(base + "/metrics");
  EXPECT_EQ(ok.status, 200) << ok.error;
  EXPECT_EQ(ok.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(ok.body, "m 1\n");
  EXPECT_EQ(test::HttpGet(base + "/metrics?x=1").status, 200);
  EXPECT_EQ(test::HttpGet(base + "/").status, 404);
  EXPECT_EQ(test::HttpGet(base + "/metricsx").status, 404);
  server->reset();  // RAII: the port closes with its owner
  EXPECT_EQ(test::HttpGet(base + "/metrics", 500).status, 0);
}

TEST(MetricsHttpServer, ASecondOwnerTakesThePortOverWhenTheFirstGoes) {
  const int port = FreePort();
  const std::string listen = "127.0.0.1:" + std::to_string(port);
  auto first = HttpServer::Start(listen, [] { return "first\n"; });
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(WaitFor([&] { return (*first)->serving(); }));
  auto second = HttpServer::Start(
      listen, [] { return "second\n"; }, std::chrono::milliseconds(100));
  ASSERT_TRUE(second.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE((*second)->serving());
  const std::string url = "http://" + listen + "/metrics";
  EXPECT_EQ(test::HttpGet(url).body, "first\n");
  first->reset();
  ASSERT_TRUE(WaitFor([&] { return (*second)->serving(); }));
  EXPECT_EQ(test::HttpGet(url).body, "second\n");
}

TEST(MetricsHttpServer, AMalformedAddressIsAnError) {
  EXPECT_FALSE(HttpServer::Start("9187", [] { return ""; }).ok());
}

}  // namespace
}  // namespace dbr::metrics
