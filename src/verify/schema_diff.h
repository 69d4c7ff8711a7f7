// The pure half of the schema comparison: objects read from each side's catalog, each with its
// compared properties, matched by kind and name and turned into one result per object.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "verify/schema_compare.h"

namespace dbr::verify {

struct Property {
  std::string label;  // "type", "definition", ...
  std::string value;
  bool informational = false;  // shown when it differs, never makes the object differ
};

// Where a sequence stands, read from the sequence relation itself.
struct SequencePosition {
  int64_t last_value = 0;
  bool is_called = false;
  int64_t increment = 1;
  // The value the next nextval() returns (before range checks).
  int64_t Next() const { return is_called ? last_value + increment : last_value; }
};

struct CatalogObject {
  std::string kind;
  std::string name;
  std::vector<Property> properties;
  std::optional<SequencePosition> sequence;
};

// One result per object on either side, sorted by kind then name. A sequence whose definition
// matches is BEHIND when the destination's next value is one the source may already have handed
// out (smaller for an ascending sequence, larger for a descending one).
std::vector<ObjectResult> DiffObjects(const std::vector<CatalogObject>& source,
                                      const std::vector<CatalogObject>& destination);

}  // namespace dbr::verify
