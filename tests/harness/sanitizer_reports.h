// Sanitizer reports of the db_relocate processes the tests run.
//
// Under a sanitizer build (DBR_SANITIZE=ON, `make integration-asan`) a db_relocate run that hits
// a memory error, undefined behaviour or a leak exits non-zero, which a test expecting a
// non-zero exit (bad input, a verify difference) would take as its expected failure. So every
// run writes its report to a file instead (log_path) and RunDbRelocate fails the test that ran
// it with the report's text. In a plain build nothing reads the settings and no file appears.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace dbr::test {

// ASAN_OPTIONS and UBSAN_OPTIONS for a child: reports into this test process's report folder,
// after whatever the caller's own environment already asks for.
std::map<std::string, std::string> SanitizerReportEnv();

// Reports written since the last call, each as "<file>:\n<text>"; the files are removed.
std::vector<std::string> TakeSanitizerReports();

}  // namespace dbr::test
