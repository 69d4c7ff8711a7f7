// The schema half of the logical copy: roles and extensions the schema needs, then pg_dump's
// pre-data part before the rows and its post-data part (indexes, constraints, triggers) after.
#pragma once

#include <filesystem>
#include <set>
#include <string>

#include "config/config.h"
#include "model/scope.h"
#include "pg/connection.h"
#include "pg/tools.h"

namespace dbr {

// Creates on the destination the roles that own or are granted objects in scope, or large
// objects (with their attributes, never a password: it cannot be read), or fails naming the
// ones it cannot create. The names of the roles it created are appended to `created`. On
// PostgreSQL 16+ a destination user that is not a superuser is granted each role it creates
// (SET and INHERIT), so that the restore may give that role its objects.
Status EnsureRoles(pg::Connection& src, pg::Connection& dst,
                   const std::vector<std::string>& schemas, std::vector<std::string>* created);
// Gives the roles the source grants privileges on a schema in scope that the destination has
// already (`public`) the same privileges there, before the restore: pg_restore grants them last,
// and a user that is not a superuser may give a table to a role only when that role can create
// in its schema. A superuser of the source that owns objects there needed no grant on the
// source; it gets CREATE here (a managed destination has no superuser to give them to).
Status GrantExistingSchemaPrivileges(pg::Connection& src, pg::Connection& dst,
                                     const std::vector<std::string>& schemas);
// Creates on the destination the extensions installed on the source.
Status EnsureExtensions(pg::Connection& src, pg::Connection& dst);

// pg_dump --schema-only of the schemas in scope but the relations in `excluded`, under
// `snapshot`, into a custom-format archive.
Status DumpSchema(const Config& config, const pg::PgTool& pg_dump, const std::string& snapshot,
                  const std::vector<std::string>& schemas,
                  const std::vector<RelationName>& excluded, const std::filesystem::path& archive);

// Restores one section ("pre-data" or "post-data") of the archive, whose table of contents is
// `toc` (ArchiveToc), into the destination, but the entries (by description) in `built`.
// pre-data runs in one transaction (all or nothing); post-data runs `jobs` in parallel and,
// when `resuming`, accepts objects that an interrupted earlier attempt already created.
Status RestoreSection(const Config& config, const pg::PgTool& pg_restore,
                      const std::filesystem::path& archive, const std::string& toc,
                      const std::string& section, int jobs, bool resuming, pg::Connection& dst,
                      const std::set<std::string>& built = {});

// The archive's table of contents (`pg_restore --list`).
Result<std::string> ArchiveToc(const pg::PgTool& pg_restore, const std::filesystem::path& archive);

// Restores the post-data entries in `list` (lines of the table of contents) in one transaction;
// the list is kept as <archive>.<list_name>.list. An empty list restores nothing.
Status RestoreEntries(const Config& config, const pg::PgTool& pg_restore,
                      const std::filesystem::path& archive, const std::string& list,
                      const std::string& list_name);

}  // namespace dbr
