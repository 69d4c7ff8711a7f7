#include "pg/recovery_log.h"

#include <algorithm>
#include <cstdint>
#include <set>

namespace dbr::pg {
namespace {

using std::chrono::system_clock;

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f');
}
bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsAlpha(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

// Small cursor over one line: each Take* consumes on success only.
class TextCursor {
 public:
  TextCursor(std::string_view s, size_t pos) : s_(s), pos_(pos) {}
  bool Literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }
  bool Digits() {
    size_t p = pos_;
    while (p < s_.size() && IsDigit(s_[p])) ++p;
    if (p == pos_) return false;
    pos_ = p;
    return true;
  }
  std::optional<Lsn> TakeLsn() {
    size_t p = pos_;
    while (p < s_.size() && IsHex(s_[p])) ++p;
    if (p == pos_ || p >= s_.size() || s_[p] != '/') return std::nullopt;
    size_t q = p + 1;
    while (q < s_.size() && IsHex(s_[q])) ++q;
    if (q == p + 1) return std::nullopt;
    auto lsn = Lsn::Parse(s_.substr(pos_, q - pos_));
    if (lsn) pos_ = q;
    return lsn;
  }

 private:
  std::string_view s_;
  size_t pos_;
};

enum class Kind {
  kRecordStart,  // names the start of the record the reader could not read: exact
  kRedoDone,     // "redo done at Z": Z is the start of the last record replayed
  kRunStart,     // "redo starts at": a new recovery run
};

struct Pattern {
  std::string_view literal;  // found anywhere in the line
  std::string_view form;
  Kind kind;
  std::optional<Lsn> (*parse)(TextCursor& c);  // the text right after the literal
};

std::optional<Lsn> LsnOnly(TextCursor& c) {
  return c.TakeLsn();
}

// PostgreSQL's own messages (xlogreader.c, xlogrecovery.c / xlog.c), checked with `strings` on
// the postgres binaries of 13.23, 14.23, 15.18, 16.14, 17.10 and 18.4: every one below exists in
// all six majors, except that 13 prints "invalid contrecord length %u at %X/%X" (no "expected")
// and 16+ print "invalid record length at %X/%X: expected at least %u, got %u" where <= 15
// print "...: wanted %u, got %u". "record length %u at %X/%X too long" is not in these builds
// (it is in older xlogreaders) but names the record start the same way, so it is accepted.
constexpr Pattern kPatterns[] = {
    {"invalid record length at ", "invalid record length", Kind::kRecordStart,
     [](TextCursor& c) -> std::optional<Lsn> {
       auto lsn = c.TakeLsn();
       if (!lsn || !c.Literal(": ")) return std::nullopt;
       return lsn;
     }},
    {"record with incorrect prev-link ", "record with incorrect prev-link", Kind::kRecordStart,
     [](TextCursor& c) -> std::optional<Lsn> {
       if (!c.TakeLsn() || !c.Literal(" at ")) return std::nullopt;
       return c.TakeLsn();
     }},
    {"invalid resource manager ID ", "invalid resource manager ID", Kind::kRecordStart,
     [](TextCursor& c) -> std::optional<Lsn> {
       if (!c.Digits() || !c.Literal(" at ")) return std::nullopt;
       return c.TakeLsn();
     }},
    {"incorrect resource manager data checksum in record at ",
     "incorrect resource manager data checksum", Kind::kRecordStart, LsnOnly},
    {"record length ", "record length too long", Kind::kRecordStart,
     [](TextCursor& c) -> std::optional<Lsn> {
       if (!c.Digits() || !c.Literal(" at ")) return std::nullopt;
       auto lsn = c.TakeLsn();
       if (!lsn || !c.Literal(" too long")) return std::nullopt;
       return lsn;
     }},
    {"record with invalid length at ", "record with invalid length", Kind::kRecordStart, LsnOnly},
    {"invalid record offset at ", "invalid record offset", Kind::kRecordStart, LsnOnly},
    {"there is no contrecord flag at ", "there is no contrecord flag", Kind::kRecordStart, LsnOnly},
    {"invalid contrecord length ", "invalid contrecord length", Kind::kRecordStart,
     [](TextCursor& c) -> std::optional<Lsn> {
       if (!c.Digits()) return std::nullopt;
       if (c.Literal(" (expected ")) {
         c.Literal("-");
         if (!c.Digits() || !c.Literal(")")) return std::nullopt;
       }
       if (!c.Literal(" at ")) return std::nullopt;
       return c.TakeLsn();
     }},
    {"contrecord is requested by ", "contrecord is requested by", Kind::kRecordStart, LsnOnly},
    {"redo done at ", "redo done at Z, + 1", Kind::kRedoDone, LsnOnly},
    {"redo starts at ", "redo starts", Kind::kRunStart, LsnOnly},
};

// "YYYY-MM-DD HH:MM:SS" at s[i].
bool DateTimeAt(std::string_view s, size_t i) {
  static constexpr std::string_view kShape = "dddd-dd-dd dd:dd:dd";
  if (s.size() - i < kShape.size()) return false;
  for (size_t k = 0; k < kShape.size(); ++k) {
    char c = s[i + k];
    if (kShape[k] == 'd' ? !IsDigit(c) : c != kShape[k]) return false;
  }
  return true;
}

// The '%t'/'%m' timestamp of a line: the first "YYYY-MM-DD HH:MM:SS[.fff] ZONE" in its first
// 256 bytes (the log_line_prefix), "" if none.
std::string LineTimestamp(std::string_view line) {
  const size_t limit = std::min<size_t>(line.size(), 256);
  for (size_t i = 0; i + 19 <= limit; ++i) {
    if (!DateTimeAt(line, i)) continue;
    size_t p = i + 19;
    if (p < line.size() && line[p] == '.') {
      ++p;
      while (p < line.size() && IsDigit(line[p])) ++p;
    }
    if (p + 1 < line.size() && line[p] == ' ') {
      size_t z = p + 1;
      if (IsAlpha(line[z])) {
        while (z < line.size() && IsAlpha(line[z])) ++z;
      } else if (line[z] == '+' || line[z] == '-') {
        size_t d = z + 1;
        while (d < line.size() && d < z + 5 && IsDigit(line[d])) ++d;
        // "+05:30": a colon and two more digits (not the ':' that follows %t in RDS's prefix)
        if (d == z + 3 && d + 2 < line.size() && line[d] == ':' && IsDigit(line[d + 1]) &&
            IsDigit(line[d + 2]) && (d + 3 >= line.size() || !IsDigit(line[d + 3]))) {
          d += 3;
        }
        if (d > z + 1) z = d;
      }
      if (z > p + 1) p = z;
    }
    return std::string(line.substr(i, p - i));
  }
  return "";
}

int Num(std::string_view s, size_t pos, size_t len) {
  int v = 0;
  for (size_t k = 0; k < len; ++k) v = v * 10 + (s[pos + k] - '0');
  return v;
}

// RecoveryEnd::line: the whole line, or for an abnormally long one (garbage, lost newlines) the
// part around the match, so that many matches on one huge line cannot exhaust memory.
std::string LineAround(std::string_view line, size_t pos) {
  constexpr size_t kLong = 4096, kBefore = 256, kAfter = 512;
  if (line.size() <= kLong) return std::string(line);
  const size_t from = pos > kBefore ? pos - kBefore : 0;
  std::string out = from > 0 ? "..." : "";
  out += line.substr(from, kBefore + kAfter);
  if (from + kBefore + kAfter < line.size()) out += "...";
  return out;
}

std::string Shorten(std::string_view line) {
  constexpr size_t kMax = 300;
  std::string out;
  for (char c : line.substr(0, kMax)) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  if (line.size() > kMax) out += "...";
  return out;
}

}  // namespace

