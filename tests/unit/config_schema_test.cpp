// The config schema table (src/config/schema.cpp): consistent in itself, every key readable with
// its own default, and docs/configuration.md documenting exactly its keys with their defaults.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/reference.h"
#include "config/schema.h"
#include "unit/test_support.h"
#include "util/text.h"

namespace dbr {
namespace {

std::string BlockOf(std::string_view key) {
  const size_t dot = key.find('.');
  return dot == std::string_view::npos ? "" : std::string(key.substr(0, dot));
}

bool IsBlock(const FieldSpec& field) {
  return std::holds_alternative<fields::BlockField>(field.value);
}

const FieldSpec* FindField(std::string_view key) {
  for (const FieldSpec& field : ConfigFields())
    if (field.key == key) return &field;
  return nullptr;
}

TEST(ConfigSchema, KeysAreUniqueAndEachBlockComesBeforeItsFields) {
  std::set<std::string_view> seen;
  std::set<std::string> blocks = {""};
  for (const FieldSpec& field : ConfigFields()) {
    EXPECT_TRUE(seen.insert(field.key).second) << field.key << " is in the table twice";
    EXPECT_TRUE(blocks.count(BlockOf(field.key)) > 0)
        << field.key << ": no block row \"" << BlockOf(field.key) << "\" above it";
    if (IsBlock(field)) {
      EXPECT_EQ(BlockOf(field.key), "") << field.key << ": blocks are not nested";
      blocks.insert(std::string(field.key));
    }
    EXPECT_FALSE(field.doc.empty()) << field.key << " has no doc line";
  }
}

TEST(ConfigSchema, AnInheritedDefaultNamesAFieldOfTheSameKind) {
  for (const FieldSpec& field : ConfigFields()) {
    if (!field.default_text.inherited) continue;
    const FieldSpec* source = FindField(field.default_text.text);
    ASSERT_NE(source, nullptr) << field.key << " inherits from unknown key "
                               << field.default_text.text;
    EXPECT_EQ(source->value.index(), field.value.index())
        << field.key << " and " << source->key << " are of different kinds";
  }
}

TEST(ConfigSchema, EveryKeyAcceptsItsOwnDefault) {
  for (const FieldSpec& field : ConfigFields()) {
    if (IsBlock(field) || !field.default_text.text.empty()) continue;  // no literal default
    SCOPED_TRACE(std::string(field.key));
    const std::string block = BlockOf(field.key);
    const std::string key(field.key.substr(block.empty() ? 0 : block.size() + 1));
    const std::string shown = DefaultShown(field);
    const std::string value = shown == "[]" || shown == "\"\"" ? shown : "\"" + shown + "\"";
    std::string yaml =
        block.empty() ? key + ": " + value + "\n" : block + ":\n  " + key + ": " + value + "\n";
    if (block == "cutover") yaml += "  type: pgbouncer\n";  // required in the block
    if (!ProviderReads(Provider::kRds, field.key))  // the default provider's: else cloudsql's
      yaml = "provider: cloudsql\ngcp: {project: p}\nsrc: {instance_id: i}\n" + yaml;
    auto config = ParseConfig(yaml, "/etc/dbr/config.yaml");
    ASSERT_TRUE(config.ok()) << yaml << config.message();
    EXPECT_EQ(ValueShown(field, *config), shown) << yaml;
  }
}

// ---------------------------------------------------------------------------------------------
// docs/configuration.md against the table.

// The rows "| `key` | type | default | meaning |": key -> default, code quotes removed. A key
// documented twice is reported in `problems`.
std::map<std::string, std::string> DocumentedDefaults(const std::string& page,
                                                      std::vector<std::string>* problems) {
  std::map<std::string, std::string> rows;
  std::istringstream in(page);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| `", 0) != 0) continue;
    std::vector<std::string> cells;
    std::istringstream row(line.substr(1));
    for (std::string cell; std::getline(row, cell, '|');) cells.push_back(Trim(cell));
    if (cells.size() < 4) continue;
    auto plain = [](std::string s) {
      s.erase(std::remove(s.begin(), s.end(), '`'), s.end());
      return s;
    };
    const std::string key = plain(cells[0]);
    if (!rows.emplace(key, plain(cells[2])).second)
      problems->push_back("`" + key + "` is documented twice in docs/configuration.md");
  }
  return rows;
}

// The documented default is the table's, perhaps followed by a note: "16777216 (16 MiB)".
bool SameDefault(const std::string& documented, const std::string& table) {
  return documented == table || documented.rfind(table + " (", 0) == 0;
}

// One line per difference between the page and the schema table, naming the key.
std::vector<std::string> DocsMismatches(const std::string& page) {
  std::vector<std::string> problems;
  const std::map<std::string, std::string> documented = DocumentedDefaults(page, &problems);
  for (const FieldSpec& field : ConfigFields()) {
    const std::string key(field.key);
    auto row = documented.find(key);
    if (row == documented.end()) {
      problems.push_back("`" + key +
                         "` is in the schema table (src/config/schema.cpp) but has no row in "
                         "docs/configuration.md");
      continue;
    }
    const std::string table_default = DefaultShown(field);
    if (!table_default.empty() && !SameDefault(row->second, table_default)) {
      problems.push_back("`" + key + "`: docs/configuration.md gives the default \"" + row->second +
                         "\", the schema table \"" + table_default + "\"");
    }
  }
  for (const auto& [key, unused] : documented) {
    if (FindField(key) == nullptr) {
      problems.push_back("`" + key +
                         "` has a row in docs/configuration.md but is not in the schema table "
                         "(src/config/schema.cpp)");
    }
  }
  return problems;
}

std::string ConfigurationPage() {
  std::ifstream in(unit_test::SourceDir() / "docs" / "configuration.md");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST(ConfigSchemaDocs, ConfigurationMdDocumentsEveryKeyWithTheTablesDefault) {
  const std::string page = ConfigurationPage();
  ASSERT_NE(page.find("| `src.port` |"), std::string::npos) << "docs/configuration.md not read";
  for (const std::string& problem : DocsMismatches(page)) ADD_FAILURE() << problem;
}

TEST(ConfigSchemaDocs, TheCheckFindsAMissingAnExtraAndAWrongRow) {
  std::string page = ConfigurationPage();
  const size_t port_row = page.find("| `src.port` |");
  ASSERT_NE(port_row, std::string::npos);
  page.erase(port_row, page.find('\n', port_row) + 1 - port_row);
  const size_t jobs_default = page.find("| `0` |", page.find("| `jobs` |"));
  ASSERT_NE(jobs_default, std::string::npos);
  page.replace(jobs_default, 7, "| `4` |");
  page += "| `src.hots` | string | `x` | A typo. |\n";

  const std::vector<std::string> problems = DocsMismatches(page);
  ASSERT_EQ(problems.size(), 3u) << ::testing::PrintToString(problems);
  EXPECT_NE(problems[0].find("`src.port` is in the schema table"), std::string::npos);
  EXPECT_NE(problems[1].find("`jobs`: docs/configuration.md gives the default \"4\""),
            std::string::npos);
  EXPECT_NE(problems[2].find("`src.hots` has a row in docs/configuration.md"), std::string::npos);
}

}  // namespace
}  // namespace dbr
