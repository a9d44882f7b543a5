// Library-wide entry points: versions, status names, the last error, devices.
#include <mutex>

#include "core/backend.h"
#include "errors.h"
#include "mixcon.h"

static_assert(MIXCON_ABI_VERSION == MIXCON_HEADER_ABI_VERSION,
              "capi/mixcon.h and CMakeLists.txt disagree on the ABI version");
static_assert(static_cast<int>(mixcon::Status::Internal) == MIXCON_ERR_INTERNAL &&
                  static_cast<int>(mixcon::Status::ContextFull) == MIXCON_ERR_CONTEXT_FULL &&
                  static_cast<int>(mixcon::Status::InvalidArgument) == MIXCON_ERR_INVALID_ARGUMENT,
              "mixcon::Status and mixcon_status must have the same values");

extern "C" {

MIXCON_API int32_t mixcon_abi_version(void) { return MIXCON_ABI_VERSION; }

MIXCON_API const char* mixcon_version(void) { return MIXCON_VERSION_STRING; }

MIXCON_API const char* mixcon_status_string(mixcon_status status) {
  return mixcon::status_name(static_cast<mixcon::Status>(status));
}

MIXCON_API const char* mixcon_last_error(void) { return mixcon::capi::last_error(); }

MIXCON_API int32_t mixcon_backend_available(int32_t device) {
  switch (device) {
    case MIXCON_DEVICE_CPU:
    case MIXCON_DEVICE_AUTO:
      return 1;
    case MIXCON_DEVICE_CUDA: {
      // Creating the backend is the one reliable test (built with CUDA, a
      // driver, a device); done once, the answer does not change.
      static std::once_flag once;
      static bool available = false;
      std::call_once(once, [] {
        try {
          available = mixcon::create_backend(mixcon::Device::Cuda, 0) != nullptr;
        } catch (...) {
          available = false;
        }
      });
      return available ? 1 : 0;
    }
    default:
      return 0;
  }
}

}  // extern "C"
