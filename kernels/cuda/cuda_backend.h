// The CUDA implementation of core/backend.h: weights, session state and
// workspace live in device memory; each op is one or a few kernel launches
// (or a cuBLAS call) on the calling session's stream, and a decode step is
// launched as one CUDA graph.
//
// Declared in every build; defined only when the library was built with
// MIXCON_CUDA (MIXCON_HAVE_CUDA=1), so callers guard their use with that macro.
#pragma once

#include <memory>

#include "core/backend.h"

namespace mixcon {

// True when device `device_index` exists, the driver works and the GPU is one
// this build has kernels for (compute capability 8.0 or newer). Never throws.
bool cuda_backend_available(int device_index) noexcept;

// The backend for GPU `device_index`. Throws Error(Backend) with the CUDA
// message when there is no usable device or driver, Error(Unsupported) for a
// GPU older than compute capability 8.0, Error(OutOfMemory) when its fixed
// device workspace does not fit.
std::unique_ptr<Backend> create_cuda_backend(int device_index);

}  // namespace mixcon
