// The HTML report and the samples it is drawn from.
#include "report/report.h"

#include <gtest/gtest.h>

#include <fstream>

#include "model/samples.h"
#include "report/html.h"
#include "unit/test_support.h"
#include "util/files.h"

namespace dbr {
namespace {

using unit_test::TempDir;

const char* kNastyTable = "public.\"<script>alert('x')</script>\"";

ReportInputs SampleInputs() {
  ReportInputs in;
  in.source = "10.0.0.1:5432/app";
  in.destination = "10.0.0.2:5432/app";
  in.generated_at = 1764650000;
  in.state.started_at = "2026-12-02T03:00:00Z";
  in.state.current_step = "replicating";
  in.state.steps["preflight"] = {true, 1.5, "2026-12-02T03:00:02Z"};
  in.state.steps["snapshot"] = {true, 125, "2026-12-02T03:02:10Z"};
  in.state.steps["catchup"] = {true, 8, "2026-12-02T03:02:20Z"};
  in.state.tables[kNastyTable] = {TableState::kCopied, 1000, 65536, 2};
  in.state.switches.push_back({.to = Side::kDestination,
                               .stage = SwitchStage::kDone,
                               .started_at = "2026-12-02T03:10:00Z",
                               .finished_at = "2026-12-02T03:10:02Z",
                               .pause_ms = 412});
  const double t0 = 1764644410;  // 2026-12-02T03:00:10Z
  for (int i = 0; i <= 60; ++i)
    in.samples.samples.push_back({t0 + i * 2, "copy", {{"bytes", i * 1000000}, {"rows", i * 10}}});
  for (int i = 0; i < 30; ++i)
    in.samples.samples.push_back(
        {t0 + 130 + i * 5, "lag", {{"bytes", 5000 - i * 100}, {"seconds", 3.0 - i * 0.1}}});
  in.verify = VerifyResults{
      .finished_at = "2026-12-02T04:00:00Z",
      .seconds = 1.5,
      .ok = false,
      .tables = {{kNastyTable, "DIFFERS", 10, 9, 1, "1 row only on the source: id=7"}},
      .objects = {{"index", "public.t_idx", "MISSING", "not on the destination"}}};
  return in;
}

TEST(ReportHtml, EscapesTableNamesEverywhere) {
  std::string page = RenderReport(SampleInputs());
  EXPECT_EQ(page.find("<script>"), std::string::npos);
  EXPECT_EQ(page.find("alert('x')"), std::string::npos);
  EXPECT_NE(page.find("public.&quot;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&quot;"),
            std::string::npos);
  EXPECT_EQ(html::Escape("a&b<c>\"d'"), "a&amp;b&lt;c&gt;&quot;d&#39;");
}

TEST(ReportHtml, HasTheStepsTheChartsTheCutOverAndTheVerifyResults) {
  std::string page = RenderReport(SampleInputs());
  EXPECT_EQ(page.rfind("<!DOCTYPE html>", 0), 0u);
  // Steps in the order they ran, with their durations.
  // (No std::regex: libstdc++'s recurses once per character and overflows the stack here.)
  size_t at = 0;
  for (const auto& [step, duration] :
       {std::pair{"preflight", ">1.5s<"}, std::pair{"snapshot", ">2m05s<"},
        std::pair{"catchup", ">8.0s<"}}) {
    at = page.find(std::string("<td>") + step + "</td>", at);
    ASSERT_NE(at, std::string::npos) << step << " missing or out of order";
    const std::string row = page.substr(at, page.find('\n', at) - at);
    EXPECT_NE(row.find(duration), std::string::npos) << row;
    at += row.size();
  }
  EXPECT_NE(page.find("aria-label=\"Copy throughput\""), std::string::npos);
  EXPECT_NE(page.find("data-series=\"copied bytes/s\""), std::string::npos);
  EXPECT_NE(page.find("data-series=\"lag bytes\""), std::string::npos);
  EXPECT_NE(page.find("data-series=\"lag seconds\""), std::string::npos);
  EXPECT_NE(page.find("412 ms"), std::string::npos);
  EXPECT_NE(page.find(">cut-over</text>"), std::string::npos);  // marker on the lag charts
  EXPECT_NE(page.find("Differences found"), std::string::npos);
  EXPECT_NE(page.find("1 row only on the source: id=7"), std::string::npos);
  EXPECT_NE(page.find("public.t_idx"), std::string::npos);
  EXPECT_NE(page.find("MISSING"), std::string::npos);
  // Self-contained: no scripts, no links, nothing to fetch.
  EXPECT_EQ(page.find("http://"), std::string::npos);
  EXPECT_EQ(page.find("https://"), std::string::npos);
  EXPECT_EQ(page.find("<script"), std::string::npos);
}

TEST(ReportHtml, StepsFinishedInTheSameSecondKeepTheRunsOrder) {
  ReportInputs in = SampleInputs();
  in.state.steps["subscription"] = {true, 0.01, "2026-12-02T03:02:10Z"};
  in.state.steps["publication"] = {true, 0.2, "2026-12-02T03:00:02Z"};
  std::string page = RenderReport(in);
  EXPECT_LT(page.find("<td>preflight</td>"), page.find("<td>publication</td>"));
  EXPECT_LT(page.find("<td>snapshot</td>"), page.find("<td>subscription</td>"));
}

TEST(ReportHtml, CopyThroughputIsTheRateBetweenSamples) {
  std::string page = RenderReport(SampleInputs());
  // 1,000,000 bytes every 2 s.
  EXPECT_NE(page.find("Peak copy throughput: 488.3 kB/s."), std::string::npos);
}

TEST(ReportHtml, ShowsHowLongEachRdsInstanceUpgradeTook) {
  ReportInputs in = SampleInputs();
  in.state.rds.instance_hops = {{"14.17", "2026-12-02T03:01:00Z", 754},
                                {"15.19", "2026-12-02T03:14:00Z", 0}};
  std::string page = RenderReport(in);
  EXPECT_NE(page.find("<td>RDS upgrade to 14.17</td><td>12m34s (ModifyDBInstance)</td>"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("<td>RDS upgrade to 15.19</td><td>requested at 2026-12-02T03:14:00Z</td>"),
            std::string::npos);
}

TEST(ReportHtml, WithoutSamplesOrVerifyItSaysSo) {
  ReportInputs in = SampleInputs();
  in.samples = {};
  in.verify.reset();
  std::string page = RenderReport(in);
  EXPECT_NE(page.find("Copy throughput: no samples recorded"), std::string::npos);
  EXPECT_NE(page.find("Not verified yet"), std::string::npos);
}

TEST(ReportFile, WrittenFromTheStateFolderAndToleratesBadVerifyJson) {
  TempDir tmp;
  Config config;
  config.state_dir = (tmp.path() / "state").string();
  EXPECT_FALSE(WriteReport(config).ok());  // nothing has run
  RunState state = SampleInputs().state;
  ASSERT_TRUE(StateStore(config.state_dir).Save(state).ok());
  ASSERT_TRUE(WriteFileAtomic(tmp.path() / "state" / "verify.json", "{not json").ok());
  auto file = WriteReport(config);
  ASSERT_TRUE(file.ok()) << file.message();
  EXPECT_EQ(*file, tmp.path() / "state" / "report.html");
  std::string page = *ReadFile(*file);
  EXPECT_NE(page.find("verify.json could not be read"), std::string::npos);
  auto other = WriteReport(config, tmp.path() / "elsewhere.html");
  ASSERT_TRUE(other.ok()) << other.message();
  EXPECT_TRUE(std::filesystem::exists(tmp.path() / "elsewhere.html"));
}

TEST(ReportSamples, ATornLastLineIsSkippedAndTheNextSampleStartsAfreshLine) {
  TempDir tmp;
  SampleRecorder rec(tmp.path(), "run");
  ASSERT_TRUE(rec.Record("copy", {{"bytes", 1}, {"rows", 1}}).ok());
  ASSERT_TRUE(rec.Record("copy", {{"bytes", 2}, {"rows", 2}}).ok());
  {
    std::ofstream torn(tmp.path() / kSamplesFile, std::ios::app);
    torn << "{\"t\":17646";  // a crash in the middle of a line
  }
  SampleLog log = ReadSamples(tmp.path() / kSamplesFile);
  EXPECT_EQ(log.samples.size(), 2u);
  EXPECT_EQ(log.damaged_lines, 1u);
  EXPECT_EQ(log.samples[1].values["bytes"], 2);
  EXPECT_EQ(log.samples[1].values["process"], "run");

  ASSERT_TRUE(rec.Record("lag", {{"bytes", 7}}).ok());
  log = ReadSamples(tmp.path() / kSamplesFile);
  ASSERT_EQ(log.samples.size(), 3u);  // not glued to the torn line
  EXPECT_EQ(log.samples[2].kind, "lag");
  EXPECT_EQ(log.damaged_lines, 1u);
  auto figure = ReadFigure(tmp.path(), "lag");
  ASSERT_TRUE(figure.has_value());
  EXPECT_EQ((*figure)["bytes"], 7);
  EXPECT_FALSE(ReadFigure(tmp.path(), "heartbeat").has_value());
}

TEST(ReportSamples, MinGapSkipsSamplesRecordedTooSoon) {
  TempDir tmp;
  SampleRecorder rec(tmp.path(), "run");
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(rec.Record("lag", {{"bytes", i}}, std::chrono::hours(1)).ok());
  ASSERT_TRUE(rec.Record("copy", {{"bytes", 1}}, std::chrono::hours(1)).ok());
  EXPECT_EQ(ReadSamples(tmp.path() / kSamplesFile).samples.size(), 2u);
}

TEST(ReportSamples, MinGapIsTimedOnTheRecordersClock) {
  TempDir tmp;
  ManualClock clock;
  SampleRecorder rec(tmp.path(), "run", kDefaultSamplesMaxBytes, clock);
  for (int i = 0; i < 5; ++i) {  // 0, 1.5 (too soon), 3, 4.5 (too soon), 6 s
    ASSERT_TRUE(rec.Record("lag", {{"bytes", i}}, std::chrono::seconds(2)).ok());
    clock.Advance(std::chrono::milliseconds(1500));
  }
  std::vector<int> recorded;
  for (const Sample& s : ReadSamples(tmp.path() / kSamplesFile).samples)
    recorded.push_back(s.values["bytes"]);
  EXPECT_EQ(recorded, (std::vector<int>{0, 2, 4}));
}

TEST(ReportSamples, TheFileStaysBoundedAndKeepsItsWholeSpan) {
  TempDir tmp;
  SampleRecorder rec(tmp.path(), "heartbeat", /*max_bytes=*/20000);
  for (int i = 0; i < 3000; ++i) ASSERT_TRUE(rec.Record("lag", {{"bytes", i}}).ok());
  EXPECT_LE(std::filesystem::file_size(tmp.path() / kSamplesFile), 20000u + 200);
  SampleLog log = ReadSamples(tmp.path() / kSamplesFile);
  EXPECT_EQ(log.damaged_lines, 0u);
  ASSERT_GT(log.samples.size(), 50u);
  EXPECT_EQ(log.samples.front().values["bytes"], 0);  // the oldest sample survives thinning
  EXPECT_EQ(log.samples.back().values["bytes"], 2999);
}

TEST(ReportSamples, ErrorsAreCountedPerProcessAcrossRecorders) {
  TempDir tmp;
  ASSERT_TRUE(SampleRecorder(tmp.path(), "heartbeat").CountError("insert failed").ok());
  ASSERT_TRUE(SampleRecorder(tmp.path(), "heartbeat").CountError("insert failed again").ok());
  ASSERT_TRUE(SampleRecorder(tmp.path(), "run").CountError("step catchup failed").ok());
  auto figure = ReadFigure(tmp.path(), "errors");
  ASSERT_TRUE(figure.has_value());
  EXPECT_EQ((*figure)["counts"]["heartbeat"], 2);
  EXPECT_EQ((*figure)["counts"]["run"], 1);
  EXPECT_EQ(ReadSamples(tmp.path() / kSamplesFile).samples.size(), 3u);
}

TEST(ReportSamples, NothingIsRecordedOnceTheStateFolderIsGone) {
  TempDir tmp;
  SampleRecorder rec(tmp.path() / "gone", "heartbeat");
  EXPECT_TRUE(rec.Record("lag", {{"bytes", 1}}).ok());
  EXPECT_TRUE(rec.CountError("x").ok());
  EXPECT_FALSE(std::filesystem::exists(tmp.path() / "gone"));
}

}  // namespace
}  // namespace dbr
