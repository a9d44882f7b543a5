// Which backend serves which device in this build.
#include <string>

#include "core/backend.h"
#include "core/common/status.h"
#include "kernels/cpu/cpu_backend.h"
#ifdef MIXCON_HAVE_CUDA
#include "kernels/cuda/cuda_backend.h"
#endif

namespace mixcon {

std::unique_ptr<Backend> create_backend(Device device, int device_index) {
  switch (device) {
    case Device::Cpu:
      return make_cpu_backend();
    case Device::Cuda:
#ifdef MIXCON_HAVE_CUDA
      return create_cuda_backend(device_index);
#else
      fail(Status::Unsupported, "device cuda:" + std::to_string(device_index) +
                                    ": this build has no CUDA backend");
#endif
  }
  fail(Status::InvalidArgument, "unknown device " + std::to_string(static_cast<int>(device)));
}

}  // namespace mixcon
