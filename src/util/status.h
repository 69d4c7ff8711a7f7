// Errors as values: every boundary (config, database, child process, AWS) returns a Status or a
// Result<T> whose message a user can act on.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace dbr {

class [[nodiscard]] Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) { return Status(std::move(message)); }
  // A configuration that cannot work, found only against the live servers (exit code 2).
  static Status BadConfig(std::string message) {
    Status s(std::move(message));
    s.bad_config_ = true;
    return s;
  }

  // A server that could not be reached, or whose connection was lost (network, restart): trying
  // again later may succeed, unlike an SQL error or a refused password.
  static Status Unavailable(std::string message) {
    Status s(std::move(message));
    s.unavailable_ = true;
    return s;
  }

  bool ok() const { return !message_.has_value(); }
  bool is_bad_config() const { return bad_config_; }
  bool is_unavailable() const { return unavailable_; }
  explicit operator bool() const { return ok(); }
  const std::string& message() const {
    static const std::string kOk = "ok";
    return message_ ? *message_ : kOk;
  }
  // Adds context in front: "copying table x: <original message>".
  Status Wrap(const std::string& context) const {
    if (ok()) return *this;
    Status s(context + ": " + *message_);
    s.bad_config_ = bad_config_;
    s.unavailable_ = unavailable_;
    return s;
  }

 private:
  explicit Status(std::string message) : message_(std::move(message)) {}
  std::optional<std::string> message_;
  bool bad_config_ = false;
  bool unavailable_ = false;
};

// For steps that all run whatever fails (an undo, a cleanup): keeps the first error.
inline void KeepFirstError(Status& first, Status next) {
  if (first.ok() && !next.ok()) first = std::move(next);
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT(implicit)
  Result(Status error) : v_(std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  const std::string& message() const { return std::get<Status>(v_).message(); }
  // The value, or none with the error's message in `why` (when given).
  std::optional<T> ValueOrNone(std::string* why) && {
    if (ok()) return std::move(*this).value();
    if (why != nullptr) *why = message();
    return std::nullopt;
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace dbr

#define DBR_RETURN_IF_ERROR(expr)              \
  do {                                         \
    ::dbr::Status _dbr_status = (expr);        \
    if (!_dbr_status.ok()) return _dbr_status; \
  } while (0)

#define DBR_CONCAT_INNER(a, b) a##b
#define DBR_CONCAT(a, b) DBR_CONCAT_INNER(a, b)
#define DBR_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
#define DBR_ASSIGN_OR_RETURN(lhs, expr) \
  DBR_ASSIGN_OR_RETURN_IMPL(DBR_CONCAT(_dbr_result_, __LINE__), lhs, expr)
