// Every CUDA runtime and cuBLAS call is checked and a failure becomes a
// mixcon::Error naming the call and carrying the CUDA message: a missing
// device, a failed launch or an out-of-memory must reach the C ABI as a
// status, never abort the host process.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "core/common/status.h"

namespace mixcon {
namespace cuda {

[[noreturn]] inline void throw_cuda_error(const char* what, cudaError_t e) {
  const Status status = e == cudaErrorMemoryAllocation ? Status::OutOfMemory : Status::Backend;
  throw Error(status, std::string(what) + ": " + cudaGetErrorString(e));
}

inline void check(cudaError_t e, const char* what) {
  if (e != cudaSuccess) throw_cuda_error(what, e);
}

// After a kernel launch: a bad configuration is reported at once, an error of
// an earlier asynchronous kernel at the latest by the next synchronizing call.
inline void check_launch(const char* kernel) {
  const cudaError_t e = cudaGetLastError();
  if (e != cudaSuccess) throw_cuda_error(kernel, e);
}

// cuBLAS's own cublasGetStatusString would need the library linked
// (cublas_loader.h loads it at run time), so the names are spelled here.
inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "unknown cuBLAS status";
  }
}

inline void check_cublas(cublasStatus_t s, const char* what) {
  if (s == CUBLAS_STATUS_SUCCESS) return;
  const Status status = s == CUBLAS_STATUS_ALLOC_FAILED ? Status::OutOfMemory : Status::Backend;
  throw Error(status, std::string(what) + ": " + cublas_status_name(s) + " (" +
                          std::to_string(static_cast<int>(s)) + ")");
}

// The interface hands some arrays in host memory (token ids, MoE rows, gate
// weights, routing results). Reading a device pointer on the host would crash
// the process, so a caller that passes one gets an error instead.
inline void require_host_memory(const void* p, const char* what) {
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();  // not known to CUDA at all: ordinary host memory
    return;
  }
  if (attr.type == cudaMemoryTypeDevice)
    throw Error(Status::Internal, std::string(what) + " must be host memory, got device memory");
}

// Grid size for a grid-stride loop over `count` items: enough blocks to fill
// any GPU, never more than the hardware's grid limit.
inline unsigned int grid_for(long long count, int threads) {
  const long long blocks = (count + threads - 1) / threads;
  const long long cap = 1 << 20;
  return static_cast<unsigned int>(blocks < 1 ? 1 : (blocks > cap ? cap : blocks));
}

}  // namespace cuda
}  // namespace mixcon