std::optional<system_clock::time_point> ParseLogTimestamp(std::string_view text) {
  if (!DateTimeAt(text, 0)) return std::nullopt;
  using namespace std::chrono;
  const year_month_day ymd{year{Num(text, 0, 4)}, month{static_cast<unsigned>(Num(text, 5, 2))},
                           day{static_cast<unsigned>(Num(text, 8, 2))}};
  const int hh = Num(text, 11, 2), mm = Num(text, 14, 2), ss = Num(text, 17, 2);
  // system_clock counts nanoseconds in 64 bits: it holds the years 1678 to 2262 only.
  if (!ymd.ok() || ymd.year() < year{1900} || ymd.year() > year{2200} || hh > 23 || mm > 59 ||
      ss > 60)
    return std::nullopt;
  size_t p = 19;
  microseconds frac{0};
  if (p < text.size() && text[p] == '.') {
    ++p;
    int64_t scale = 100000;
    while (p < text.size() && IsDigit(text[p])) {
      frac += microseconds((text[p] - '0') * scale);
      scale /= 10;
      ++p;
    }
  }
  if (p >= text.size() || text[p] != ' ') return std::nullopt;
  std::string_view zone = text.substr(p + 1);
  minutes offset{0};
  if (zone == "UTC" || zone == "GMT" || zone == "UT" || zone == "Z") {
    offset = minutes(0);
  } else if (zone.size() >= 3 && (zone[0] == '+' || zone[0] == '-')) {
    std::string digits;
    for (size_t k = 1; k < zone.size(); ++k) {
      if (zone[k] == ':' && k == 3) continue;
      if (!IsDigit(zone[k])) return std::nullopt;
      digits += zone[k];
    }
    if (digits.size() != 2 && digits.size() != 4) return std::nullopt;
    const int h = Num(digits, 0, 2), m = digits.size() == 4 ? Num(digits, 2, 2) : 0;
    if (h > 15 || m > 59) return std::nullopt;
    offset = minutes(h * 60 + m) * (zone[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;  // an abbreviation we cannot resolve without a tz database
  }
  const auto local = sys_days(ymd) + hours(hh) + minutes(mm) + seconds(ss) + frac;
  return time_point_cast<system_clock::duration>(local - offset);
}

std::vector<RecoveryEnd> FindRecoveryEnds(std::string_view log_text) {
  std::vector<RecoveryEnd> out;
  std::vector<RecoveryEnd> pending;  // record-start lines of the current run
  auto flush = [&] {
    out.insert(out.end(), pending.begin(), pending.end());
    pending.clear();
  };

  struct Match {
    size_t pos;
    const Pattern* pattern;
    Lsn lsn;
  };
  std::vector<Match> matches;
  // A last line without its '\n' is ignored: the log is still being written, and a page that
  // ends mid-line may cut an LSN short ("0/1B8769" of "0/1B87690").
  size_t start = 0;
  for (size_t nl = log_text.find('\n'); nl != std::string_view::npos;
       nl = log_text.find('\n', start)) {
    std::string_view line = log_text.substr(start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    start = nl + 1;

    matches.clear();
    for (const Pattern& pattern : kPatterns) {
      for (size_t at = line.find(pattern.literal); at != std::string_view::npos;
           at = line.find(pattern.literal, at + 1)) {
        TextCursor c(line, at + pattern.literal.size());
        if (auto lsn = pattern.parse(c)) matches.push_back({at, &pattern, *lsn});
      }
    }
    if (matches.empty()) continue;
    std::sort(matches.begin(), matches.end(),
              [](const Match& a, const Match& b) { return a.pos < b.pos; });
    const std::string timestamp = LineTimestamp(line);
    for (const Match& m : matches) {
      switch (m.pattern->kind) {
        case Kind::kRunStart:
          flush();
          break;
        case Kind::kRecordStart:
          pending.push_back(
              {m.lsn, timestamp, LineAround(line, m.pos), std::string(m.pattern->form)});
          break;
        case Kind::kRedoDone: {
          // Record-start lines that replay went past (at or before the last record replayed) are
          // not the end; one after it is. Without one, the end is Z + 1 (see the header).
          std::vector<RecoveryEnd> after;
          for (const RecoveryEnd& p : pending) {
            if (p.lsn > m.lsn) after.push_back(p);
          }
          pending.clear();
          if (!after.empty()) {
            out.insert(out.end(), after.begin(), after.end());
          } else if (m.lsn.value() != UINT64_MAX) {
            out.push_back({Lsn(m.lsn.value() + 1), timestamp, LineAround(line, m.pos),
                           std::string(m.pattern->form)});
          }
          break;
        }
      }
    }
  }
  flush();
  return out;
}

Result<Lsn> ChooseSnapshotLsn(const std::vector<RecoveryEnd>& found, Lsn lower, Lsn upper,
                              std::optional<system_clock::time_point> not_before,
                              std::optional<system_clock::time_point> not_after) {
  if (found.empty()) {
    return Status::Error(
        "the restored instance's log names no end of recovery (no \"invalid record length at\", "
        "\"redo done at\" or other end-of-WAL line); cannot tell where the snapshot's data ends, "
        "and will not guess");
  }
  // '%t' has a one-second resolution: a line printed "01:02:03" was written in [01:02:03, :04).
  std::optional<system_clock::time_point> floor_before;
  if (not_before) floor_before = std::chrono::floor<std::chrono::seconds>(*not_before);

  std::set<Lsn> kept;
  std::string listing;
  for (const RecoveryEnd& e : found) {
    std::string why;
    if (e.lsn < lower) {
      why = "before the lower bound " + lower.ToString();
    } else if (e.lsn > upper) {
      why = "after the upper bound " + upper.ToString();
    } else if (auto t = ParseLogTimestamp(e.timestamp)) {
      if (floor_before && *t < *floor_before) {
        why = "logged before the restore started";
      } else if (not_after && *t > *not_after) {
        why = "logged after the restore ended";
      }
    }
    if (why.empty()) kept.insert(e.lsn);
    listing += "\n  " + e.lsn.ToString() + " (" + e.form + ")" + (why.empty() ? "" : ": " + why) +
               " <- " + Shorten(e.line);
  }
  if (kept.size() == 1) return *kept.begin();
  if (kept.empty()) {
    return Status::Error(
        "no end-of-recovery position in the restored instance's log lies within [" +
        lower.ToString() + ", " + upper.ToString() +
        "] and the restore's time window; candidates:" + listing);
  }
  std::string distinct;
  for (const Lsn& l : kept) distinct += (distinct.empty() ? "" : ", ") + l.ToString();
  return Status::Error("the restored instance's log has " + std::to_string(kept.size()) +
                       " different end-of-recovery positions within [" + lower.ToString() + ", " +
                       upper.ToString() + "] (" + distinct +
                       "); cannot tell which one is the snapshot's; candidates:" + listing);
}

std::string LinesLoggedBy(std::string_view log_text, int major) {
  constexpr std::string_view kStart = "starting PostgreSQL ";
  std::string out;
  std::optional<int> writer;
  size_t pos = 0;
  while (pos < log_text.size()) {
    size_t end = log_text.find('\n', pos);
    end = end == std::string_view::npos ? log_text.size() : end + 1;
    const std::string_view line = log_text.substr(pos, end - pos);
    pos = end;
    if (size_t at = line.find(kStart); at != std::string_view::npos) {
      const size_t digits = at + kStart.size();
      int version = 0;
      size_t i = digits;
      while (i < line.size() && line[i] >= '0' && line[i] <= '9')
        version = version * 10 + (line[i++] - '0');
      writer = i > digits ? std::optional<int>(version) : std::nullopt;
    }
    if (writer == major) out += line;
  }
  return out;
}

}  // namespace dbr::pg
