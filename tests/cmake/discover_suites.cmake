# Run after a gtest executable is built (tests/CMakeLists.txt): lists its tests and writes one
# ctest entry per test suite (--gtest_filter=Suite.*) into OUTPUT, so the tests of a suite share
# its SetUpTestSuite (one pair of servers) instead of each starting a process of its own.
#
# Inputs (-D): EXECUTABLE, OUTPUT, PREFIX (of the ctest names), LABELS ("a|b": every entry's labels), TIMEOUT (seconds per suite),
# SLOW_SUITES ("A|B": also labelled slow, left out of `make test-quick`), SERIAL_SUITES
# ("A|B": RUN_SERIAL, for suites that measure timings and need a quiet machine).
cmake_minimum_required(VERSION 3.22)
execute_process(COMMAND "${EXECUTABLE}" --gtest_list_tests
                OUTPUT_VARIABLE listing RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${EXECUTABLE} --gtest_list_tests failed (${rc}): ${err}")
endif()

string(REPLACE "|" ";" slow "${SLOW_SUITES}")
string(REPLACE "|" ";" serial "${SERIAL_SUITES}")
string(REPLACE "\n" ";" lines "${listing}")
set(script "")
set(seen "")
foreach(line IN LISTS lines)
  # Suites are the lines that do not start with a space: "Suite." or "Prefix/Suite.  # Param".
  if(NOT line MATCHES "^([^ #][^ ]*)\\.")
    continue()
  endif()
  set(suite "${CMAKE_MATCH_1}")
  if(suite IN_LIST seen)
    continue()
  endif()
  list(APPEND seen "${suite}")
  set(name "${PREFIX}${suite}")
  string(REPLACE "|" ";" labels "${LABELS}")
  if(suite IN_LIST slow)
    string(APPEND labels ";slow")
  endif()
  string(APPEND script
    "add_test([==[${name}]==] [==[${EXECUTABLE}]==] [==[--gtest_filter=${suite}.*]==])\n"
    "set_tests_properties([==[${name}]==] PROPERTIES LABELS \"${labels}\" TIMEOUT ${TIMEOUT}")
  if(suite IN_LIST serial)
    string(APPEND script " RUN_SERIAL TRUE")
  endif()
  string(APPEND script ")\n")
endforeach()
foreach(expected IN LISTS slow serial)
  if(NOT expected IN_LIST seen)
    message(FATAL_ERROR "tests/CMakeLists.txt names the suite ${expected}, which ${EXECUTABLE} does not have")
  endif()
endforeach()
file(WRITE "${OUTPUT}" "${script}")
