// Emulated CUDA runtime (see ../README.md): "device" memory is host memory,
// tracked so that cudaPointerGetAttributes can tell it apart; streams are
// synchronous (work runs on the launching host thread); every call succeeds.
#pragma once

#include <atomic>
#include <map>
#include <mutex>

#include "cuda_emu_core.h"

typedef enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorGraphExecUpdateFailure = 910
} cudaError_t;
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
// Waiting for a stream that is being captured is an error (it invalidates
// the capture), as on a GPU.
inline cudaError_t cudaStreamSynchronize(cudaStream_t) {
  if (emu_capture) {
    emu_capture_invalidated = true;
    return cudaErrorStreamCaptureUnsupported;
  }
  return cudaSuccess;
}
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
  emu_enqueue([=] { std::memset(p, v, n); });
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* d, const void* s, size_t n, cudaMemcpyKind,
                                   cudaStream_t = nullptr) {
  emu_enqueue([=] { std::memmove(d, s, n); });
  return cudaSuccess;
}

// ---- graphs (see cuda_emu_core.h) ----
typedef EmuGraph* cudaGraph_t;
typedef EmuGraph* cudaGraphExec_t;
enum cudaStreamCaptureMode { cudaStreamCaptureModeGlobal = 0, cudaStreamCaptureModeThreadLocal = 1 };
struct cudaGraphExecUpdateResultInfo {
  int result;
};
inline cudaError_t cudaStreamBeginCapture(cudaStream_t, cudaStreamCaptureMode) {
  if (emu_capture) return cudaErrorStreamCaptureUnsupported;
  emu_capture = new EmuGraph;
  emu_capture_invalidated = false;
  return cudaSuccess;
}
inline cudaError_t cudaStreamEndCapture(cudaStream_t, cudaGraph_t* g) {
  EmuGraph* c = emu_capture;
  emu_capture = nullptr;
  if (!c) return cudaErrorInvalidValue;
  if (emu_capture_invalidated) {
    delete c;
    *g = nullptr;
    return cudaErrorStreamCaptureInvalidated;
  }
  *g = c;
  return cudaSuccess;
}
inline cudaError_t cudaGraphDestroy(cudaGraph_t g) {
  delete g;
  return cudaSuccess;
}
inline cudaError_t cudaGraphInstantiate(cudaGraphExec_t* e, cudaGraph_t g, unsigned long long) {
  *e = new EmuGraph(*g);
  return cudaSuccess;
}
// The same number of nodes: the new parameters replace the old; else the
// update fails and the caller instantiates anew.
inline cudaError_t cudaGraphExecUpdate(cudaGraphExec_t e, cudaGraph_t g,
                                       cudaGraphExecUpdateResultInfo*) {
  if (e->nodes.size() != g->nodes.size()) return cudaErrorGraphExecUpdateFailure;
  e->nodes = g->nodes;
  return cudaSuccess;
}
inline cudaError_t cudaGraphExecDestroy(cudaGraphExec_t e) {
  delete e;
  return cudaSuccess;
}
inline cudaError_t cudaGraphLaunch(cudaGraphExec_t e, cudaStream_t) {
  for (auto& node : e->nodes) emu_enqueue(node);
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
