#include "xatm/status.h"

#include <cstdio>
#include <cstdlib>
#include <utility>

namespace xatm {

std::string_view status_code_name(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "OK";
    case StatusCode::kInvalidArgument: return "InvalidArgument";
    case StatusCode::kUnavailable: return "Unavailable";
    case StatusCode::kAborted: return "Aborted";
    case StatusCode::kFailedPrecondition: return "FailedPrecondition";
    case StatusCode::kNotFound: return "NotFound";
    case StatusCode::kAlreadyExists: return "AlreadyExists";
    case StatusCode::kDeadlineExceeded: return "DeadlineExceeded";
    case StatusCode::kDataLoss: return "DataLoss";
    case StatusCode::kIOError: return "IOError";
    case StatusCode::kOutcomeUnknown: return "OutcomeUnknown";
    case StatusCode::kInternal: return "Internal";
  }
  return "Unknown";
}

Status::Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

std::string Status::to_string() const {
  if (ok()) return "OK";
  std::string text(status_code_name(code_));
  text += ": ";
  text += message_;
  return text;
}

Status Status::with_context(std::string_view context) const {
  if (ok()) return *this;
  std::string message(context);
  message += ": ";
  message += message_;
  return Status(code_, std::move(message));
}

Status invalid_argument_error(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
Status unavailable_error(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
Status aborted_error(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
Status failed_precondition_error(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
Status not_found_error(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
Status already_exists_error(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
Status deadline_exceeded_error(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
Status data_loss_error(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
Status io_error(std::string m) { return {StatusCode::kIOError, std::move(m)}; }
Status outcome_unknown_error(std::string m) { return {StatusCode::kOutcomeUnknown, std::move(m)}; }
Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

namespace internal {

void die_on_value_of_error(const Status& status) {
  std::fprintf(stderr, "xatm: Result::value() of an error: %s\n", status.to_string().c_str());
  std::abort();
}

}  // namespace internal

}  // namespace xatm
