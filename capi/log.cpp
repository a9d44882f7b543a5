#include "log.h"

#include <atomic>
#include <mutex>

namespace mixcon::capi {
namespace {

// The pair is swapped under a mutex; log_line copies it out before calling,
// so a slow callback never blocks mixcon_set_log_callback.
std::mutex g_mutex;
mixcon_log_callback g_callback = nullptr;
void* g_user = nullptr;
std::atomic<bool> g_enabled{false};

}  // namespace

bool log_enabled() noexcept { return g_enabled.load(std::memory_order_relaxed); }

void log_line(int level, const char* message) noexcept {
  if (!log_enabled()) return;
  mixcon_log_callback cb;
  void* user;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    cb = g_callback;
    user = g_user;
  }
  if (cb) cb(level, message, user);
}

}  // namespace mixcon::capi

extern "C" MIXCON_API void mixcon_set_log_callback(mixcon_log_callback callback, void* user) {
  using namespace mixcon::capi;
  std::lock_guard<std::mutex> lock(g_mutex);
  g_callback = callback;
  g_user = user;
  g_enabled.store(callback != nullptr, std::memory_order_relaxed);
}
