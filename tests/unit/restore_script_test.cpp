#include <gtest/gtest.h>

#include <sstream>

#include "snapshot/restore_list.h"

namespace dbr {
namespace {

// A script as pg_restore --file writes it (15.14 and later: with \restrict).
const char* const kScript =
    "--\n"
    "-- PostgreSQL database dump\n"
    "--\n"
    "\n"
    "\\restrict Key123\n"
    "\n"
    "SET statement_timeout = 0;\n"
    "\n"
    "--\n"
    "-- Name: a; Type: TABLE; Schema: public; Owner: ops\n"
    "--\n"
    "\n"
    "CREATE TABLE public.a (id integer);\n"
    "\n"
    "--\n"
    "-- Name: f(); Type: FUNCTION; Schema: public; Owner: ops\n"
    "--\n"
    "\n"
    "CREATE FUNCTION public.f() RETURNS text LANGUAGE sql AS $$SELECT '\n"
    "\\restrict Other\n"
    "\\unrestrict Other\n"
    "'$$;\n"
    "\n"
    "--\n"
    "-- Name: b; Type: TABLE; Schema: public; Owner: ops\n"
    "--\n"
    "\n"
    "CREATE TABLE public.b (id integer);\n"
    "\n"
    "\\unrestrict Key123\n"
    "\n";

std::vector<std::string> Pieces(const std::string& script, size_t piece_bytes) {
  std::istringstream in(script);
  std::vector<std::string> pieces;
  Status st = ForEachScriptPiece(in, piece_bytes, [&](const std::string& p) {
    pieces.push_back(p);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.message();
  return pieces;
}

std::string Joined(const std::vector<std::string>& pieces) {
  std::string all;
  for (const auto& p : pieces) all += p;
  return all;
}

TEST(RestoreScript, PsqlsRestrictLinesGoAndEveryOtherLineIsSentAsWritten) {
  const std::string all = Joined(Pieces(kScript, 1 << 20));
  EXPECT_EQ(all.find("Key123"), std::string::npos) << all;
  std::string expected = kScript;
  for (const char* line : {"\\restrict Key123\n", "\\unrestrict Key123\n"})
    expected.erase(expected.find(line), std::string(line).size());
  EXPECT_EQ(all, expected);
  // A function body's lines are its own, even those that look like psql's.
  EXPECT_NE(all.find("\n\\restrict Other\n\\unrestrict Other\n"), std::string::npos) << all;
}

// The server converts a message from the client encoding and parses it whole before running any
// of it: the script's SET client_encoding and standard_conforming_strings go in a message of
// their own, before the text they govern.
TEST(RestoreScript, TheSettingsGoAloneThenTheEntriesInAsFewPiecesAsTheSizeAllows) {
  const std::string script = kScript;
  const std::vector<std::string> pieces = Pieces(script, 1 << 20);
  ASSERT_EQ(pieces.size(), 2u);
  EXPECT_NE(pieces[0].find("SET statement_timeout = 0;"), std::string::npos) << pieces[0];
  EXPECT_EQ(pieces[0].find("-- Name: "), std::string::npos) << pieces[0];
  EXPECT_EQ(pieces[1].rfind("-- Name: a; Type: TABLE", 0), 0u) << pieces[1];
  EXPECT_NE(pieces[1].find("CREATE TABLE public.b"), std::string::npos) << pieces[1];
  EXPECT_TRUE(Pieces("", 1).empty());
}

TEST(RestoreScript, PiecesAreCutOnlyWhereAnEntryStartsOnceLargeEnough) {
  std::vector<std::string> pieces = Pieces(kScript, 1);
  ASSERT_EQ(pieces.size(), 4u);  // the settings, table a, the function, table b
  EXPECT_EQ(pieces[1].rfind("-- Name: a; Type: TABLE", 0), 0u) << pieces[1];
  EXPECT_EQ(pieces[2].rfind("-- Name: f(); Type: FUNCTION", 0), 0u) << pieces[2];
  EXPECT_EQ(pieces[3].rfind("-- Name: b; Type: TABLE", 0), 0u) << pieces[3];
  // The header's first "--" line ends the piece before: a comment, nothing cut in two.
  EXPECT_TRUE(pieces[1].ends_with(");\n\n--\n")) << pieces[1];

  // A piece takes whole entries until it is large enough: table a alone is not.
  pieces = Pieces(kScript, pieces[1].size() + 1);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_NE(pieces[1].find("CREATE TABLE public.a"), std::string::npos) << pieces[1];
  EXPECT_NE(pieces[1].find("CREATE FUNCTION public.f()"), std::string::npos) << pieces[1];
  EXPECT_EQ(pieces[2].rfind("-- Name: b; Type: TABLE", 0), 0u) << pieces[2];
}

TEST(RestoreScript, ScriptOfAnOlderPgRestoreWithoutRestrictPassesAsWritten) {
  const std::string older =
      "SET a = 1;\n--\n-- Name: f(); Type: FUNCTION\n--\nCREATE FUNCTION f() RETURNS text "
      "LANGUAGE sql AS $$SELECT '\n\\restrict Body\n'$$;\n";
  const std::vector<std::string> pieces = Pieces(older, 1 << 20);
  EXPECT_EQ(pieces.size(), 2u);
  EXPECT_EQ(Joined(pieces), older);
}

TEST(RestoreScript, FirstFailedSendStopsAndIsReturned) {
  std::istringstream in(kScript);
  int sent = 0;
  Status st = ForEachScriptPiece(in, 1, [&](const std::string&) {
    ++sent;
    return Status::Error("on destination: syntax error");
  });
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "on destination: syntax error");
  EXPECT_EQ(sent, 1);
}

}  // namespace
}  // namespace dbr
