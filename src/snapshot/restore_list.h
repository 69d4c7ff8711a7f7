// The text pg_restore prints that the schema copy reads: its table of contents (`--list`) and
// its error output. Pure functions, apart from schema_dump.cpp so they can be tested alone.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dbr {

// The description of a `pg_restore --list` line ("INDEX public orders_idx ops": the part after
// the dump id, catalog id and oid), or nullopt for a comment line or a line of another shape.
std::optional<std::string> RestoreEntryDescription(const std::string& line);

// `pg_restore --list` output without the entries whose description (in "<dump id>; <catalog
// id> <oid> EXTENSION - plpgsql ...", the part after the oid) starts with one of `skip_prefixes`
// or is one of `skip_entries` exactly. Names in a description are not quoted ("SCHEMA - public ü
// ops"), so an object is skipped by its whole description, never by a prefix that would also
// match a longer name. Comment lines (";") and lines of any other shape are kept as they are.
std::string FilterRestoreList(const std::string& toc, const std::vector<std::string>& skip_prefixes,
                              const std::set<std::string>& skip_entries = {});

// `list` split in two: the entries whose description starts with one of `prefixes` (second), and
// every other line (first).
std::pair<std::string, std::string> SplitRestoreList(const std::string& list,
                                                     const std::vector<std::string>& prefixes);

// pg_restore's stderr holds "could not execute query" errors, and each says an object already
// exists (what an interrupted earlier restore of post-data leaves).
bool OnlyAlreadyExistsErrors(const std::string& stderr_text);

}  // namespace dbr
