// Status codes and the one exception type used inside the core.
//
// The core reports every failure by throwing mixcon::Error; the C ABI layer
// (capi/) catches it and turns it into a mixcon_status plus the thread-local
// message. The numeric values are pinned: they equal the MIXCON_* codes of
// capi/mixcon.h, so the mapping is a cast.
#pragma once

#include <stdexcept>
#include <string>

namespace mixcon {

enum class Status : int {
  Ok = 0,
  InvalidArgument = 1,
  BufferTooSmall = 2,
  Io = 3,
  Format = 4,
  Checksum = 5,
  Unsupported = 6,
  OutOfMemory = 7,
  ContextFull = 8,
  Cancelled = 9,
  Backend = 10,
  Internal = 11,
};

class Error : public std::runtime_error {
 public:
  Error(Status status, const std::string& message)
      : std::runtime_error(message), status_(status) {}
  Status status() const noexcept { return status_; }

 private:
  Status status_;
};

// Throws Error(status, message). A function, so call sites stay one line.
[[noreturn]] inline void fail(Status status, const std::string& message) {
  throw Error(status, message);
}

}  // namespace mixcon

namespace mixcon {
// Upper-case name of a status ("FORMAT", "CONTEXT_FULL", ...); "UNKNOWN" otherwise.
const char* status_name(Status s) noexcept;
}  // namespace mixcon
