// The harness's pg_control editing (harness/pg_control.h): CRC-32C against published check values,
// and the CRC offset search and identifier rewrite on synthetic control files.
#include "harness/pg_control.h"

#include <gtest/gtest.h>

#include <cstring>
#include <ctime>
#include <set>
#include <string>

namespace dbr::test {
namespace {

TEST(Crc32cTest, MatchesPublishedCheckValues) {
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);  // the CRC catalogue's check value
  EXPECT_EQ(Crc32c(""), 0x00000000u);
  // RFC 3720 (iSCSI), appendix B.4.
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[static_cast<size_t>(i)] = static_cast<char>(i);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
}

void Put32(std::string& bytes, size_t at, uint32_t v) {
  std::memcpy(bytes.data() + at, &v, sizeof v);
}
void Put64(std::string& bytes, size_t at, uint64_t v) {
  std::memcpy(bytes.data() + at, &v, sizeof v);
}
uint64_t Get64(const std::string& bytes, size_t at) {
  uint64_t v = 0;
  std::memcpy(&v, bytes.data() + at, sizeof v);
  return v;
}

// 8192 bytes like pg_control: an identifier, some fields, the CRC of all before it at crc_at.
std::string ControlFile(uint64_t id, size_t crc_at) {
  std::string bytes(8192, '\0');
  Put64(bytes, 0, id);
  for (size_t i = 8; i < crc_at; ++i) bytes[i] = static_cast<char>(i * 7);
  Put32(bytes, crc_at, Crc32c(std::string_view(bytes).substr(0, crc_at)));
  return bytes;
}

TEST(Crc32cTest, FindsTheControlFileCrcAndItsIdentifier) {
  auto layout = ReadControlFileLayout(ControlFile(0x6b148a3d5c8f429aULL, 296));
  ASSERT_TRUE(layout.ok()) << layout.message();
  EXPECT_EQ(layout->crc_offset, 296u);
  EXPECT_EQ(layout->system_identifier, 0x6b148a3d5c8f429aULL);
}

TEST(Crc32cTest, RefusesAControlFileWithoutOrWithTwoCrcs) {
  std::string none = ControlFile(42, 296);
  none[100] ^= 1;
  EXPECT_FALSE(ReadControlFileLayout(none).ok());

  std::string two = ControlFile(42, 296);
  Put32(two, 400, Crc32c(std::string_view(two).substr(0, 400)));
  auto layout = ReadControlFileLayout(two);
  ASSERT_FALSE(layout.ok());
  EXPECT_NE(layout.message().find("found 2"), std::string::npos) << layout.message();
}

TEST(Crc32cTest, SetsTheIdentifierUnderAValidCrc) {
  std::string bytes = ControlFile(42, 296);
  const ControlFileLayout layout{42, 296};
  ASSERT_TRUE(SetControlFileIdentifier(bytes, layout, 4711).ok());
  EXPECT_EQ(Get64(bytes, 0), 4711u);
  auto reread = ReadControlFileLayout(bytes);
  ASSERT_TRUE(reread.ok()) << reread.message();
  EXPECT_EQ(reread->crc_offset, 296u);
  EXPECT_EQ(reread->system_identifier, 4711u);

  EXPECT_FALSE(SetControlFileIdentifier(bytes, layout, 4712).ok()) << "no longer the template's";
  std::string again = ControlFile(42, 296);
  EXPECT_FALSE(SetControlFileIdentifier(again, layout, 42).ok()) << "the same identifier";
}

TEST(Crc32cTest, NewSystemIdentifiersAreDistinctAndCarryTheTime) {
  std::set<uint64_t> seen;
  const uint64_t now = static_cast<uint64_t>(time(nullptr));
  for (int i = 0; i < 10000; ++i) {
    const uint64_t id = NewSystemIdentifier();
    EXPECT_TRUE(seen.insert(id).second) << "repeated " << id;
    EXPECT_LE((id >> 32) > now ? (id >> 32) - now : now - (id >> 32), 5u);
  }
}

}  // namespace
}  // namespace dbr::test
