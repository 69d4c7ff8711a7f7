// pgoutput messages from the replication stream (as pg_logical_slot_peek_binary_changes returns
// them, after DecodeByteaHex of the bytea text): arbitrary bytes, both as a message and as text.
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "pg/pgoutput.h"

using namespace dbr::pg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = dbr::fuzz::AsText(data, size);
  (void)pgoutput::Parse(bytes);
  dbr::Result<std::string> decoded = pgoutput::DecodeByteaHex(bytes);
  if (decoded.ok()) (void)pgoutput::Parse(*decoded);
  return 0;
}
