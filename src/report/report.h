// The relocation report: one self-contained HTML page (inline SVG charts, inline CSS, no script,
// nothing fetched) built from the run state, the samples file and verify.json.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "config/config.h"
#include "model/run_state.h"
#include "model/samples.h"
#include "report/verify_results.h"

namespace dbr {

struct ReportInputs {
  std::string source;  // where from and to, e.g. "127.0.0.1:5432/app"
  std::string destination;
  RunState state;
  SampleLog samples;
  std::optional<VerifyResults> verify;
  std::string verify_error;  // verify.json is there but could not be read
  double generated_at = 0;   // unix seconds
};

std::string RenderReport(const ReportInputs& in);

// <state_dir>/report.html
std::filesystem::path DefaultReportPath(const Config& config);
// Reads the state folder and writes the report atomically to `output` (default:
// DefaultReportPath); returns where it went.
Result<std::filesystem::path> WriteReport(const Config& config,
                                          const std::filesystem::path& output = {});
// WriteReport at the end of a command: logs where the report went, or why it could not be
// written; never fails the command.
void WriteReportQuietly(const Config& config);

}  // namespace dbr
