#include "harness/pg_control.h"

#include <sys/time.h>
#include <unistd.h>

#include <array>
#include <bit>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <mutex>
#include <random>
#include <set>
#include <vector>

namespace fs = std::filesystem;

namespace dbr::test {
namespace {

// pg_control and WAL headers are written in the server's byte order; ours is the same machine's.
static_assert(std::endian::native == std::endian::little, "pg_control is read as little-endian");

constexpr size_t kMinCrcOffset = 16;
constexpr size_t kMaxCrcOffset = 1024;
constexpr size_t kWalSysidOffset = 24;  // sizeof(XLogPageHeaderData) = 20, MAXALIGNed
constexpr uint16_t kXlpLongHeader = 0x0002;

template <typename T>
T Load(std::string_view bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

template <typename T>
void Store(std::string& bytes, size_t offset, T value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

std::string Hex(uint64_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
  return buf;
}

Result<std::string> ReadPrefix(const fs::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Error("cannot read " + path.string() + ": " + strerror(errno));
  std::string bytes(max_bytes, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(max_bytes));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return bytes;
}

// Overwrites bytes in place: the file keeps its owner (the server user) and mode.
Status WriteAt(const fs::path& path, size_t offset, std::string_view bytes) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  if (!f) return Status::Error("cannot open " + path.string() + ": " + strerror(errno));
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!f.flush()) return Status::Error("cannot write " + path.string());
  return Status::Ok();
}

bool IsWalSegmentName(const std::string& name) {
  return name.size() == 24 && name.find_first_not_of("0123456789ABCDEF") == std::string::npos;
}

// True when the segment was patched, false when it does not carry `old_id`.
Result<bool> SetWalSegmentIdentifier(const fs::path& segment, uint64_t old_id, uint64_t id) {
  auto head = ReadPrefix(segment, kWalSysidOffset + sizeof(uint64_t));
  if (!head.ok()) return head.status();
  if (head->size() < kWalSysidOffset + sizeof(uint64_t)) return false;
  if (Load<uint64_t>(*head, kWalSysidOffset) != old_id) return false;
  const uint16_t magic = Load<uint16_t>(*head, 0);
  const uint16_t info = Load<uint16_t>(*head, 2);
  // XLOG_PAGE_MAGIC is 0xD106 (13) .. 0xD118 (18), bumped with each major's WAL format.
  if ((magic >> 8) != 0xD1 || (info & kXlpLongHeader) == 0) {
    return Status::Error(segment.string() + " carries the identifier but has no long WAL page " +
                         "header (magic " + Hex(magic) + ", info " + Hex(info) + ")");
  }
  std::string bytes(sizeof id, '\0');
  Store(bytes, 0, id);
  DBR_RETURN_IF_ERROR(WriteAt(segment, kWalSysidOffset, bytes));
  return true;
}

Status SetWalIdentifier(const fs::path& data_dir, uint64_t old_id, uint64_t id) {
  std::error_code ec;
  int patched = 0;
  for (const auto& entry : fs::directory_iterator(data_dir / "pg_wal", ec)) {
    std::error_code type_ec;
    if (!entry.is_regular_file(type_ec) || !IsWalSegmentName(entry.path().filename().string()))
      continue;
    auto done = SetWalSegmentIdentifier(entry.path(), old_id, id);
    if (!done.ok()) return done.status();
    patched += *done ? 1 : 0;
  }
  if (ec)
    return Status::Error("cannot list " + (data_dir / "pg_wal").string() + ": " + ec.message());
  if (patched == 0)
    return Status::Error("no WAL segment in " + (data_dir / "pg_wal").string() +
                         " carries the identifier " + Hex(old_id));
  return Status::Ok();
}

}  // namespace

// Table-driven, one byte at a time: the harness checksums a few hundred bytes per cluster. No
// library the build links has CRC-32C (zlib's crc32 is the IEEE polynomial; OpenSSL has none).
uint32_t Crc32c(std::string_view bytes) {
  static const std::array<uint32_t, 256> table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int bit = 0; bit < 8; ++bit) c = (c & 1) != 0 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (char ch : bytes) crc = table[(crc ^ static_cast<uint8_t>(ch)) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

Result<ControlFileLayout> ReadControlFileLayout(std::string_view pg_control) {
  std::vector<size_t> matches;
  for (size_t k = kMinCrcOffset; k <= kMaxCrcOffset && k + 4 <= pg_control.size(); k += 4) {
    if (Crc32c(pg_control.substr(0, k)) == Load<uint32_t>(pg_control, k)) matches.push_back(k);
  }
  if (matches.size() != 1) {
    return Status::Error("pg_control: expected exactly one offset in [" +
                         std::to_string(kMinCrcOffset) + ", " + std::to_string(kMaxCrcOffset) +
                         "] holding the CRC-32C of the bytes before it, found " +
                         std::to_string(matches.size()));
  }
  return ControlFileLayout{Load<uint64_t>(pg_control, 0), matches.front()};
}

Status SetControlFileIdentifier(std::string& pg_control, const ControlFileLayout& layout,
                                uint64_t id) {
  const size_t k = layout.crc_offset;
  if (pg_control.size() < k + 4 || Load<uint64_t>(pg_control, 0) != layout.system_identifier ||
      Crc32c(std::string_view(pg_control).substr(0, k)) != Load<uint32_t>(pg_control, k)) {
    return Status::Error("pg_control does not match its template (identifier " +
                         Hex(layout.system_identifier) + ", CRC at " + std::to_string(k) + ")");
  }
  if (id == layout.system_identifier)
    return Status::Error("the new identifier is the template's own: " + Hex(id));
  Store(pg_control, 0, id);
  Store(pg_control, k, Crc32c(std::string_view(pg_control).substr(0, k)));
  return Status::Ok();
}

uint64_t NewSystemIdentifier() {
  static std::mutex mu;
  static std::set<uint64_t> issued;
  static std::mt19937_64 rng{std::random_device{}()};
  timeval tv{};
  gettimeofday(&tv, nullptr);
  const uint64_t like_postgres = (static_cast<uint64_t>(tv.tv_sec) << 32) |
                                 (static_cast<uint64_t>(tv.tv_usec) << 12) |
                                 (static_cast<uint64_t>(getpid()) & 0xFFF);
  std::lock_guard<std::mutex> lock(mu);
  while (true) {
    // Random low half: the high half keeps PostgreSQL's "seconds since 1970" for a human reader.
    const uint64_t id = like_postgres ^ (rng() & 0xFFFFFFFFu);
    if (issued.insert(id).second) return id;
  }
}

Status SetSystemIdentifier(const fs::path& data_dir, const ControlFileLayout& layout, uint64_t id) {
  const fs::path control = data_dir / "global" / "pg_control";
  const std::string what = "setting the system identifier of " + data_dir.string();
  auto bytes = ReadPrefix(control, 8192);
  if (!bytes.ok()) return bytes.status().Wrap(what);
  DBR_RETURN_IF_ERROR(SetControlFileIdentifier(*bytes, layout, id).Wrap(what));
  DBR_RETURN_IF_ERROR(SetWalIdentifier(data_dir, layout.system_identifier, id).Wrap(what));
  return WriteAt(control, 0, *bytes).Wrap(what);
}

}  // namespace dbr::test
