// The text pg_restore prints that the schema copy reads: its table of contents (`--list`), its
// error output and the SQL script it writes (`--file`). Pure functions, apart from
// schema_dump.cpp so they can be tested alone.
#pragma once

#include <functional>
#include <istream>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "util/status.h"

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

// Hands `send` the script pg_restore writes with --file: first the settings before its first
// entry, alone (the server converts a message from the client encoding and parses it whole
// before running any of it, so `SET client_encoding` and `SET standard_conforming_strings` must
// have run before the message whose text they govern), then the entries in pieces of at least
// `piece_bytes` (all but the last), each cut just before a line where an entry's header starts
// ("-- Name: ..."); without the `\restrict KEY` and `\unrestrict KEY` lines it writes for psql
// alone (the key is random: no function body holds the same line). A body holding a line that
// looks like a header may be cut there: its piece then ends inside a quoted string or a
// comment, which the server refuses whole before running any of it. A wrong cut fails; it
// never runs half a statement.
Status ForEachScriptPiece(std::istream& script, size_t piece_bytes,
                          const std::function<Status(const std::string&)>& send);

}  // namespace dbr
