#include "model/names.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dbr::names {
namespace {

TEST(SlotNameTest, APlainDatabaseNameIsKeptAsItIs) {
  EXPECT_EQ(SlotName(kSlotBase, "app"), "db_relocate_slot_app");
  EXPECT_EQ(SlotName(kReverseSlotBase, "orders_2024"), "db_relocate_rev_slot_orders_2024");
}

TEST(SlotNameTest, OtherNamesKeepWhatIsReadableAndAddAHashOfTheWholeName) {
  EXPECT_EQ(SlotName(kSlotBase, "App-1").substr(0, 23), "db_relocate_slot_app_1_");
  // Names that read the same once lower-cased and stripped still get slots of their own.
  EXPECT_NE(SlotName(kSlotBase, "App-1"), SlotName(kSlotBase, "app_1"));
  EXPECT_NE(SlotName(kSlotBase, "App-1"), SlotName(kSlotBase, "app-1"));
  EXPECT_NE(SlotName(kSlotBase, "a\"b"), SlotName(kSlotBase, "a'b"));
  EXPECT_NE(SlotName(kSlotBase, std::string(40, 'x')), SlotName(kSlotBase, std::string(41, 'x')));
}

// A relocation under way finds its slot by this name: the hash (32-bit FNV-1a of the name, as
// computed independently) must never change.
TEST(SlotNameTest, TheHashedFormIsStable) {
  EXPECT_EQ(SlotName(kSlotBase, "App-1"), "db_relocate_slot_app_1_8718f326");
}

// "app_1_xxxxxxxx" is a plain name that reads like the hashed form of "App-1": hashed too.
TEST(SlotNameTest, APlainNameShapedLikeAHashedOneIsHashedItself) {
  const std::string hashed = SlotName(kSlotBase, "App-1");
  const std::string lookalike = hashed.substr(std::string(kSlotBase).size() + 1);
  EXPECT_NE(SlotName(kSlotBase, lookalike), hashed);
  EXPECT_EQ(SlotName(kSlotBase, "app_1_cafe"), "db_relocate_slot_app_1_cafe");  // not 8 digits
}

TEST(SlotNameTest, EveryNameIsAValidSlotNameWithinNameDataLen) {
  for (const std::string& db : std::vector<std::string>{
           "app", "", "App", "ünïcødé", "with space", "\"quoted\"", "a.b", std::string(32, 'z'),
           std::string(33, 'z'), std::string(63, 'Q'), "select", "line\nbreak", "x;DROP TABLE y"}) {
    for (const char* base : {kSlotBase, kReverseSlotBase}) {
      std::string slot = SlotName(base, db);
      EXPECT_LE(slot.size(), 63u) << db;
      for (char c : slot)
        EXPECT_TRUE((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
            << "'" << c << "' in " << slot;
      EXPECT_EQ(slot.rfind(std::string(base) + "_", 0), 0u) << slot;
    }
  }
}

TEST(LinksTest, TheForwardSlotIsNamedAfterTheSourceDatabaseAndTheReverseAfterTheDestination) {
  Links links("shop", "shop_v17");
  ASSERT_EQ(links.forward.size(), 1u);
  EXPECT_EQ(links.forward[0].slot, "db_relocate_slot_shop");
  EXPECT_EQ(links.reverse.slot, "db_relocate_rev_slot_shop_v17");
  EXPECT_EQ(links.forward[0].publication, kPublication);
  EXPECT_EQ(links.reverse.subscription, kReverseSubscription);
  EXPECT_EQ(&links.MainInto(Side::kDestination), &links.forward[0]);
  EXPECT_EQ(&links.MainInto(Side::kSource), &links.reverse);
  EXPECT_EQ(links.Into(Side::kSource).size(), 1u);
  EXPECT_EQ(links.src_database, "shop");
  EXPECT_EQ(links.dst_database, "shop_v17");
}

TEST(LinksTest, LanesAfterTheFirstAddTheirNumberToEveryName) {
  Links links("shop", "shop_v17", 3);
  ASSERT_EQ(links.forward.size(), 3u);
  EXPECT_EQ(links.forward[0].subscription, "db_relocate_sub");
  EXPECT_EQ(links.forward[2].publication, "db_relocate_pub3");
  EXPECT_EQ(links.forward[2].slot, "db_relocate_slot3_shop");
  EXPECT_EQ(links.forward[1].subscription, "db_relocate_sub2");
  EXPECT_EQ(links.forward[1].lane, 2);
  EXPECT_EQ(links.Into(Side::kDestination).size(), 3u);
  // A lane's slot never takes the name of lane 1's slot of another database ("2_shop").
  EXPECT_NE(links.forward[1].slot, Links("2_shop", "x").forward[0].slot);
}

TEST(LinksTest, EachLaneHasAVerifyMarkerTableThatNamesItsLane) {
  EXPECT_EQ(VerifyMarkerTable(1), "verify_marker");
  EXPECT_EQ(VerifyMarkerTable(12), "verify_marker_12");
  for (int lane : {1, 2, 12, 32})
    EXPECT_EQ(VerifyMarkerLane(kSchema, VerifyMarkerTable(lane)), lane);
  EXPECT_EQ(VerifyMarkerLane("public", "verify_marker"), 0);
  EXPECT_EQ(VerifyMarkerLane(kSchema, "heartbeat"), 0);
  EXPECT_EQ(VerifyMarkerLane(kSchema, "verify_marker_x"), 0);
  EXPECT_EQ(VerifyMarkerLane(kSchema, "verify_marker_1"), 0);
  EXPECT_EQ(VerifyMarkerLane(kSchema, "verify_marker_"), 0);
}

}  // namespace
}  // namespace dbr::names
