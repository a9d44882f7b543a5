// Which backend serves which device in this build.
#include <string>

#include "core/backend.h"
#include "core/common/status.h"
#include "kernels/cpu/cpu_backend.h"

namespace mixcon {

std::unique_ptr<Backend> create_backend(Device device, int device_index) {
  switch (device) {
    case Device::Cpu:
      return make_cpu_backend();
    case Device::Cuda:
      fail(Status::Unsupported, "device cuda:" + std::to_string(device_index) +
                                    ": this build has no CUDA backend");
  }
  fail(Status::InvalidArgument, "unknown device " + std::to_string(static_cast<int>(device)));
}

}  // namespace mixcon
