#include "report/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include "report/html.h"

namespace dbr::svg {
namespace {

constexpr double kLeft = 84, kRight = 16, kTop = 34, kBottom = 34;

struct Range {
  double lo = 0, hi = 1;
};

std::string Num(double v) {
  return fmt::format("{:.1f}", v);
}

std::string DefaultFormat(double v) {
  return fmt::format("{:g}", v);
}

// Time ticks at round clock steps, about six of them.
std::vector<double> TimeTicks(double lo, double hi) {
  static const double kSteps[] = {1,     2,     5,     10,    15,     30,    60,
                                  120,   300,   600,   900,   1800,   3600,  7200,
                                  10800, 21600, 43200, 86400, 172800, 604800};
  double step = kSteps[std::size(kSteps) - 1];
  for (double s : kSteps) {
    if ((hi - lo) / s <= 6) {
      step = s;
      break;
    }
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi && ticks.size() < 50; t += step)
    ticks.push_back(t);
  return ticks;
}

Range XRange(const std::vector<Series>& series, const std::vector<Marker>& markers) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& s : series)
    for (const auto& [x, y] : s.points) {
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  for (const auto& m : markers) {
    lo = std::min(lo, m.x);
    hi = std::max(hi, m.x);
  }
  if (hi - lo < 1) {
    lo -= 0.5;
    hi += 0.5;
  }
  return {lo, hi};
}

Range YRange(const std::vector<Series>& series) {
  double lo = 0, hi = -std::numeric_limits<double>::infinity();
  for (const auto& s : series)
    for (const auto& [x, y] : s.points)
      if (std::isfinite(y)) {
        lo = std::min(lo, y);
        hi = std::max(hi, y);
      }
  if (!(hi > lo)) hi = lo + 1;
  return {lo, hi};
}

// Splits a series at NaN and at most keeps the lowest and highest point per pixel column, so a
// day of samples stays a light polyline without losing its peaks.
std::vector<std::vector<std::pair<double, double>>> Segments(
    const Series& s, const std::function<double(double)>& px) {
  std::vector<std::vector<std::pair<double, double>>> out(1);
  long column = std::numeric_limits<long>::min();
  std::pair<double, double> low{}, high{};
  auto flush = [&] {
    if (column == std::numeric_limits<long>::min()) return;
    auto& seg = out.back();
    if (low.first <= high.first) {
      seg.push_back(low);
      if (high != low) seg.push_back(high);
    } else {
      seg.push_back(high);
      seg.push_back(low);
    }
    column = std::numeric_limits<long>::min();
  };
  for (const auto& p : s.points) {
    if (!std::isfinite(p.second)) {
      flush();
      if (!out.back().empty()) out.emplace_back();
      continue;
    }
    long c = std::lround(px(p.first));
    if (c != column) {
      flush();
      column = c;
      low = high = p;
      continue;
    }
    if (p.second < low.second) low = p;
    if (p.second > high.second) high = p;
  }
  flush();
  if (out.back().empty()) out.pop_back();
  return out;
}

}  // namespace

std::string ClockLabel(double unix_seconds, bool with_date) {
  std::time_t t = static_cast<std::time_t>(std::floor(unix_seconds));
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, with_date ? "%m-%d %H:%M" : "%H:%M:%S", &tm);
  return buf;
}

std::vector<double> NiceTicks(double lo, double hi, int count) {
  if (!(hi > lo) || count < 1) return {lo};
  double raw = (hi - lo) / count;
  double mag = std::pow(10, std::floor(std::log10(raw)));
  double norm = raw / mag;
  double step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 5 ? 5 : 10) * mag;
  std::vector<double> ticks;
  for (double v = std::floor(lo / step) * step; ticks.size() < 100; v += step) {
    ticks.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
    if (v >= hi - step * 1e-9) break;
  }
  return ticks;
}

