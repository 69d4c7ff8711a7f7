#include "verify/schema_diff.h"

#include <algorithm>
#include <map>
#include <utility>

namespace dbr::verify {
namespace {

using Key = std::pair<std::string, std::string>;

void Append(std::string& detail, const std::string& part) {
  if (part.empty()) return;
  if (!detail.empty()) detail += "; ";
  detail += part;
}

std::string Shown(const std::string& value) {
  return value.empty() ? "(none)" : value;
}

const Property* FindProperty(const CatalogObject& o, const std::string& label) {
  for (const auto& p : o.properties)
    if (p.label == label) return &p;
  return nullptr;
}

ObjectResult Compare(const CatalogObject& src, const CatalogObject& dst) {
  ObjectResult r{src.kind, src.name, Verdict::kOk, ""};
  std::string differences, notes;
  for (const auto& sp : src.properties) {
    const Property* dp = FindProperty(dst, sp.label);
    std::string dvalue = dp ? dp->value : "";
    if (dvalue == sp.value) continue;
    std::string part = sp.label + ": source " + Shown(sp.value) + ", destination " + Shown(dvalue);
    Append(sp.informational ? notes : differences, part);
  }
  if (!differences.empty()) r.status = Verdict::kDiffers;
  r.detail = differences;
  if (src.sequence && dst.sequence) {
    const SequencePosition& s = *src.sequence;
    const SequencePosition& d = *dst.sequence;
    bool behind = s.increment >= 0 ? d.Next() < s.Next() : d.Next() > s.Next();
    if (behind && r.status == Verdict::kOk) r.status = Verdict::kBehind;
    Append(notes, "next value: source " + std::to_string(s.Next()) + ", destination " +
                      std::to_string(d.Next()));
  }
  Append(r.detail, notes);
  return r;
}

}  // namespace

std::vector<ObjectResult> DiffObjects(const std::vector<CatalogObject>& source,
                                      const std::vector<CatalogObject>& destination) {
  std::map<Key, const CatalogObject*> src, dst;
  for (const auto& o : source) src[{o.kind, o.name}] = &o;
  for (const auto& o : destination) dst[{o.kind, o.name}] = &o;
  std::vector<ObjectResult> out;
  for (const auto& [key, s] : src) {
    auto d = dst.find(key);
    if (d == dst.end()) {
      out.push_back({key.first, key.second, Verdict::kMissing, "not on the destination"});
    } else {
      out.push_back(Compare(*s, *d->second));
    }
  }
  for (const auto& [key, d] : dst)
    if (!src.count(key))
      out.push_back({key.first, key.second, Verdict::kExtra, "only on the destination"});
  std::sort(out.begin(), out.end(), [](const ObjectResult& a, const ObjectResult& b) {
    return std::tie(a.kind, a.name) < std::tie(b.kind, b.name);
  });
  return out;
}

}  // namespace dbr::verify
