// Emulated CUDA runtime (see ../README.md): "device" memory is host memory,
// tracked so that cudaPointerGetAttributes can tell it apart; streams are
// synchronous (work runs on the launching host thread); every call succeeds.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "cuda_emu_core.h"

typedef enum cudaError { cudaSuccess = 0, cudaErrorInvalidValue = 1, cudaErrorMemoryAllocation = 2 } cudaError_t;
typedef struct CUstream_st* cudaStream_t;
enum cudaMemcpyKind { cudaMemcpyDefault = 4 };
enum cudaMemoryType {
  cudaMemoryTypeUnregistered = 0,
  cudaMemoryTypeHost = 1,
  cudaMemoryTypeDevice = 2,
  cudaMemoryTypeManaged = 3
};
struct cudaPointerAttributes {
  cudaMemoryType type;
  int device;
  void* devicePointer;
  void* hostPointer;
};
struct cudaDeviceProp {
  char name[256];
  int major;
  int minor;
  int multiProcessorCount;
  int l2CacheSize;
};
#define cudaStreamNonBlocking 1
struct uint4 {
  unsigned x, y, z, w;
};
struct float4 {
  float x, y, z, w;
};

inline std::map<const char*, size_t>& emu_device_allocations() {
  static std::map<const char*, size_t> m;
  return m;
}
inline std::mutex& emu_allocations_mutex() {
  static std::mutex m;
  return m;
}

inline const char* cudaGetErrorString(cudaError_t e) {
  return e == cudaSuccess ? "no error" : "emulated error";
}
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline cudaError_t cudaGetDeviceCount(int* n) {
  *n = 1;
  return cudaSuccess;
}
// A small GPU (4 SMs) so that the attention kernels split long contexts.
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int) {
  std::strcpy(p->name, "Emulated GPU");
  p->major = 9;
  p->minor = 0;
  p->multiProcessorCount = 4;
  p->l2CacheSize = 1 << 20;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int) { return cudaSuccess; }
// Distinct handles, as a real runtime gives.
inline cudaError_t cudaStreamCreateWithFlags(cudaStream_t* s, unsigned) {
  static std::atomic<uintptr_t> next{1};
  *s = reinterpret_cast<cudaStream_t>(next.fetch_add(1) * 16);
  return cudaSuccess;
}
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }
inline cudaError_t cudaStreamDestroy(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
// Fresh memory is filled with 0xcd bytes, so a kernel that reads what
// nothing wrote sees garbage, as on a GPU.
inline cudaError_t cudaMalloc(void** p, size_t n) {
  *p = std::aligned_alloc(256, (n + 255) / 256 * 256);
  if (!*p) return cudaErrorMemoryAllocation;
  std::memset(*p, 0xcd, n);
  std::lock_guard<std::mutex> lock(emu_allocations_mutex());
  emu_device_allocations()[static_cast<const char*>(*p)] = n;
  return cudaSuccess;
}
template <class T>
cudaError_t cudaMalloc(T** p, size_t n) {
  return cudaMalloc(reinterpret_cast<void**>(p), n);
}
inline cudaError_t cudaFree(void* p) {
  if (p) {
    std::lock_guard<std::mutex> lock(emu_allocations_mutex());
    emu_device_allocations().erase(static_cast<const char*>(p));
    std::free(p);
  }
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* p, int v, size_t n, cudaStream_t = nullptr) {
  std::memset(p, v, n);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind,
                                   cudaStream_t = nullptr) {
  std::memmove(d, s, n);
  return cudaSuccess;
}
// EMU_ALL_HOST_MEMORY: report every pointer as host memory, for running the
// model code, which reads its MoE routing buffers on the host wherever they
// were allocated (on a GPU those buffers must be host memory).
inline cudaError_t cudaPointerGetAttributes(cudaPointerAttributes* a, const void* p) {
  a->type = cudaMemoryTypeUnregistered;
#ifndef EMU_ALL_HOST_MEMORY
  const char* c = static_cast<const char*>(p);
  std::lock_guard<std::mutex> lock(emu_allocations_mutex());
  auto& m = emu_device_allocations();
  auto it = m.upper_bound(c);
  if (it != m.begin()) {
    --it;
    if (c < it->first + it->second) a->type = cudaMemoryTypeDevice;
  }
#endif
  return cudaSuccess;
}