std::string RenderLineChart(const LineChart& chart) {
  size_t points = 0;
  for (const auto& s : chart.series) points += s.points.size();
  if (points == 0)
    return "<p class=\"empty\">" + html::Escape(chart.title) + ": no samples recorded.</p>\n";
  const auto format = chart.format_y ? chart.format_y : DefaultFormat;
  const double w = chart.width, h = chart.height;
  const double plot_w = w - kLeft - kRight, plot_h = h - kTop - kBottom;
  const Range xr = XRange(chart.series, chart.markers);
  Range yr = YRange(chart.series);
  double unit = 1;
  while (chart.binary_y && yr.hi >= unit * 1024 && unit < 1e15) unit *= 1024;
  std::vector<double> yticks = NiceTicks(yr.lo / unit, yr.hi / unit, 4);
  for (double& v : yticks) v *= unit;
  yr = {yticks.front(), std::max(yr.hi, yticks.back())};
  auto px = [&](double x) { return kLeft + (x - xr.lo) / (xr.hi - xr.lo) * plot_w; };
  auto py = [&](double y) { return kTop + plot_h - (y - yr.lo) / (yr.hi - yr.lo) * plot_h; };

  std::string out = fmt::format(
      "<svg class=\"chart\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "aria-label=\"{2}\">\n<title>{2}</title>\n",
      chart.width, chart.height, html::Escape(chart.title));
  out += fmt::format("<text x=\"{}\" y=\"20\" class=\"title\">{}</text>\n", Num(kLeft),
                     html::Escape(chart.title));
  // Legend, right-aligned on the title line.
  double lx = w - kRight;
  for (auto it = chart.series.rbegin(); it != chart.series.rend(); ++it) {
    lx -= 14 + 7.0 * static_cast<double>(it->name.size());
    out += fmt::format(
        "<rect x=\"{}\" y=\"11\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"20\" "
        "class=\"legend\">{}</text>\n",
        Num(lx), html::Escape(it->color), Num(lx + 13), html::Escape(it->name));
    lx -= 10;
  }
  for (double v : yticks) {
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" class=\"grid\"/><text x=\"{3}\" "
        "y=\"{4}\" class=\"ylabel\">{5}</text>\n",
        Num(kLeft), Num(w - kRight), Num(py(v)), Num(kLeft - 6), Num(py(v) + 4),
        html::Escape(format(v)));
  }
  const bool with_date = xr.hi - xr.lo > 2 * 86400;
  for (double t : TimeTicks(xr.lo, xr.hi)) {
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" class=\"tick\"/><text x=\"{0}\" "
        "y=\"{3}\" class=\"xlabel\">{4}</text>\n",
        Num(px(t)), Num(kTop + plot_h), Num(kTop + plot_h + 4), Num(kTop + plot_h + 18),
        ClockLabel(t, with_date));
  }
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" class=\"frame\"/>\n",
                     Num(kLeft), Num(kTop), Num(plot_w), Num(plot_h));
  for (const auto& m : chart.markers) {
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" class=\"marker\"/><text x=\"{3}\" "
        "y=\"{4}\" class=\"mlabel\">{5}</text>\n",
        Num(px(m.x)), Num(kTop), Num(kTop + plot_h), Num(px(m.x) + 3), Num(kTop + 12),
        html::Escape(m.label));
  }
  for (const auto& s : chart.series) {
    for (const auto& seg : Segments(s, px)) {
      if (seg.size() == 1) {
        out += fmt::format("<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"{}\"/>\n",
                           Num(px(seg[0].first)), Num(py(seg[0].second)), html::Escape(s.color));
        continue;
      }
      std::string pts;
      for (const auto& [x, y] : seg)
        pts += (pts.empty() ? "" : " ") + Num(px(x)) + "," + Num(py(y));
      out += fmt::format(
          "<polyline class=\"series\" data-series=\"{}\" fill=\"none\" stroke=\"{}\" "
          "stroke-width=\"1.5\" points=\"{}\"/>\n",
          html::Escape(s.name), html::Escape(s.color), pts);
    }
  }
  out += "</svg>\n";
  return out;
}

std::string RenderTimeline(const std::vector<Bar>& bars, int width) {
  if (bars.empty()) return "<p class=\"empty\">No step has finished yet.</p>\n";
  constexpr double kLabel = 190, kNote = 90, kRow = 22, kAxis = 26;
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& b : bars) {
    lo = std::min(lo, b.start);
    hi = std::max(hi, b.end);
  }
  if (hi - lo < 1) hi = lo + 1;
  const double plot_w = width - kLabel - kNote;
  const double height = kRow * static_cast<double>(bars.size()) + kAxis + 6;
  auto px = [&](double x) { return kLabel + (x - lo) / (hi - lo) * plot_w; };
  std::string out = fmt::format(
      "<svg class=\"timeline\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" role=\"img\" "
      "aria-label=\"timeline of the steps\">\n<title>timeline of the steps</title>\n",
      width, Num(height));
  const double axis_y = kRow * static_cast<double>(bars.size()) + 4;
  const bool with_date = hi - lo > 2 * 86400;
  for (double t : TimeTicks(lo, hi)) {
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"0\" y2=\"{1}\" class=\"grid\"/><text x=\"{0}\" y=\"{2}\" "
        "class=\"xlabel\">{3}</text>\n",
        Num(px(t)), Num(axis_y), Num(axis_y + 16), ClockLabel(t, with_date));
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double y = kRow * static_cast<double>(i);
    const double x0 = px(b.start), x1 = std::max(px(b.end), x0 + 2);
    out += fmt::format(
        "<text x=\"{}\" y=\"{}\" class=\"blabel\">{}</text><rect x=\"{}\" y=\"{}\" width=\"{}\" "
        "height=\"{}\" fill=\"{}\"><title>{}</title></rect><text x=\"{}\" y=\"{}\" "
        "class=\"bnote\">{}</text>\n",
        Num(kLabel - 8), Num(y + 15), html::Escape(b.label), Num(x0), Num(y + 4), Num(x1 - x0),
        Num(kRow - 8), html::Escape(b.color.empty() ? "#4c78a8" : b.color),
        html::Escape(b.label + ": " + b.note), Num(x1 + 5), Num(y + 15), html::Escape(b.note));
  }
  out += "</svg>\n";
  return out;
}

}  // namespace dbr::svg
