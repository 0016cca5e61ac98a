// Errors as values: Status and Result<T>.
//
// Every fallible function of xatm returns one of these. The code tells the caller what to
// do next; the message says what happened and names the data source, the XID, the file and
// offset or the vendor code involved. Both types are [[nodiscard]]: ignoring an error is a
// compile-time warning (an error under -Werror), and a deliberate drop is written
// `status.ignore_error()` so that it can be found with grep.
//
// Thread safety: values; distinct objects may be used from distinct threads freely.
#ifndef XATM_STATUS_H_
#define XATM_STATUS_H_

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace xatm {

// What the caller does next. The numeric values are not persisted anywhere.
enum class StatusCode {
  kOk = 0,
  // The input is malformed (an XID, an option, a config file): fix it; retrying cannot help.
  kInvalidArgument,
  // A transient failure (a database unreachable, a busy resource): the same call may succeed later.
  kUnavailable,
  // The transaction or branch was rolled back: start over with a new transaction.
  kAborted,
  // The system is not in the state the call needs (not started, log directory locked, a
  // database setting such as max_prepared_transactions = 0): fix that state first.
  kFailedPrecondition,
  // The named thing does not exist; for commit/rollback of an XID it means "already resolved".
  kNotFound,
  // The thing to create exists already (a data source name, an XID).
  kAlreadyExists,
  // Not returned any more: a transaction past its deadline answers kAborted naming the timeout
  // (docs/errors.md). Kept so that programs naming it compile.
  kDeadlineExceeded,
  // Durable state is damaged (the decision log): stop and run `xatm-recover log verify`.
  kDataLoss,
  // An operating-system I/O call failed (write, fsync, open). For the decision log it is sticky.
  kIOError,
  // The outcome of a transaction is not known (in doubt): recovery will resolve it; do not retry.
  kOutcomeUnknown,
  // A bug in xatm or a driver broke an invariant.
  kInternal,
};

// The code's name as it appears in messages, e.g. "OutcomeUnknown".
std::string_view status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message);

  static Status ok_status() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "OK" or "<CodeName>: <message>".
  std::string to_string() const;

  // A new status with the same code and `context + ": " + message`, to name where it happened.
  Status with_context(std::string_view context) const;

  // Marks a deliberate drop of an error (the caller has nothing better to do with it).
  void ignore_error() const {}

  friend bool operator==(const Status& a, const Status& b) {
    return a.code_ == b.code_ && a.message_ == b.message_;
  }

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

Status invalid_argument_error(std::string message);
Status unavailable_error(std::string message);
Status aborted_error(std::string message);
Status failed_precondition_error(std::string message);
Status not_found_error(std::string message);
Status already_exists_error(std::string message);
Status deadline_exceeded_error(std::string message);
Status data_loss_error(std::string message);
Status io_error(std::string message);
Status outcome_unknown_error(std::string message);
Status internal_error(std::string message);

namespace internal {
// Prints "Result::value() of an error: <status>" to stderr and aborts.
[[noreturn]] void die_on_value_of_error(const Status& status);
}  // namespace internal

// A value or the error that prevented it. An OK Result always holds a value.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  // REQUIRES: !status.ok()
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (status_.ok()) status_ = internal_error("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  // The value. On an error Result these print the status to stderr and abort the process, as
  // Abseil's StatusOr does: reading a value that is not there is a bug, never a quiet default.
  T& value() & { return checked(); }
  const T& value() const& { return checked(); }
  T&& value() && { return std::move(checked()); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return checked(); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &checked(); }

 private:
  T& checked() {
    if (!value_.has_value()) internal::die_on_value_of_error(status_);
    return *value_;
  }
  const T& checked() const {
    if (!value_.has_value()) internal::die_on_value_of_error(status_);
    return *value_;
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace xatm

// Returns from the enclosing function when `expr` (a Status) is not OK.
#define XATM_RETURN_IF_ERROR(expr)                  \
  do {                                              \
    ::xatm::Status xatm_status_ = (expr);           \
    if (!xatm_status_.ok()) return xatm_status_;    \
  } while (false)

// Evaluates `expr` (a Result<T>); returns its status from the enclosing function when it is an
// error, and otherwise declares `lhs` holding the value:
//   XATM_ASSIGN_OR_RETURN(auto log, open_file_log(options));
#define XATM_ASSIGN_OR_RETURN(lhs, expr) \
  XATM_ASSIGN_OR_RETURN_IMPL_(XATM_STATUS_CONCAT_(xatm_result_, __LINE__), lhs, expr)
#define XATM_ASSIGN_OR_RETURN_IMPL_(result, lhs, expr) \
  auto result = (expr);                                \
  if (!result.ok()) return result.status();            \
  lhs = std::move(result).value()
#define XATM_STATUS_CONCAT_(a, b) XATM_STATUS_CONCAT_INNER_(a, b)
#define XATM_STATUS_CONCAT_INNER_(a, b) a##b

#endif  // XATM_STATUS_H_
