#include "kernels/cuda/cublas_loader.h"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "core/common/status.h"

namespace mixcon {
namespace cuda {
namespace {

template <class Fn>
bool bind(void* lib, const char* symbol, Fn* out, std::string* error) {
  void* p = dlsym(lib, symbol);
  if (!p) {
    *error = std::string("cuBLAS: ") + symbol + " not found in the loaded library";
    return false;
  }
  *out = reinterpret_cast<Fn>(p);
  return true;
}

}  // namespace

const CublasApi& cublas_api() {
  static std::once_flag once;
  static CublasApi api;
  static std::string error;
  std::call_once(once, [] {
    // The same major version as the headers compiled against: its ABI.
    const std::string name = "libcublas.so." + std::to_string(CUBLAS_VER_MAJOR);
    // First where the system's loader looks (ldconfig, LD_LIBRARY_PATH), then
    // in the toolkit this library was built with.
    void* lib = dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
      const char* why = dlerror();
      error = "cannot load " + name + ": " + (why ? why : "unknown error");
#ifdef MIXCON_CUDA_LIBRARY_DIR
      const std::string path = std::string(MIXCON_CUDA_LIBRARY_DIR) + "/" + name;
      lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!lib) {
        const char* why2 = dlerror();
        error += std::string("; ") + (why2 ? why2 : path + ": unknown error");
      }
#endif
      if (!lib) return;
      error.clear();
    }
    CublasApi a;
    if (bind(lib, "cublasCreate_v2", &a.create, &error) &&
        bind(lib, "cublasDestroy_v2", &a.destroy, &error) &&
        bind(lib, "cublasSetStream_v2", &a.set_stream, &error) &&
        bind(lib, "cublasSetMathMode", &a.set_math_mode, &error) &&
        bind(lib, "cublasSgemm_v2", &a.sgemm, &error) &&
        bind(lib, "cublasGemmEx", &a.gemm_ex, &error))
      api = a;
  });
  if (!error.empty()) throw Error(Status::Backend, error);
  return api;
}

}  // namespace cuda
}  // namespace mixcon
