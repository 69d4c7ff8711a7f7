#include <gtest/gtest.h>

#include "aws/rds.h"

namespace dbr::aws {
namespace {

TEST(AwsRdsParse, KmsKey) {
  auto key = ParseKmsKey(nlohmann::json::parse(
      R"({"KeyMetadata": {"KeyId": "1234", "Arn": "arn:aws:kms:us-east-1:1:key/1234",
          "Enabled": true}})"));
  ASSERT_TRUE(key.ok()) << key.message();
  EXPECT_EQ(key->id, "1234");
  EXPECT_EQ(key->arn, "arn:aws:kms:us-east-1:1:key/1234");
  EXPECT_TRUE(key->enabled);
}

// Found by tests/fuzz/fuzz_aws_json: a DescribeKey reply without a KeyMetadata object, or with a
// field of another type, threw nlohmann::json::type_error out of FindKmsKey.
TEST(AwsRdsParse, KmsKeyOfAnotherShapeIsAnErrorNotAThrow) {
  for (const char* bad : {R"({"__type":"com.amazonaws.kms#NotFoundException","message":"no"})",
                          "[]", "5", R"({"KeyMetadata": null})", R"({"KeyMetadata": [1]})"}) {
    Result<KmsKey> key = ParseKmsKey(nlohmann::json::parse(bad));
    ASSERT_FALSE(key.ok()) << bad;
    EXPECT_NE(key.message().find("KeyMetadata"), std::string::npos) << key.message();
  }
  auto odd = ParseKmsKey(
      nlohmann::json::parse(R"({"KeyMetadata": {"KeyId": 1, "Arn": null, "Enabled": "true"}})"));
  ASSERT_TRUE(odd.ok()) << odd.message();
  EXPECT_EQ(odd->id, "");
  EXPECT_FALSE(odd->enabled);
}

}  // namespace
}  // namespace dbr::aws
