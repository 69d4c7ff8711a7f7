// The metrics endpoint and the HTML report of a real relocation: the endpoint is scraped while
// `run` works and after it (when the heartbeat writer serves), and the report is read the way a
// user would: steps with durations, a throughput line, lag charts, nothing fetched from the web.
#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "harness/app_pair.h"
#include "harness/http_get.h"
#include "harness/wait.h"
#include "util/files.h"

namespace dbr::test {
namespace {

// The value of an unlabelled sample in a metrics page, or nullopt.
std::optional<double> Metric(const std::string& page, const std::string& name) {
  std::smatch m;
  if (!std::regex_search(page, m, std::regex("(^|\n)" + name + " ([^\n]+)\n"))) return std::nullopt;
  return std::stod(m[2]);
}

class ReportTest : public AppPairTest {
 protected:
  void TearDown() override {
    if (!proxy_config_.empty()) {
      (void)RunDbRelocate({"cleanup", "--config", proxy_config_.string()});
      (void)RunDbRelocate({"proxy", "--stop", "--config", proxy_config_.string()});
    }
    AppPairTest::TearDown();
  }

  std::filesystem::path proxy_config_;  // a managed PgBouncer to stop at the end
};

TEST_F(ReportTest, RunServesMetricsAndWritesTheReport) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair());
  ASSERT_TRUE(LoadRichSchema(*src_, "app", 20000).ok());
  auto port = PickFreePort();
  ASSERT_TRUE(port.ok()) << port.message();
  const std::string url = "http://127.0.0.1:" + std::to_string(*port) + "/metrics";
  auto config = WriteConfig(tmp_.path(), *src_, *dst_, "app",
                            "metrics:\n  listen: 127.0.0.1:" + std::to_string(*port) + "\n");
  const auto state_dir = tmp_.path() / "state";

