// A file of the util layer that includes a header of a higher layer: the build must refuse it
// (tests/CMakeLists.txt: layering_upward_include_fails).
#include "core/pipeline.h"
#include "util/status.h"

dbr::Status LayeringProbeUp() {
  return dbr::Status::Ok();
}
