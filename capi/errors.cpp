#include "errors.h"

#include <cstdio>

#include "log.h"

namespace mixcon::capi {
namespace {

// A fixed buffer, so recording an error cannot itself fail (it runs on the
// out-of-memory path too). Longer messages are cut.
constexpr size_t kMaxMessage = 4096;
thread_local char t_last_error[kMaxMessage] = "";

}  // namespace

mixcon_status record_error(const char* fn, Status status, const char* message) noexcept {
  std::snprintf(t_last_error, kMaxMessage, "%s: %s", fn, message ? message : "");
  log_line(MIXCON_LOG_DEBUG, t_last_error);
  return static_cast<mixcon_status>(status);
}

const char* last_error() noexcept { return t_last_error; }

}  // namespace mixcon::capi
