#include "report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <limits>

#include "model/steps.h"
#include "report/html.h"
#include "report/svg_chart.h"
#include "util/files.h"
#include "util/log.h"
#include "util/progress.h"

namespace dbr {
namespace {

using html::Escape;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Samples further apart than this belong to different stretches (a process was not running).
constexpr double kMaxGapSeconds = 60;

std::optional<double> ParseUtc(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  return static_cast<double>(timegm(&tm));
}

std::string Seconds(double s) {
  return s < 10 ? fmt::format("{:.2g} s", s) : fmt::format("{:.0f} s", s);
}

std::string Bytes(double b) {
  return HumanBytes(b);
}

std::string Rate(double b) {
  return HumanBytes(b) + "/s";
}

std::optional<double> Number(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::vector<const Sample*> OfKind(const SampleLog& log, const std::string& kind) {
  std::vector<const Sample*> out;
  for (const auto& s : log.samples)
    if (s.kind == kind) out.push_back(&s);
  std::stable_sort(out.begin(), out.end(),
                   [](const Sample* a, const Sample* b) { return a->t < b->t; });
  return out;
}

// One field of one kind over time; negative values mean "not known" and are left out.
svg::Series FieldSeries(const SampleLog& log, const std::string& kind, const char* field,
                        std::string name, std::string color) {
  svg::Series s{std::move(name), std::move(color), {}};
  double last_t = -1;
  for (const Sample* sample : OfKind(log, kind)) {
    auto v = Number(sample->values, field);
    if (!v || *v < 0) continue;
    if (last_t >= 0 && sample->t - last_t > kMaxGapSeconds) s.points.push_back({last_t, kNaN});
    s.points.push_back({sample->t, *v});
    last_t = sample->t;
  }
  return s;
}

// Bytes per second between consecutive copy samples, drawn flat over each interval.
svg::Series ThroughputSeries(const SampleLog& log) {
  svg::Series s{"copied bytes/s", "#4c78a8", {}};
  const Sample* prev = nullptr;
  for (const Sample* sample : OfKind(log, "copy")) {
    if (prev != nullptr) {
      const double dt = sample->t - prev->t;
      auto b0 = Number(prev->values, "bytes"), b1 = Number(sample->values, "bytes");
      if (dt > 0 && dt <= kMaxGapSeconds && b0 && b1 && *b1 >= *b0) {
        const double rate = (*b1 - *b0) / dt;
        if (!s.points.empty() && s.points.back().first < prev->t)
          s.points.push_back({prev->t, kNaN});
        s.points.push_back({prev->t, rate});
        s.points.push_back({sample->t, rate});
      }
    }
    prev = sample;
  }
  return s;
}

std::vector<svg::Marker> SwitchMarkers(const RunState& state) {
  std::vector<svg::Marker> out;
  for (const auto& r : state.switches)
    if (auto t = ParseUtc(r.finished_at)) out.push_back({*t, SwitchName(r.to)});
  return out;
}

std::string StatusCell(const std::string& status) {
  const char* cls = status == "OK"                                ? "ok"
                    : status == "UNSETTLED" || status == "BEHIND" ? "warn"
                                                                  : "bad";
  return fmt::format("<td class=\"{}\">{}</td>", cls, Escape(status));
}

std::string CountCell(int64_t n) {
  return n < 0 ? "<td class=\"num\">-</td>" : fmt::format("<td class=\"num\">{}</td>", n);
}

std::string Row(std::initializer_list<std::string> cells) {
  std::string out = "<tr>";
  for (const auto& c : cells) out += "<td>" + Escape(c) + "</td>";
  return out + "</tr>\n";
}

std::string SummarySection(const ReportInputs& in) {
  const RunState& st = in.state;
  int64_t rows = 0, bytes = 0, copied = 0;
  double copy_seconds = 0;
  for (const auto& [name, t] : st.tables) {
    rows += t.rows;
    bytes += t.bytes;
    copied += t.state == TableState::kCopied;
    copy_seconds = std::max(copy_seconds, t.seconds);
  }
  std::string step = st.current_step.empty() ? "-" : st.current_step;
  if (st.switching)
    step += fmt::format(" ({} interrupted at stage {})", SwitchName(st.switching->to),
                        st.switching->stage);
  std::string out = "<h2>Summary</h2>\n<table class=\"kv\">\n";
  out += Row({"source", in.source});
  out += Row({"destination", in.destination});
  out += Row({"started", st.started_at.empty() ? "-" : st.started_at});
  out += Row({"current step", step});
  out += Row({"application writes to", std::string("the ") + SideName(st.primary)});
  out += Row({"tables", fmt::format("{} of {} copied, {} rows, {}", copied, st.tables.size(), rows,
                                    Bytes(static_cast<double>(bytes)))});
  if (!st.snapshot_lsn.empty()) out += Row({"snapshot LSN", st.snapshot_lsn});
  for (const auto& hop : st.rds.instance_hops)
    out += Row({"RDS upgrade to " + hop.version,
                hop.seconds > 0 ? HumanDuration(hop.seconds) + " (ModifyDBInstance)"
                                : "requested at " + hop.requested_at});
  for (const auto& n : st.notes) out += Row({"note", n});
  out += "</table>\n";
  return out;
}

std::string StepsSection(const RunState& st) {
  struct Done {
    std::string name;
    double start, end, seconds;
    std::string finished_at;
  };
  std::vector<Done> done;
  for (const auto& [name, s] : st.steps) {
    if (!s.done) continue;
    auto end = ParseUtc(s.finished_at);
    if (!end) continue;
    done.push_back({name, *end - s.seconds, *end, s.seconds, s.finished_at});
  }
  // finished_at has whole seconds: steps finished within one second keep the order run has.
  std::stable_sort(done.begin(), done.end(), [&](const Done& a, const Done& b) {
    return a.end != b.end ? a.end < b.end : StepRank(a.name) < StepRank(b.name);
  });
  std::vector<svg::Bar> bars;
  for (const auto& d : done) bars.push_back({d.name, d.start, d.end, HumanDuration(d.seconds), ""});
  for (const auto& r : st.switches) {
    auto a = ParseUtc(r.started_at), b = ParseUtc(r.finished_at);
    if (a && b)
      bars.push_back(
          {SwitchCommand(r.to), *a, *b, fmt::format("pause {:.0f} ms", r.pause_ms), "#e45756"});
  }
  std::string out = "<h2>Steps</h2>\n" + svg::RenderTimeline(bars);
  out += "<table class=\"steps\">\n<tr><th>step</th><th>finished</th><th>duration</th></tr>\n";
  double total = 0;
  for (const auto& d : done) {
    out += fmt::format("<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>\n", Escape(d.name),
                       Escape(d.finished_at), Escape(HumanDuration(d.seconds)));
    total += d.seconds;
  }
  const bool running =
      !st.current_step.empty() && st.current_step != "replicating" && !st.StepDone(st.current_step);
  if (running)
    out += fmt::format("<tr><td>{}</td><td>not finished</td><td class=\"num\">-</td></tr>\n",
                       Escape(st.current_step));
  out += fmt::format("<tr class=\"total\"><td>total</td><td></td><td class=\"num\">{}</td></tr>\n",
                     Escape(HumanDuration(total)));
  return out + "</table>\n";
}

std::string CopySection(const ReportInputs& in) {
  std::string out = "<h2>Copy</h2>\n";
  svg::Series throughput = ThroughputSeries(in.samples);
  out += svg::RenderLineChart(
      {.title = "Copy throughput", .format_y = Rate, .binary_y = true, .series = {throughput}});
  double peak = 0;
  for (const auto& [t, rate] : throughput.points)
    if (std::isfinite(rate)) peak = std::max(peak, rate);
  if (peak > 0) out += "<p>Peak copy throughput: " + Escape(Rate(peak)) + ".</p>\n";
  std::vector<std::pair<std::string, TableProgress>> tables(in.state.tables.begin(),
                                                            in.state.tables.end());
  if (tables.empty()) return out;
  std::stable_sort(tables.begin(), tables.end(),
                   [](const auto& a, const auto& b) { return a.second.bytes > b.second.bytes; });
  constexpr size_t kShown = 25;
  out +=
      "<table class=\"tables\">\n<tr><th>table</th><th>state</th><th>rows</th><th>size</th>"
      "<th>time</th><th>throughput</th></tr>\n";
  for (size_t i = 0; i < tables.size() && i < kShown; ++i) {
    const auto& [name, t] = tables[i];
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
        Escape(name), Escape(std::string(NameOf(t.state))), t.rows,
        Escape(Bytes(static_cast<double>(t.bytes))), Escape(HumanDuration(t.seconds)),
        t.seconds > 0 ? Escape(Rate(static_cast<double>(t.bytes) / t.seconds)) : "-");
  }
  if (tables.size() > kShown)
    out += fmt::format("<tr><td colspan=\"6\">... and {} smaller tables</td></tr>\n",
                       tables.size() - kShown);
  return out + "</table>\n";
}

std::string LagSection(const ReportInputs& in) {
  auto markers = SwitchMarkers(in.state);
  std::string out = "<h2>Replication lag</h2>\n";
  out += svg::RenderLineChart(
      {.title = "Replication lag (bytes of WAL not yet confirmed by the replica)",
       .format_y = Bytes,
       .binary_y = true,
       .series = {FieldSeries(in.samples, "lag", "bytes", "lag bytes", "#f58518")},
       .markers = markers});
  out += svg::RenderLineChart(
      {.title = "Replication lag (seconds: age of the newest heartbeat on the replica)",
       .format_y = Seconds,
       .series = {FieldSeries(in.samples, "lag", "seconds", "lag seconds", "#54a24b")},
       .markers = markers});
  return out;
}

std::string HeartbeatSection(const ReportInputs& in) {
  std::string out = "<h2>Heartbeat</h2>\n";
  out += svg::RenderLineChart(
      {.title = "Heartbeat: age of the newest row on the primary",
       .format_y = Seconds,
       .series = {FieldSeries(in.samples, "heartbeat", "age_seconds", "age", "#b279a2")},
       .markers = SwitchMarkers(in.state)});
  auto beats = OfKind(in.samples, "heartbeat");
  if (!beats.empty()) {
    double worst = 0;
    for (const Sample* s : beats)
      worst = std::max(worst, Number(s->values, "age_seconds").value_or(0));
    out += fmt::format(
        "<p>Newest heartbeat sampled: #{}; its age peaked at {} (a writer that stalls shows "
        "here).</p>\n",
        static_cast<int64_t>(Number(beats.back()->values, "seq").value_or(0)),
        Escape(Seconds(worst)));
  }
  return out;
}

std::string SwitchSection(const RunState& st) {
  std::string out = "<h2>Cut-over</h2>\n";
  if (st.switches.empty() && !st.switching)
    return out + "<p class=\"empty\">No cut-over yet.</p>\n";
  double longest = 1;
  for (const auto& r : st.switches) longest = std::max(longest, r.pause_ms);
  out +=
      "<table class=\"switches\">\n<tr><th>direction</th><th>started</th><th>finished</th>"
      "<th>write pause</th><th></th></tr>\n";
  for (const auto& r : st.switches) {
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{:.0f} ms</td><td><svg "
        "width=\"240\" height=\"12\" role=\"img\" aria-label=\"write pause\"><rect "
        "width=\"{:.1f}\" "
        "height=\"12\" fill=\"#e45756\"/></svg></td></tr>\n",
        fmt::format("{} (to the {})", SwitchName(r.to), SideName(r.to)), Escape(r.started_at),
        Escape(r.finished_at), r.pause_ms, std::max(1.0, 240 * r.pause_ms / longest));
  }
  if (st.switching)
    out +=
        fmt::format("<tr><td colspan=\"5\" class=\"bad\">a {} is unfinished (stage {})</td></tr>\n",
                    SwitchName(st.switching->to), std::string(NameOf(st.switching->stage)));
  return out + "</table>\n";
}

std::string VerifySection(const ReportInputs& in) {
  std::string out = "<h2>Verification</h2>\n";
  if (!in.verify_error.empty())
    return out + "<p class=\"bad\">verify.json could not be read: " + Escape(in.verify_error) +
           "</p>\n";
  if (!in.verify)
    return out + "<p class=\"empty\">Not verified yet (run <code>db_relocate verify</code>).</p>\n";
  const VerifyResults& v = *in.verify;
  out += fmt::format("<p class=\"{}\">{} at {} ({}).</p>\n", v.ok ? "ok" : "bad",
                     v.ok ? "Source and destination match" : "Differences found",
                     Escape(v.finished_at), Escape(HumanDuration(v.seconds)));
  if (!v.tables.empty()) {
    out +=
        "<table class=\"verify\">\n<tr><th>table</th><th>status</th><th>source rows</th>"
        "<th>destination rows</th><th>differing rows</th><th>detail</th></tr>\n";
    for (const auto& t : v.tables)
      out += "<tr><td>" + Escape(t.table) + "</td>" + StatusCell(t.status) +
             CountCell(t.source_rows) + CountCell(t.destination_rows) +
             CountCell(t.differing_rows) + "<td>" + Escape(t.detail) + "</td></tr>\n";
    out += "</table>\n";
  }
  if (!v.objects.empty()) {
    out +=
        "<table class=\"verify\">\n<tr><th>kind</th><th>object</th><th>status</th>"
        "<th>detail</th></tr>\n";
    for (const auto& o : v.objects)
      out += "<tr><td>" + Escape(o.kind) + "</td><td>" + Escape(o.name) + "</td>" +
             StatusCell(o.status) + "<td>" + Escape(o.detail) + "</td></tr>\n";
    out += "</table>\n";
  }
  return out;
}

std::string ErrorsSection(const SampleLog& log) {
  auto errors = OfKind(log, "errors");
  if (errors.empty()) return "";
  constexpr size_t kShown = 50;
  std::string out = fmt::format(
      "<h2>Errors ({})</h2>\n<table class=\"errors\">\n"
      "<tr><th>when</th><th>process</th><th>error</th></tr>\n",
      errors.size());
  for (size_t i = errors.size() > kShown ? errors.size() - kShown : 0; i < errors.size(); ++i) {
    const Sample& s = *errors[i];
    out += Row(
        {svg::ClockLabel(s.t, true), s.values.value("process", ""), s.values.value("message", "")});
  }
  return out + "</table>\n";
}

constexpr const char* kStyle = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: 920px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: .8em 0; }
td, th { padding: 2px 10px 2px 0; text-align: left; vertical-align: top; }
th { border-bottom: 1px solid #ccc; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.total td { border-top: 1px solid #ccc; font-weight: bold; }
.ok { color: #2a7d2a; } .warn { color: #b26b00; } .bad { color: #c0392b; } .empty { color: #777; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
svg .title { font-size: 13px; font-weight: bold; } svg .ylabel { text-anchor: end; }
svg .xlabel { text-anchor: middle; } svg .blabel { text-anchor: end; }
svg .grid { stroke: #eee; } svg .tick { stroke: #999; } svg .frame { fill: none; stroke: #999; }
svg .marker { stroke: #e45756; stroke-dasharray: 4 3; } svg .mlabel { fill: #e45756; }
footer { margin-top: 3em; color: #777; font-size: 12px; }
)css";

}  // namespace

std::string RenderReport(const ReportInputs& in) {
  std::string out =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<title>db_relocate report: " +
      Escape(in.source) + " to " + Escape(in.destination) + "</title>\n<style>" + kStyle +
      "</style>\n</head>\n<body>\n";
  out += "<h1>Relocation of " + Escape(in.source) + " to " + Escape(in.destination) + "</h1>\n";
  out += SummarySection(in);
  out += StepsSection(in.state);
  out += CopySection(in);
  out += LagSection(in);
  out += HeartbeatSection(in);
  out += SwitchSection(in.state);
  out += VerifySection(in);
  out += ErrorsSection(in.samples);
  out += fmt::format("<footer>Written by db_relocate {} at {} UTC from {} samples{}.</footer>\n",
                     DBR_VERSION, svg::ClockLabel(in.generated_at, true), in.samples.samples.size(),
                     in.samples.damaged_lines
                         ? fmt::format(" ({} damaged lines skipped)", in.samples.damaged_lines)
                         : "");
  return out + "</body>\n</html>\n";
}

std::filesystem::path DefaultReportPath(const Config& config) {
  return std::filesystem::path(config.state_dir) / "report.html";
}

Result<std::filesystem::path> WriteReport(const Config& config,
                                          const std::filesystem::path& output) {
  StateStore store(config.state_dir);
  if (!store.Exists())
    return Status::Error("no relocation has run with this config yet (state: " + config.state_dir +
                         ")");
  auto state = store.Load();
  if (!state.ok()) return state.status();
  ReportInputs in;
  auto where = [](const ServerConfig& s) {
    return fmt::format("{}:{}/{}", s.host, s.port, s.name);
  };
  in.source = where(config.src);
  in.destination = where(config.dst);
  in.state = std::move(*state);
  in.samples = ReadSamples(store.file(kSamplesFile));
  auto verify = ReadVerifyResults(store.file("verify.json"));
  if (verify.ok())
    in.verify = std::move(*verify);
  else
    in.verify_error = verify.message();
  in.generated_at = UnixNow();
  const std::filesystem::path file = output.empty() ? DefaultReportPath(config) : output;
  DBR_RETURN_IF_ERROR(WriteFileAtomic(file, RenderReport(in)));
  return file;
}

void WriteReportQuietly(const Config& config) {
  if (!StateStore(config.state_dir).Exists()) return;  // stopped before it started: no report
  auto file = WriteReport(config);
  if (file.ok())
    log::info("report written to {}", file->string());
  else
    log::warn("could not write the report: {}", file.message());
}

}  // namespace dbr
