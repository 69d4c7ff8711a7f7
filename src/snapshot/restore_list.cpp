#include "snapshot/restore_list.h"

#include <sstream>

namespace dbr {

std::string FilterRestoreList(const std::string& toc, const std::vector<std::string>& skip_prefixes,
                              const std::set<std::string>& skip_entries) {
  std::string list;
  std::stringstream ss(toc);
  std::string line;
  while (std::getline(ss, line)) {
    bool skip = false;
    auto semi = line.find("; ");
    if (!line.empty() && line[0] != ';' && semi != std::string::npos) {
      std::stringstream fields(line.substr(semi + 2));
      std::string catalog_id, oid;
      fields >> catalog_id >> oid;
      std::string rest;
      std::getline(fields, rest);
      if (!rest.empty() && rest[0] == ' ') rest.erase(0, 1);
      skip = skip_entries.count(rest) > 0;
      for (const auto& p : skip_prefixes) skip = skip || rest.rfind(p, 0) == 0;
    }
    if (!skip) list += line + "\n";
  }
  return list;
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

}  // namespace dbr
