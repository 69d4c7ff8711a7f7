#include "config/yaml_document.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <sstream>
#include <string_view>

#include "config/config_text.h"
#include "config/problems.h"

namespace dbr {
namespace {

// Sees where each YAML document starts; builds nothing.
class DocumentProbe : public YAML::EventHandler {
 public:
  YAML::Mark start = YAML::Mark::null_mark();
  void OnDocumentStart(const YAML::Mark& mark) override { start = mark; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

// Counts the documents in `text` (stopping at 3) without building them. yaml-cpp can stall on
// some malformed input (a line starting with ","), yielding empty documents at one spot forever:
// YAML::LoadAll never returns and YAML::Load returns null (an all-defaults config). A document
// starting where the previous one did is that stall; it throws ParserException there.
int CountDocuments(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentProbe probe;
  int count = 0;
  YAML::Mark previous = YAML::Mark::null_mark();
  while (count < 3 && parser.HandleNextDocument(probe)) {
    if (count > 0 && probe.start.pos == previous.pos) {
      const size_t at = static_cast<size_t>(std::max(probe.start.pos, 0));
      throw YAML::ParserException(probe.start, at < text.size()
                                                   ? "unexpected " + Shown(std::string(1, text[at]))
                                                   : std::string("unexpected end of file"));
    }
    previous = probe.start;
    ++count;
  }
  return count;
}

// A value that opens a quote and does not close it on its line: YAML would carry on into the
// next lines and swallow the keys there ("name: \"app" + "port: 6543" becomes one name). No
// setting of this config spans lines, so this is reported as the syntax error it almost surely is.
void RejectUnclosedQuotes(const std::string& text) {
  size_t start = 0;
  for (int line = 0; start <= text.size(); ++line) {
    size_t end = text.find('\n', start);
    std::string_view l(text.data() + start, (end == std::string::npos ? text.size() : end) - start);
    size_t value = l.find(": ");
    value = value == std::string_view::npos ? l.find_first_not_of(" -") : value + 2;
    if (value != std::string_view::npos) value = l.find_first_not_of(' ', value);
    if (value != std::string_view::npos && (l[value] == '"' || l[value] == '\'')) {
      const char q = l[value];
      bool closed = false;
      for (size_t i = value + 1; i < l.size() && !closed; ++i) {
        if (q == '"' && l[i] == '\\')
          ++i;
        else if (l[i] == q && q == '\'' && i + 1 < l.size() && l[i + 1] == '\'')
          ++i;
        else
          closed = l[i] == q;
      }
      if (!closed) {
        YAML::Mark mark = YAML::Mark::null_mark();
        mark.pos = static_cast<int>(start + value);
        mark.line = line;
        mark.column = static_cast<int>(value);
        throw YAML::ParserException(mark, "the quoted value is not closed on its line");
      }
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

// "<origin>:<line>:<column>: YAML syntax error: ...", with a hint for the usual mistake.
Status SyntaxError(const YAML::Exception& e, const std::string& text, const std::string& origin) {
  std::string where = origin;
  if (!e.mark.is_null() && e.mark.line >= 0) {
    where += ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1);
  }
  std::string hint;
  if (!e.mark.is_null() && e.mark.line >= 0) {
    // "schema: [a, ${X}]": inside [ ] and { } the braces of ${...} are YAML syntax.
    size_t start = 0;
    for (int line = 0; line < e.mark.line && start != std::string::npos; ++line) {
      start = text.find('\n', start);
      if (start != std::string::npos) ++start;
    }
    if (start != std::string::npos) {
      const size_t end = text.find('\n', start);
      const std::string line = text.substr(start, end == std::string::npos ? end : end - start);
      if (line.find("${") != std::string::npos) {
        hint = " (inside [ ] or { }, put values that use ${...} in quotes: \"${NAME}\")";
      }
    }
  }
  return Status::Error(where + ": YAML syntax error: " + Printable(e.msg) + hint);
}

}  // namespace

Result<YAML::Node> ReadYamlDocument(const std::string& text, const std::string& origin) {
  YAML::Node root;
  try {
    RejectUnclosedQuotes(text);
    const int documents = CountDocuments(text);
    if (documents > 1) {
      return Status::Error(origin +
                           ": holds more than one YAML document (separated by ---); "
                           "expected one");
    }
    if (documents == 1) root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return SyntaxError(e, text, origin);
  }
  if (!root.IsNull() && !root.IsMap()) {
    Problems problems(origin);
    problems.Add(root.Mark(), "",
                 "expected a map of settings at the top level (\"key: value\" lines), got " +
                     (root.IsScalar() ? "the text " + Shown(root.Scalar()) : KindOf(root)));
    return problems.ToStatus();
  }
  return root;
}

}  // namespace dbr
