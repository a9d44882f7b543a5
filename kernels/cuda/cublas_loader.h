// cuBLAS loaded at run time (dlopen) instead of linked: libmixcon then has no
// dependency on the CUDA toolkit's shared libraries (the CUDA runtime is
// linked statically and finds the driver itself), so one build loads on any
// machine, and a missing cuBLAS is an error of the CUDA backend only.
#pragma once

#include <cublas_v2.h>

namespace mixcon {
namespace cuda {

// The cuBLAS functions the backend uses (the _v2 entry points cublas_v2.h
// maps the plain names to).
struct CublasApi {
  decltype(&cublasCreate_v2) create = nullptr;
  decltype(&cublasDestroy_v2) destroy = nullptr;
  decltype(&cublasSetStream_v2) set_stream = nullptr;
  decltype(&cublasSetMathMode) set_math_mode = nullptr;
  decltype(&cublasSgemm_v2) sgemm = nullptr;
  // Spelled out: in C++ cublasGemmEx is overloaded (a deprecated inline
  // variant takes the compute type as a cudaDataType).
  cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                            const void*, const void*, cudaDataType, int, const void*,
                            cudaDataType, int, const void*, void*, cudaDataType, int,
                            cublasComputeType_t, cublasGemmAlgo_t) = nullptr;
};

// Loads libcublas.so.<major of the headers> on first use and keeps it for the
// life of the process. Throws Error(Backend) naming the library and the
// loader's message when it or one of the functions is missing.
const CublasApi& cublas_api();

}  // namespace cuda
}  // namespace mixcon
