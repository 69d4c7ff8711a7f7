// Charts as inline SVG: a time-series line chart and a timeline of bars. Plain SVG elements and
// escaped text only, no script and no external reference, so the page renders offline.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace dbr::svg {

// x: unix seconds. A NaN y breaks the line (no samples for a while).
struct Series {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;
};

// A vertical line across the chart, e.g. a cut-over.
struct Marker {
  double x = 0;
  std::string label;
};

struct LineChart {
  std::string title;
  std::function<std::string(double)> format_y;  // axis labels; default: the number
  bool binary_y = false;  // bytes: ticks at round multiples of 1024^n, as HumanBytes shows them
  std::vector<Series> series;
  std::vector<Marker> markers;
  int width = 880;
  int height = 260;
};

// An <svg> element; a short note in its place when no series has a point.
std::string RenderLineChart(const LineChart& chart);

struct Bar {
  std::string label;  // left of the bar
  double start = 0;   // unix seconds
  double end = 0;
  std::string note;  // right of the bar (e.g. its duration)
  std::string color;
};

// One row per bar on a shared time axis.
std::string RenderTimeline(const std::vector<Bar>& bars, int width = 880);

// "12:00:05" (UTC); with the date when `with_date`.
std::string ClockLabel(double unix_seconds, bool with_date);

// Round tick values covering [lo, hi], about `count` of them.
std::vector<double> NiceTicks(double lo, double hi, int count);

}  // namespace dbr::svg
