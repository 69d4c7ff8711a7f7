#include "pg/tools.h"

#include <climits>
#include <cstdlib>
#include <regex>
#include <set>
#include <sstream>
#include <vector>

#include "util/parse.h"
#include "util/process.h"

namespace dbr::pg {
namespace {

std::vector<std::filesystem::path> Candidates(const std::string& tool,
                                              const std::string& preferred_dir) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (!preferred_dir.empty()) out.push_back(std::filesystem::path(preferred_dir) / tool);
  for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ec))
    out.push_back(entry.path() / "bin" / tool);
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (!dir.empty()) out.push_back(std::filesystem::path(dir) / tool);
  }
  return out;
}

}  // namespace

Result<PgTool> FindPgTool(const std::string& tool, int min_major,
                          const std::string& preferred_dir) {
  static const std::regex kVersion(R"(\(PostgreSQL\) (\d+)(\.\d+)?)");
  std::set<std::filesystem::path> seen;
  PgTool best;
  std::vector<std::string> found;
  for (const auto& candidate : Candidates(tool, preferred_dir)) {
    std::error_code ec;
    auto real = std::filesystem::canonical(candidate, ec);
    if (ec || !seen.insert(real).second) continue;
    auto out = RunProcess({.argv = {candidate.string(), "--version"}});
    std::smatch m;
    if (!out.ok() || out->exit_code != 0 || !std::regex_search(out->out, m, kVersion)) continue;
    auto major = ParseInt(m[1].str(), 0, INT_MAX);
    if (!major) continue;
    PgTool t{candidate, static_cast<int>(*major), m[1].str() + m[2].str()};
    found.push_back(t.version + " (" + candidate.string() + ")");
    if (t.major > best.major) best = t;
  }
  if (best.major >= min_major) return best;
  std::string msg = tool + " of PostgreSQL " + std::to_string(min_major) +
                    " or newer is needed for a PostgreSQL " + std::to_string(min_major) + " source";
  if (found.empty()) {
    msg += "; none found";
  } else {
    msg += "; found only";
    for (const auto& f : found) msg += " " + f;
  }
  return Status::Error(msg + ". Install postgresql-client-" + std::to_string(min_major) +
                       " or set pg_bin_dir in the config");
}

}  // namespace dbr::pg