  // Scrape all along the run.
  std::atomic<bool> run_done{false};
  std::vector<std::string> pages;
  std::thread scraper([&] {
    while (!run_done) {
      HttpReply r = HttpGet(url, 1000);
      if (r.status == 200) pages.push_back(r.body);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  run_done = true;
  scraper.join();
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.err.find("report written to " + (state_dir / "report.html").string()),
            std::string::npos)
      << run.err;
  EXPECT_TRUE(std::filesystem::exists(state_dir / "report.html"));

  // While it worked, the endpoint named the steps it was in.
  ASSERT_FALSE(pages.empty()) << "the endpoint never answered during the run";
  std::set<std::string> steps_seen;
  std::regex step_re("db_relocate_step\\{step=\"([a-z_]+)\"\\} 1\n");
  for (const auto& p : pages) {
    std::smatch m;
    if (std::regex_search(p, m, step_re)) steps_seen.insert(m[1]);
  }
  EXPECT_TRUE(steps_seen.count("snapshot") || steps_seen.count("catchup") ||
              steps_seen.count("subscription"))
      << "steps seen: " << testing::PrintToString(steps_seen);

  // After the run the heartbeat writer serves; its lag sampler reports within a few seconds.
  std::string page;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    HttpReply r = HttpGet(url, 1000);
    if (r.status == 200) {
      EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
      page = r.body;
      if (Metric(page, "db_relocate_replication_lag_seconds") &&
          Metric(page, "db_relocate_heartbeat_age_seconds"))
        break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  ASSERT_FALSE(page.empty()) << "the endpoint did not answer after the run";
  EXPECT_NE(page.find("db_relocate_step{step=\"replicating\"} 1\n"), std::string::npos) << page;
  auto lag_bytes = Metric(page, "db_relocate_replication_lag_bytes");
  auto lag_seconds = Metric(page, "db_relocate_replication_lag_seconds");
  auto age = Metric(page, "db_relocate_heartbeat_age_seconds");
  ASSERT_TRUE(lag_bytes && lag_seconds && age) << page;
  EXPECT_GE(*lag_bytes, 0);
  EXPECT_GE(*lag_seconds, 0);
  EXPECT_LT(*lag_seconds, 30);
  EXPECT_LT(*age, 30);  // the writer writes every 0.2 s
  EXPECT_NE(page.find("db_relocate_errors_total{process=\"run\"} 0\n"), std::string::npos) << page;

  // Copied rows: every row of every table on the source, as of the snapshot. Without a writer
  // the application's tables still hold exactly those; the heartbeat table has grown since.
  auto state = nlohmann::json::parse(*ReadFile(state_dir / "state.json"));
  int64_t source_rows = 0, heartbeat_rows = 0;
  for (const auto& [table, t] : state["tables"].items()) {
    if (table == "\"db_relocate\".\"verify_marker\"") continue;  // verify wrote since
    if (table == "\"db_relocate\".\"heartbeat\"") {
      heartbeat_rows = t["rows"].get<int64_t>();
      continue;
    }
    auto count = src_->QueryValue("SELECT count(*) FROM ONLY " + table, "app");
    ASSERT_TRUE(count.ok()) << count.message();
    source_rows += std::stoll(*count);
  }
  EXPECT_GT(source_rows, 20000);
  auto copied_rows = Metric(page, "db_relocate_copied_rows_total");
  ASSERT_TRUE(copied_rows) << page;
  EXPECT_EQ(static_cast<int64_t>(*copied_rows), source_rows + heartbeat_rows);
  auto copied_bytes = Metric(page, "db_relocate_copied_bytes_total");
  ASSERT_TRUE(copied_bytes) << page;
  EXPECT_GT(*copied_bytes, 1e6);  // the rich schema holds a multi-MB TOASTed value

  // The report, where the user asks for it.
  const auto out = tmp_.path() / "relocation.html";
  CommandResult report =
      RunDbRelocate({"report", "--config", config.string(), "--output", out.string()});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  auto html = ReadFile(out);
  ASSERT_TRUE(html.ok()) << html.message();
  for (const char* step :
       {"preflight", "destination", "heartbeat", "publication", "snapshot", "subscription",
        "catchup", "heartbeat_verify", "sequences", "proxy", "verify"}) {
    std::regex row(std::string("<tr><td>") + step +
                   "</td><td>[0-9T:Z-]+</td><td class=\"num\">[0-9hm.]+s?</td></tr>");
    EXPECT_TRUE(std::regex_search(*html, row)) << "no row with a duration for step " << step;
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(
      *html, m, std::regex("<polyline[^>]*data-series=\"copied bytes/s\"[^>]*points=\"([^\"]+)\"")))
      << "no throughput line";
  EXPECT_GE(std::count(m[1].first, m[1].second, ','), 2) << m[1];
  EXPECT_NE(html->find("aria-label=\"Replication lag (bytes"), std::string::npos);
  EXPECT_NE(html->find("aria-label=\"Replication lag (seconds"), std::string::npos);
  EXPECT_NE(html->find("aria-label=\"Heartbeat"), std::string::npos);
  // run ended with verify: its results are in the report.
  EXPECT_EQ(html->find("Not verified yet"), std::string::npos);
  EXPECT_NE(html->find("<table class=\"verify\">"), std::string::npos);
  EXPECT_EQ(html->find("http://"), std::string::npos);
  EXPECT_EQ(html->find("https://"), std::string::npos);
  EXPECT_EQ(html->find("<script"), std::string::npos);
  EXPECT_EQ(html->find("<link"), std::string::npos);
}

TEST_F(ReportTest, CutoverRecordsItsWritePauseInTheReportAndTheMetrics) {
  ASSERT_NO_FATAL_FAILURE(StartAppPair());
  for (const char* sql :
       {"CREATE SCHEMA \"Sales Ops\"", "CREATE ROLE app LOGIN PASSWORD 'apppw'",
        "CREATE TABLE ledger (id bigserial PRIMARY KEY, note text)",
        "GRANT SELECT, INSERT ON ledger TO app",
        "INSERT INTO ledger (note) SELECT md5(g::text) FROM generate_series(1, 1000) g"})
    ASSERT_TRUE(src_->Exec(sql, "app").ok()) << sql;
  auto proxy_port = PickFreePort();
  auto metrics_port = PickFreePort();
  ASSERT_TRUE(proxy_port.ok() && metrics_port.ok());
  // PgBouncer runs as postgres and must reach its files in the state folder.
  std::filesystem::permissions(tmp_.path(), std::filesystem::perms::others_exec,
                               std::filesystem::perm_options::add);
  auto config = WriteConfig(tmp_.path(), *src_, *dst_, "app",
                            "cutover:\n  type: pgbouncer\n  manage: true\n  listen: 127.0.0.1:" +
                                std::to_string(*proxy_port) + "\nmetrics:\n  listen: 127.0.0.1:" +
                                std::to_string(*metrics_port) + "\n");
  proxy_config_ = config;
  const std::string url = "http://127.0.0.1:" + std::to_string(*metrics_port) + "/metrics";
  CommandResult run = RunDbRelocate({"run", "--config", config.string()});
  ASSERT_EQ(run.exit_code, 0) << run.err;

  // The cut-over stops the heartbeat writer (which serves the endpoint after `run`) and starts
  // it again; the endpoint must answer all along, from one process or the other.
  std::atomic<bool> cut_done{false};
  int answered = 0, failed = 0;
  std::thread scraper([&] {
    while (!cut_done) {
      (HttpGet(url, 1000).status == 200 ? answered : failed)++;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  CommandResult cut = RunDbRelocate({"cutover", "--config", config.string()});
  cut_done = true;
  scraper.join();
  ASSERT_EQ(cut.exit_code, 0) << cut.out << cut.err;
  EXPECT_GT(answered, 0);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(cut.out, m, std::regex("write pause: ([0-9]+) ms"))) << cut.out;
  const std::string pause_ms = m[1];

  // The report the cut-over wrote shows that pause.
  auto html = ReadFile(tmp_.path() / "state" / "report.html");
  ASSERT_TRUE(html.ok()) << html.message();
  EXPECT_NE(html->find("<td>cut-over (to the destination)</td>"), std::string::npos);
  EXPECT_NE(html->find("<td class=\"num\">" + pause_ms + " ms</td>"), std::string::npos)
      << "pause " << pause_ms << " ms not in the report";
  EXPECT_NE(html->find(">cut-over</text>"), std::string::npos);  // marked on the lag charts

  // The restarted heartbeat writer serves again, with the switch counted.
  std::string page;
  EXPECT_TRUE(WaitFor(
      [&] {
        HttpReply r = HttpGet(url, 1000);
        if (r.status != 200 || r.body.find("db_relocate_switches_total 1\n") == std::string::npos)
          return false;
        page = r.body;
        return true;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(250)));
  ASSERT_FALSE(page.empty()) << "no page with the switch counted";
  EXPECT_NE(page.find("db_relocate_primary{side=\"destination\"} 1\n"), std::string::npos) << page;
  auto pause = Metric(page, "db_relocate_write_pause_seconds");
  ASSERT_TRUE(pause) << page;
  EXPECT_NEAR(*pause * 1000, std::stod(pause_ms), 1);
  EXPECT_NE(page.find("db_relocate_errors_total{process=\"cutover\"} 0\n"), std::string::npos)
      << page;
}

}  // namespace
}  // namespace dbr::test
