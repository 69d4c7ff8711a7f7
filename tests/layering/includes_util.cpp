// A file of the util layer that includes only util/: it compiles (the control for
// includes_core.cpp).
#include "util/status.h"

dbr::Status LayeringProbeDown() {
  return dbr::Status::Ok();
}
