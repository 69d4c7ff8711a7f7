#include "pg/copy_stream.h"

#include <memory>

#include "util/parse.h"

namespace dbr::pg {
namespace {

constexpr size_t kBatchBytes = 64 * 1024;

std::string ConnError(Connection& c) {
  std::string e = PQerrorMessage(c.raw());
  while (!e.empty() && e.back() == '\n') e.pop_back();
  for (auto& ch : e)
    if (ch == '\n') ch = ' ';
  return "on " + c.params().label + ": " + e;
}

// Drains the results that follow a COPY; returns the first error.
Status FinishCommand(Connection& c, int64_t* tuples) {
  Status st;
  while (PGresult* res = PQgetResult(c.raw())) {
    QueryResult holder(res);
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_COMMAND_OK) {
      if (tuples == nullptr || *PQcmdTuples(res) == '\0') continue;
      if (auto n = ParseInt(PQcmdTuples(res))) {
        *tuples = *n;
      } else if (st.ok()) {
        st = Status::Error("on " + c.params().label + ": COPY reported \"" +
                           std::string(PQcmdTuples(res)) + "\" rows");
      }
    } else if (st.ok()) {
      std::string e = PQresultErrorMessage(res);
      for (auto& ch : e)
        if (ch == '\n') ch = ' ';
      st = Status::Error("on " + c.params().label + ": " + e);
    }
  }
  return st;
}

}  // namespace

Result<CopyResult> StreamCopy(Connection& from, const std::string& copy_out_sql, Connection& to,
                              const std::string& copy_in_sql, CopyCounters* live,
                              const std::atomic<bool>* cancelled) {
  auto in = to.Query(copy_in_sql);
  if (!in.ok()) return in.status();
  auto out = from.Query(copy_out_sql);
  if (!out.ok()) {
    PQputCopyEnd(to.raw(), "source COPY failed");
    (void)FinishCommand(to, nullptr);
    return out.status();
  }
  CopyResult result;
  Status failure;
  // Rows are gathered into messages of about kBatchBytes: the destination then reads a few large
  // messages instead of one per row, and our side sends fewer, larger packets. A row as large as
  // a batch goes alone, uncopied.
  std::string batch;
  batch.reserve(kBatchBytes);
  int64_t batch_rows = 0;
  auto send = [&](const char* data, size_t size, int64_t rows) -> bool {
    if (size == 0) return true;
    if (PQputCopyData(to.raw(), data, static_cast<int>(size)) != 1) {
      failure = Status::Error(ConnError(to));
      return false;
    }
    result.bytes += static_cast<int64_t>(size);
    result.rows += rows;
    if (live != nullptr) {
      live->bytes.fetch_add(static_cast<int64_t>(size), std::memory_order_relaxed);
      live->rows.fetch_add(rows, std::memory_order_relaxed);
    }
    if (cancelled != nullptr && cancelled->load(std::memory_order_relaxed)) {
      failure = Status::Error("cancelled");
      return false;
    }
    return true;
  };
  auto flush = [&]() -> bool {
    const bool sent = send(batch.data(), batch.size(), batch_rows);
    batch.clear();
    batch_rows = 0;
    return sent;
  };
  while (true) {
    char* buf = nullptr;
    int n = PQgetCopyData(from.raw(), &buf, 0);
    if (n > 0) {
      std::unique_ptr<char, decltype(&PQfreemem)> holder(buf, &PQfreemem);
      const auto size = static_cast<size_t>(n);
      if (batch.size() + size > kBatchBytes && !flush()) break;
      if (size >= kBatchBytes) {
        if (!send(buf, size, 1)) break;
        continue;
      }
      batch.append(buf, size);
      ++batch_rows;
      continue;
    }
    if (n == -2)
      failure = Status::Error(ConnError(from));
    else
      flush();  // -1: the source's COPY is complete
    break;
  }
  if (!failure.ok()) {
    // Abort both sides; the destination's transaction rolls back.
    PQputCopyEnd(to.raw(), failure.message().c_str());
    (void)FinishCommand(to, nullptr);
    from.Cancel();
    char* rest = nullptr;
    while (PQgetCopyData(from.raw(), &rest, 0) > 0) PQfreemem(rest);
    (void)FinishCommand(from, nullptr);
    return failure;
  }
  DBR_RETURN_IF_ERROR(FinishCommand(from, nullptr));
  if (PQputCopyEnd(to.raw(), nullptr) != 1) return Status::Error(ConnError(to));
  int64_t tuples = -1;
  DBR_RETURN_IF_ERROR(FinishCommand(to, &tuples));
  if (tuples >= 0) {
    // Not every message of a binary COPY is a row (its trailer comes on its own): trust the
    // server, and correct the live count too.
    if (live != nullptr) live->rows.fetch_add(tuples - result.rows, std::memory_order_relaxed);
    result.rows = tuples;
  }
  return result;
}

}  // namespace dbr::pg
