// Sequences are not replicated: the side about to take writes gets each sequence of the side
// that took them so far, plus `gap` increments, never moved backwards.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "model/scope.h"
#include "pg/connection.h"

namespace dbr {

// Returns how many sequences were set.
// `sequences`: those in scope (ScopeListing::sequences).
Result<int> CopySequencesAhead(pg::Connection& from, pg::Connection& to,
                               const std::vector<RelationName>& sequences, int64_t gap);

}  // namespace dbr
