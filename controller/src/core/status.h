#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace sluice {

// Status is the outcome of an operation: ok, or an error code with a message
// that says what failed, where, and what to do. Modelled on LevelDB's Status.
// No exception crosses a module boundary: callers convert third-party
// exceptions into a Status at the edge.
//
// Thread safety: a Status is a value; distinct objects may be used from
// different threads freely.
class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kInvalidArgument,  // bad input: configuration, flags, repository content
    kIOError,          // filesystem, network, child process
    kTimeout,
    kCancelled,
    kConflict,  // a concurrent writer won (e.g. a push was rejected)
    kFailedPrecondition,
    kInternal,
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) {
    return Status(Code::kInvalidArgument, std::move(msg));
  }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status Timeout(std::string msg) { return Status(Code::kTimeout, std::move(msg)); }
  static Status Cancelled(std::string msg) { return Status(Code::kCancelled, std::move(msg)); }
  static Status Conflict(std::string msg) { return Status(Code::kConflict, std::move(msg)); }
  static Status FailedPrecondition(std::string msg) {
    return Status(Code::kFailedPrecondition, std::move(msg));
  }
  static Status Internal(std::string msg) { return Status(Code::kInternal, std::move(msg)); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsTimeout() const { return code_ == Code::kTimeout; }
  bool IsCancelled() const { return code_ == Code::kCancelled; }

  // The bare message, without the code name.
  const std::string& message() const { return message_; }

  // "OK", or "<Code>: <message>" for humans and logs.
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>"; the code is kept.
  Status WithContext(std::string_view context) const;

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

// Returns the stable name of a code ("NotFound", "InvalidArgument", ...).
std::string_view CodeName(Status::Code code);

}  // namespace sluice

// Returns from the enclosing function when `expr` yields a non-ok Status.
#define SLUICE_RETURN_IF_ERROR(expr)                 \
  do {                                               \
    ::sluice::Status sluice_status_ = (expr);        \
    if (!sluice_status_.ok()) return sluice_status_; \
  } while (0)
