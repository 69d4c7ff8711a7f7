// PostgreSQL's startup log as the snapshot step reads it: the end-of-recovery lines, the choice
// of the snapshot's LSN among them, the lines' timestamps and the LSNs in them.
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "fuzz_support.h"
#include "pg/lsn.h"
#include "pg/recovery_log.h"

using namespace dbr::pg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = dbr::fuzz::AsText(data, size);
  std::vector<RecoveryEnd> ends = FindRecoveryEnds(text);
  for (const RecoveryEnd& end : ends) {
    (void)ParseLogTimestamp(end.timestamp);
    (void)Lsn::Parse(end.lsn.ToString());
  }
  const auto now = std::chrono::system_clock::now();
  (void)ChooseSnapshotLsn(ends, Lsn(0), Lsn(UINT64_MAX), std::nullopt, std::nullopt);
  (void)ChooseSnapshotLsn(ends, Lsn(0x1000000), Lsn(0x2000000), now - std::chrono::hours(24 * 365),
                          now);
  if (!ends.empty())
    (void)ChooseSnapshotLsn(ends, ends.front().lsn, ends.back().lsn, std::nullopt, std::nullopt);

  // Each line (or the whole input) as a timestamp and as an LSN.
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? nl : nl - start);
    (void)ParseLogTimestamp(line);
    if (auto lsn = Lsn::Parse(line)) (void)lsn->ToString();
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}
