// Gives a copy of a PostgreSQL data directory a system identifier of its own, so that copies of
// one initdb'd template are distinct servers (the product tells servers apart by it). No
// PostgreSQL tool sets it (pg_resetwal cannot; the npm majors ship no pg_resetwal anyway), so the
// two places a cleanly shut down, freshly initdb'd data directory holds it are patched:
//   - global/pg_control: ControlFileData.system_identifier, its first 8 bytes, under the CRC-32C
//     that ends the struct (at offsetof(ControlFileData, crc), which differs per major);
//   - pg_wal/<segment>: the long page header of each segment's first page, xlp_sysid at byte 24,
//     which the server checks against pg_control when it reads the segment.
// A checked scan of the data directories of majors 13..18 found the identifier nowhere else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "util/status.h"

namespace dbr::test {

// CRC-32C (Castagnoli; reflected polynomial 0x82F63B78, initial and final XOR 0xFFFFFFFF).
uint32_t Crc32c(std::string_view bytes);

// What a template's pg_control says: its identifier, and where its CRC is (the one offset k, a
// multiple of 4 in [16, 1024], where CRC-32C(bytes[0, k)) is the little-endian uint32 at k). An
// error when no offset or more than one matches.
struct ControlFileLayout {
  uint64_t system_identifier = 0;
  size_t crc_offset = 0;
};
Result<ControlFileLayout> ReadControlFileLayout(std::string_view pg_control);

// Rewrites the identifier in a pg_control file's content and its CRC at layout.crc_offset; an
// error unless the content still carries layout's identifier under a valid CRC.
Status SetControlFileIdentifier(std::string& pg_control, const ControlFileLayout& layout,
                                uint64_t id);

// A fresh identifier, built like PostgreSQL's (seconds << 32 | microseconds << 12 | pid & 0xFFF)
// mixed with random bits; never the same twice in one process.
uint64_t NewSystemIdentifier();

// Gives `data_dir`, a copy of the data directory whose pg_control has `layout`, the identifier
// `id`: in global/pg_control and in every WAL segment that carries layout's identifier.
Status SetSystemIdentifier(const std::filesystem::path& data_dir, const ControlFileLayout& layout,
                           uint64_t id);

}  // namespace dbr::test
