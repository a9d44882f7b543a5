// How every C entry point reports failure: the thread-local last-error
// message, the status it goes with, and the catch-all wrapper.
#pragma once

#include <new>
#include <string>

#include "core/common/status.h"
#include "mixcon.h"

namespace mixcon::capi {

// Stores "<fn>: <message>" as this thread's last error, logs it at DEBUG and
// returns `status` as a mixcon_status. Never throws, never allocates.
mixcon_status record_error(const char* fn, Status status, const char* message) noexcept;

const char* last_error() noexcept;

// Throws Error(InvalidArgument, what) unless ok: the one-line misuse check.
inline void require(bool ok, const char* what) {
  if (!ok) fail(Status::InvalidArgument, what);
}

// Runs body() and turns whatever it throws into a status: mixcon::Error keeps
// its status, std::bad_alloc is OUT_OF_MEMORY, anything else INTERNAL. No
// exception ever leaves the library.
template <class Body>
mixcon_status guard(const char* fn, Body&& body) noexcept {
  try {
    body();
    return MIXCON_OK;
  } catch (const Error& e) {
    return record_error(fn, e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return record_error(fn, Status::OutOfMemory, "out of memory");
  } catch (const std::exception& e) {
    return record_error(fn, Status::Internal, e.what());
  } catch (...) {
    return record_error(fn, Status::Internal, "unknown exception");
  }
}

}  // namespace mixcon::capi
