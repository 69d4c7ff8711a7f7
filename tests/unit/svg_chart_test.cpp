#include "report/svg_chart.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <regex>

namespace dbr::svg {
namespace {

// The number of x,y pairs in each polyline of `svg`.
std::vector<size_t> PolylinePoints(const std::string& svg) {
  std::vector<size_t> out;
  std::regex polyline("<polyline[^>]* points=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), polyline);
       it != std::sregex_iterator(); ++it) {
    std::string pts = (*it)[1];
    out.push_back(pts.empty() ? 0
                              : static_cast<size_t>(std::count(pts.begin(), pts.end(), ' ')) + 1);
  }
  return out;
}

TEST(SvgChart, DrawsOnePolylinePerSeriesWithItsPoints) {
  LineChart chart{.title = "Lag", .series = {{"lag bytes", "#f58518", {}}}};
  for (int i = 0; i < 10; ++i) chart.series[0].points.push_back({1000.0 + i * 5, i * 100.0});
  std::string svg = RenderLineChart(chart);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u) << svg;
  EXPECT_NE(svg.find("</svg>"), std::string::npos);
  EXPECT_EQ(PolylinePoints(svg), std::vector<size_t>{10});
  EXPECT_NE(svg.find(">Lag</text>"), std::string::npos);
  EXPECT_NE(svg.find(">lag bytes</text>"), std::string::npos);  // the legend
  EXPECT_EQ(svg.find("http"), std::string::npos);               // no namespace URL, no link
}

TEST(SvgChart, NoPointsGiveANoteInsteadOfAnEmptyChart) {
  std::string svg = RenderLineChart({.title = "Copy throughput", .series = {{"x", "#000", {}}}});
  EXPECT_EQ(svg.find("<svg"), std::string::npos);
  EXPECT_NE(svg.find("Copy throughput: no samples recorded"), std::string::npos);
}

TEST(SvgChart, NanBreaksTheLineAndALonePointIsADot) {
  const double nan = std::nan("");
  LineChart chart{
      .title = "t",
      .series = {
          {"s", "#000", {{0, 1}, {10, 2}, {20, nan}, {30, 3}, {40, 4}, {50, nan}, {60, 5}}}}};
  std::string svg = RenderLineChart(chart);
  EXPECT_EQ(PolylinePoints(svg), (std::vector<size_t>{2, 2}));
  EXPECT_NE(svg.find("<circle"), std::string::npos);
}

TEST(SvgChart, ThousandsOfSamplesKeepTheirPeakInFewPoints) {
  LineChart chart{.title = "t", .series = {{"s", "#000", {}}}, .width = 400};
  for (int i = 0; i < 50000; ++i)
    chart.series[0].points.push_back({i * 1.0, i == 31234 ? 1e6 : 1.0});
  std::string svg = RenderLineChart(chart);
  auto points = PolylinePoints(svg);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_LE(points[0], 2u * 400);
  // The peak sets the scale: the top tick is 1e6.
  EXPECT_NE(svg.find(">1e+06</text>"), std::string::npos) << svg.substr(0, 3000);
}

TEST(SvgChart, ByteAxesTickAtRoundBinaryMultiples) {
  LineChart chart{.title = "t",
                  .format_y = [](double v) { return std::to_string(static_cast<int64_t>(v)); },
                  .binary_y = true,
                  .series = {{"s", "#000", {{0, 0}, {10, 3 * 1048576.0}}}}};
  std::string svg = RenderLineChart(chart);
  EXPECT_NE(svg.find(">2097152</text>"), std::string::npos) << svg;  // 2 MiB, not 2,000,000
}

TEST(SvgChart, TextIsEscaped) {
  LineChart chart{.title = "a <b> & \"c\"", .series = {{"<script>", "#000", {{0, 1}, {1, 2}}}}};
  std::string svg = RenderLineChart(chart);
  EXPECT_EQ(svg.find("<script>"), std::string::npos);
  EXPECT_NE(svg.find("&lt;script&gt;"), std::string::npos);
  EXPECT_NE(svg.find("a &lt;b&gt; &amp; &quot;c&quot;"), std::string::npos);
}

TEST(SvgChart, NiceTicksAreRoundAndCoverTheRange) {
  EXPECT_EQ(NiceTicks(0, 97, 4), (std::vector<double>{0, 50, 100}));
  EXPECT_EQ(NiceTicks(0, 1, 4), (std::vector<double>{0, 0.5, 1}));
  auto t = NiceTicks(0, 3.3e9, 4);
  EXPECT_EQ(t.front(), 0);
  EXPECT_GE(t.back(), 3.3e9);
  EXPECT_LE(t.size(), 6u);
}

TEST(SvgChart, TimelineHasABarPerStepWithItsNote) {
  std::string svg = RenderTimeline({{"preflight", 100, 101, "1.0s", ""},
                                    {"snapshot", 101, 160, "59.0s", ""},
                                    {"catchup", 160, 170, "10.0s", "#e45756"}});
  for (const char* s : {">preflight</text>", ">snapshot</text>", ">59.0s</text>", "#e45756"})
    EXPECT_NE(svg.find(s), std::string::npos) << s;
  EXPECT_EQ(ClockLabel(0, false), "00:00:00");
  EXPECT_EQ(ClockLabel(86400 * 2 + 3600, true), "01-03 01:00");
}

}  // namespace
}  // namespace dbr::svg
