// The messages of pgoutput (logical replication protocol version 1), as returned by
// pg_logical_slot_peek_binary_changes: what verify needs to know which rows the transactions of
// a short window changed, and to what.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "pg/lsn.h"
#include "util/status.h"

namespace dbr::pg::pgoutput {

struct Value {
  char kind = 'n';  // 'n' NULL, 'u' unchanged TOASTed value (not sent), 't' text
  std::string text;
};
using Tuple = std::vector<Value>;

struct Relation {
  uint32_t id = 0;
  std::string schema;
  std::string name;
  char replica_identity = 'd';
  std::vector<std::string> columns;
  std::vector<bool> key;  // part of the replica identity
};

struct Message {
  char type = 0;      // 'B' begin, 'C' commit, 'R' relation, 'I' 'U' 'D' changes, 'T' truncate, ...
  uint32_t xid = 0;   // B
  Lsn lsn;            // B: the commit's LSN; C: the commit's end
  Relation relation;  // R
  uint32_t relid = 0;               // I U D
  char old_kind = 0;                // U D: 'K' old key, 'O' old row, 0 none
  Tuple old_tuple;                  // U D
  Tuple new_tuple;                  // I U
  std::vector<uint32_t> truncated;  // T
};

// One message; an error names what is malformed (never reads past `data`).
Result<Message> Parse(std::string_view data);

// bytea in its text form ("\x0a0b...") to bytes.
Result<std::string> DecodeByteaHex(std::string_view text);

}  // namespace dbr::pg::pgoutput
