// The service account's signed JWT: base64url as RFC 4648 defines it, an RS256 signature the
// public key verifies, and the header and claims Google's token endpoint reads.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <nlohmann/json.hpp>

#include "gcp/jwt.h"
#include "harness/rsa_key.h"
#include "unit/test_support.h"
#include "util/process.h"

namespace dbr::gcp {
namespace {

std::string Unbase64Url(std::string s) {
  for (char& c : s) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (s.size() % 4 != 0) s += '=';
  std::string out(s.size(), '\0');
  int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(n - std::count(s.begin(), s.end(), '='));
  return out;
}

bool Verifies(const std::string& public_pem, const std::string& data, const std::string& sig) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  return key && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

TEST(GcpJwt, Base64UrlIsRfc4648WithoutPadding) {
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg");
  EXPECT_EQ(Base64Url("fo"), "Zm8");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url("foob"), "Zm9vYg");
  EXPECT_EQ(Base64Url("fooba"), "Zm9vYmE");
  EXPECT_EQ(Base64Url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Url(std::string("\xfb\xff\xbf", 3)), "-_-_");
}

TEST(GcpJwt, AssertionIsSignedWithTheKeyAndCarriesTheClaimsGoogleReads) {
  const test::RsaKeyPair pair = test::NewRsaKeyPair();
  const auto at = std::chrono::system_clock::time_point(std::chrono::seconds(1790000000));
  auto jwt = SignedAssertion(
      {"sa@p.iam.gserviceaccount.com", "k1", "scope-a scope-b", "https://t/token", at},
      pair.private_pem);
  ASSERT_TRUE(jwt.ok()) << jwt.message();
  const size_t dot1 = jwt->find('.'), dot2 = jwt->rfind('.');
  ASSERT_NE(dot1, dot2);
  EXPECT_TRUE(Verifies(pair.public_pem, jwt->substr(0, dot2), Unbase64Url(jwt->substr(dot2 + 1))));
  EXPECT_FALSE(Verifies(test::NewRsaKeyPair().public_pem, jwt->substr(0, dot2),
                        Unbase64Url(jwt->substr(dot2 + 1))));
  auto header = nlohmann::json::parse(Unbase64Url(jwt->substr(0, dot1)));
  EXPECT_EQ(header, (nlohmann::json{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "k1"}}));
  auto claims = nlohmann::json::parse(Unbase64Url(jwt->substr(dot1 + 1, dot2 - dot1 - 1)));
  EXPECT_EQ(claims["iss"], "sa@p.iam.gserviceaccount.com");
  EXPECT_EQ(claims["aud"], "https://t/token");
  EXPECT_EQ(claims["scope"], "scope-a scope-b");
  EXPECT_EQ(claims["iat"], 1790000000);
  EXPECT_EQ(claims["exp"], 1790003600);
}

// The signature as a verifier that shares no code with ours reads it: the OpenSSL command line.
TEST(GcpJwt, TheOpensslCommandLineVerifiesTheSignature) {
  const test::RsaKeyPair pair = test::NewRsaKeyPair();
  auto jwt = SignedAssertion({"sa@p.iam.gserviceaccount.com", "k1", "s", "https://t/token",
                              std::chrono::system_clock::now()},
                             pair.private_pem);
  ASSERT_TRUE(jwt.ok()) << jwt.message();
  const size_t dot2 = jwt->rfind('.');
  unit_test::TempDir dir;
  const std::string data = dir.Write("data", jwt->substr(0, dot2)).string();
  const std::string sig = dir.Write("sig", Unbase64Url(jwt->substr(dot2 + 1))).string();
  auto verify = [&](const std::string& public_pem) {
    auto out =
        RunProcess({.argv = {"openssl", "dgst", "-sha256", "-verify",
                             dir.Write("key.pem", public_pem).string(), "-signature", sig, data}});
    EXPECT_TRUE(out.ok()) << out.message();
    return out.ok() ? out->out + out->err : std::string();
  };
  EXPECT_NE(verify(pair.public_pem).find("Verified OK"), std::string::npos);
  EXPECT_NE(verify(test::NewRsaKeyPair().public_pem).find("Verification failure"),
            std::string::npos);
}

TEST(GcpJwt, AKeyThatIsNotAnRsaPemIsNamedNotQuoted) {
  auto jwt = SignedAssertion({"a", "", "s", "u", {}}, "-----BEGIN PRIVATE KEY-----\nnot a key");
  ASSERT_FALSE(jwt.ok());
  EXPECT_EQ(jwt.message(), "private_key is not a PEM private key");
}

}  // namespace
}  // namespace dbr::gcp
