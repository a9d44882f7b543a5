// The process-wide log sink set by mixcon_set_log_callback (silent by default).
#pragma once

#include "mixcon.h"

namespace mixcon::capi {

// Sends one line to the callback, if any. Never throws.
void log_line(int level, const char* message) noexcept;
// Whether a callback is set (so callers can skip formatting).
bool log_enabled() noexcept;

}  // namespace mixcon::capi
