// AWS Query-protocol replies (RDS, EC2, STS): the error parser and the parsers of every result
// element db_relocate reads, on an arbitrary body.
#include <cstddef>
#include <cstdint>

#include "aws/client.h"
#include "aws/credential_sources.h"
#include "aws/rds.h"
#include "fuzz_support.h"

using namespace dbr::aws;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(dbr::fuzz::AsText(data, size));
  dbr::HttpResponse response{400, {{"x-amzn-requestid", "fuzz"}}, body};
  AwsError error = ParseQueryError(response);
  (void)error.Retryable();
  (void)error.Describe("rds", "DescribeDBInstances");

  for (const char* action : {"DescribeDBInstances", "AssumeRole", "DescribeSecurityGroups"}) {
    XmlReply reply;
    reply.action = action;
    if (!reply.doc().load_buffer(body.data(), body.size())) return 0;
    pugi::xml_node result = reply.result();
    for (auto n : result.child("DBInstances").children("DBInstance")) (void)ParseInstance(n);
    (void)ParseInstance(result.child("DBInstance"));
    (void)ParseSnapshot(result.child("DBSnapshots").child("DBSnapshot"));
    (void)ParseSnapshot(result.child("DBSnapshot"));
    for (auto n : result.child("DBEngineVersions").children("DBEngineVersion"))
      (void)ParseEngineVersion(n);
    (void)CredentialsFromStsReply(reply, "fuzz");
    (void)Int(result, "Marker");
    (void)Bool(result, "AdditionalDataPending");
  }
  return 0;
}
