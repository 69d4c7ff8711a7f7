#include "pg/pgoutput.h"

#include <fmt/format.h>

namespace dbr::pg::pgoutput {
namespace {

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ >= data_.size(); }

  uint64_t Int(int bytes) {
    if (!Need(static_cast<size_t>(bytes))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(data_[pos_++]);
    return v;
  }
  char Byte() { return static_cast<char>(Int(1)); }
  std::string CString() {
    size_t end = data_.find('\0', pos_);
    if (end == std::string_view::npos) {
      ok_ = false;
      return {};
    }
    std::string s(data_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return s;
  }
  std::string Bytes(size_t n) {
    if (!Need(n)) return {};
    std::string s(data_.substr(pos_, n));
    pos_ += n;
    return s;
  }

 private:
  bool Need(size_t n) {
    if (!ok_ || data_.size() - pos_ < n) ok_ = false;
    return ok_;
  }
  std::string_view data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

Tuple ReadTuple(Reader& r) {
  Tuple t(r.Int(2));
  for (auto& v : t) {
    v.kind = r.Byte();
    if (v.kind == 't' || v.kind == 'b') v.text = r.Bytes(r.Int(4));
    if (!r.ok()) break;
  }
  return t;
}

}  // namespace

Result<Message> Parse(std::string_view data) {
  Reader r(data);
  Message m;
  m.type = r.Byte();
  switch (m.type) {
    case 'B':
      m.lsn = Lsn(r.Int(8));
      r.Int(8);  // commit time
      m.xid = static_cast<uint32_t>(r.Int(4));
      break;
    case 'C':
      r.Int(1);  // flags
      r.Int(8);  // commit LSN
      m.lsn = Lsn(r.Int(8));
      r.Int(8);
      break;
    case 'R': {
      m.relation.id = static_cast<uint32_t>(r.Int(4));
      m.relation.schema = r.CString();
      m.relation.name = r.CString();
      m.relation.replica_identity = r.Byte();
      const uint64_t n = r.Int(2);
      for (uint64_t i = 0; i < n && r.ok(); ++i) {
        m.relation.key.push_back((r.Int(1) & 1) != 0);
        m.relation.columns.push_back(r.CString());
        r.Int(4);  // type oid
        r.Int(4);  // typmod
      }
      break;
    }
    case 'I':
      m.relid = static_cast<uint32_t>(r.Int(4));
      if (r.Byte() != 'N') return Status::Error("pgoutput: INSERT without a new tuple");
      m.new_tuple = ReadTuple(r);
      break;
    case 'U': {
      m.relid = static_cast<uint32_t>(r.Int(4));
      char kind = r.Byte();
      if (kind == 'K' || kind == 'O') {
        m.old_kind = kind;
        m.old_tuple = ReadTuple(r);
        kind = r.Byte();
      }
      if (kind != 'N') return Status::Error("pgoutput: UPDATE without a new tuple");
      m.new_tuple = ReadTuple(r);
      break;
    }
    case 'D':
      m.relid = static_cast<uint32_t>(r.Int(4));
      m.old_kind = r.Byte();
      if (m.old_kind != 'K' && m.old_kind != 'O')
        return Status::Error("pgoutput: DELETE without an old key or row");
      m.old_tuple = ReadTuple(r);
      break;
    case 'T': {
      const uint64_t n = r.Int(4);
      r.Int(1);  // options
      for (uint64_t i = 0; i < n && r.ok(); ++i)
        m.truncated.push_back(static_cast<uint32_t>(r.Int(4)));
      break;
    }
    case 'Y':
    case 'O':
    case 'M':
      break;  // types, origins and logical messages carry nothing verify needs
    default:
      return Status::Error(fmt::format("pgoutput: unknown message type 0x{:02x}",
                                       static_cast<unsigned char>(m.type)));
  }
  if (!r.ok()) return Status::Error(fmt::format("pgoutput: truncated '{}' message", m.type));
  return m;
}

Result<std::string> DecodeByteaHex(std::string_view text) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0)
    return Status::Error("expected a bytea in hex form (\\x...)");
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 2 - 1);
  for (size_t i = 2; i < text.size(); i += 2) {
    int hi = nibble(text[i]), lo = nibble(text[i + 1]);
    if (hi < 0 || lo < 0) return Status::Error("bad hex digit in bytea");
    out.push_back(static_cast<char>(hi * 16 + lo));
  }
  return out;
}

}  // namespace dbr::pg::pgoutput
