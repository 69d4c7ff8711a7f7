#include "snapshot/restore_list.h"

#include <optional>
#include <sstream>

#include "util/text.h"

namespace dbr {

std::optional<std::string> RestoreEntryDescription(const std::string& line) {
  const auto semi = line.find("; ");
  if (line.empty() || line[0] == ';' || semi == std::string::npos) return std::nullopt;
  std::stringstream fields(line.substr(semi + 2));
  std::string catalog_id, oid, rest;
  fields >> catalog_id >> oid;
  std::getline(fields, rest);
  if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
  return rest;
}

namespace {

bool StartsWithOneOf(const std::string& text, const std::vector<std::string>& prefixes) {
  for (const auto& p : prefixes)
    if (text.rfind(p, 0) == 0) return true;
  return false;
}

}  // namespace

std::string FilterRestoreList(const std::string& toc, const std::vector<std::string>& skip_prefixes,
                              const std::set<std::string>& skip_entries) {
  std::string list;
  for (const std::string& line : SplitLines(toc)) {
    const auto description = RestoreEntryDescription(line);
    const bool skip = description && (skip_entries.count(*description) > 0 ||
                                      StartsWithOneOf(*description, skip_prefixes));
    if (!skip) list += line + "\n";
  }
  return list;
}

std::pair<std::string, std::string> SplitRestoreList(const std::string& list,
                                                     const std::vector<std::string>& prefixes) {
  std::pair<std::string, std::string> out;
  for (const std::string& line : SplitLines(list)) {
    const auto description = RestoreEntryDescription(line);
    (description && StartsWithOneOf(*description, prefixes) ? out.second : out.first) +=
        line + "\n";
  }
  return out;
}

bool OnlyAlreadyExistsErrors(const std::string& stderr_text) {
  std::stringstream ss(stderr_text);
  std::string line;
  bool any = false;
  while (std::getline(ss, line)) {
    if (line.find("error: could not execute query") == std::string::npos) continue;
    any = true;
    if (line.find("already exists") == std::string::npos &&
        line.find("multiple primary keys") == std::string::npos)
      return false;
  }
  return any;
}

Status ForEachScriptPiece(std::istream& script, size_t piece_bytes,
                          const std::function<Status(const std::string&)>& send) {
  std::string piece, line, unrestrict;
  bool in_header = true;  // before the first entry: \restrict and the session's settings
  while (std::getline(script, line)) {
    const bool entry_starts = line.starts_with("-- Name: ");
    if (in_header && unrestrict.empty() && line.starts_with("\\restrict ")) {
      unrestrict = "\\unrestrict " + line.substr(std::string_view("\\restrict ").size());
      continue;
    }
    if (!unrestrict.empty() && line == unrestrict) continue;
    if (entry_starts && !piece.empty() && (in_header || piece.size() >= piece_bytes)) {
      DBR_RETURN_IF_ERROR(send(piece));
      piece.clear();
    }
    if (entry_starts) in_header = false;
    piece += line;
    piece += '\n';
  }
  if (script.bad()) return Status::Error("reading the schema script failed");
  if (!piece.empty()) return send(piece);
  return Status::Ok();
}

}  // namespace dbr
