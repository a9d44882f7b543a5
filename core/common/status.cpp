#include "core/common/status.h"

namespace mixcon {

const char* status_name(Status s) noexcept {
  switch (s) {
    case Status::Ok: return "OK";
    case Status::InvalidArgument: return "INVALID_ARGUMENT";
    case Status::BufferTooSmall: return "BUFFER_TOO_SMALL";
    case Status::Io: return "IO";
    case Status::Format: return "FORMAT";
    case Status::Checksum: return "CHECKSUM";
    case Status::Unsupported: return "UNSUPPORTED";
    case Status::OutOfMemory: return "OUT_OF_MEMORY";
    case Status::ContextFull: return "CONTEXT_FULL";
    case Status::Cancelled: return "CANCELLED";
    case Status::Backend: return "BACKEND";
    case Status::Internal: return "INTERNAL";
  }
  return "UNKNOWN";
}

}  // namespace mixcon
