#include "report/verify_results.h"

#include "util/files.h"

namespace dbr {
namespace {

std::string Text(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t Count(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<int64_t>() : -1;
}

}  // namespace

Result<VerifyResults> ParseVerifyResults(const nlohmann::json& j) {
  if (!j.is_object()) return Status::Error("expected a JSON object");
  VerifyResults r;
  r.finished_at = Text(j, "finished_at");
  if (auto it = j.find("seconds"); it != j.end() && it->is_number()) r.seconds = it->get<double>();
  if (auto it = j.find("ok"); it != j.end() && it->is_boolean()) r.ok = it->get<bool>();
  if (auto it = j.find("tables"); it != j.end() && it->is_array())
    for (const auto& t : *it)
      if (t.is_object())
        r.tables.push_back({Text(t, "table"), Text(t, "status"), Count(t, "source_rows"),
                            Count(t, "destination_rows"), Count(t, "differing_rows"),
                            Text(t, "detail")});
  if (auto it = j.find("objects"); it != j.end() && it->is_array())
    for (const auto& o : *it)
      if (o.is_object())
        r.objects.push_back(
            {Text(o, "kind"), Text(o, "name"), Text(o, "status"), Text(o, "detail")});
  return r;
}

Result<std::optional<VerifyResults>> ReadVerifyResults(const std::filesystem::path& file) {
  std::error_code ec;
  if (!std::filesystem::exists(file, ec)) return std::optional<VerifyResults>();
  auto text = ReadFile(file);
  if (!text.ok()) return text.status();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Status::Error(file.string() + " is not JSON");
  auto r = ParseVerifyResults(j);
  if (!r.ok()) return r.status().Wrap(file.string());
  return std::optional<VerifyResults>(std::move(*r));
}

}  // namespace dbr
