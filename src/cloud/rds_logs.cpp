#include "cloud/rds_logs.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "aws/credential_sources.h"
#include "model/timings.h"

namespace dbr {
namespace {

constexpr size_t kPrecheckLines = 30;

std::vector<std::string> LastLines(const std::string& text, size_t n) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    if (end > start) lines.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  if (lines.size() > n) lines.erase(lines.begin(), lines.end() - static_cast<ptrdiff_t>(n));
  return lines;
}

int64_t MillisecondsSinceEpoch(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Result<std::string> DownloadLog(aws::Rds& rds, const std::string& id, const std::string& file) {
  std::string text, marker = "0";
  for (;;) {
    DBR_ASSIGN_OR_RETURN(aws::LogPortion portion, rds.DownloadLogPortion(id, file, marker));
    text += portion.data;
    if (!portion.more || portion.marker.empty() || portion.marker == marker) break;
    marker = portion.marker;
  }
  return text;
}

Result<std::string> LogsSince(aws::Rds& rds, const std::string& id,
                              std::chrono::system_clock::time_point since, size_t* files) {
  DBR_ASSIGN_OR_RETURN(std::vector<aws::LogFile> listed,
                       rds.LogFiles(id, MillisecondsSinceEpoch(since)));
  std::stable_sort(listed.begin(), listed.end(), [](const aws::LogFile& a, const aws::LogFile& b) {
    return a.last_written_ms < b.last_written_ms;
  });
  std::string text;
  for (const auto& f : listed) {
    DBR_ASSIGN_OR_RETURN(std::string file_text, DownloadLog(rds, id, f.name));
    if (!file_text.empty() && file_text.back() != '\n') file_text += '\n';
    text += file_text;
  }
  if (files != nullptr) *files = listed.size();
  return text;
}

Result<std::string> FailureEvents(aws::Rds& rds, const std::string& source_type,
                                  const std::string& id, const std::string& since) {
  DBR_ASSIGN_OR_RETURN(std::vector<aws::Event> events, rds.Events(source_type, id, since));
  std::string out;
  for (const auto& e : events)
    if (e.message.find("cannot be upgraded") != std::string::npos ||
        e.message.find("fail") != std::string::npos)
      out += fmt::format("  event {}: {}\n", e.date, e.message);
  return out;
}

Result<std::string> UpgradeRefusal(aws::Rds& rds, const std::string& id, const std::string& since) {
  DBR_ASSIGN_OR_RETURN(std::string out, FailureEvents(rds, "db-instance", id, since));
  if (out.empty()) return out;
  auto requested = ParseIso8601(since);
  const int64_t since_ms =
      requested ? MillisecondsSinceEpoch(*requested - Timings::Default().cloud_clock_skew) : 0;
  DBR_ASSIGN_OR_RETURN(std::vector<aws::LogFile> files, rds.LogFiles(id, since_ms));
  for (const auto& f : files) {
    if (f.name.find("pg_upgrade_precheck") == std::string::npos) continue;
    DBR_ASSIGN_OR_RETURN(std::string text, DownloadLog(rds, id, f.name));
    out += "  " + f.name + ":\n";
    for (const auto& line : LastLines(text, kPrecheckLines)) out += "    " + line + "\n";
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace dbr
