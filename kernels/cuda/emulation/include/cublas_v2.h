// Emulated cuBLAS: the handful of entry points the backend uses, with a
// plain column-major SGEMM (double accumulation) as the reference.
#pragma once

#include "cuda_runtime.h"

typedef enum {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_ARCH_MISMATCH = 8,
  CUBLAS_STATUS_MAPPING_ERROR = 11,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
  CUBLAS_STATUS_INTERNAL_ERROR = 14,
  CUBLAS_STATUS_NOT_SUPPORTED = 15,
  CUBLAS_STATUS_LICENSE_ERROR = 16
} cublasStatus_t;
typedef enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1 } cublasOperation_t;
typedef enum { CUBLAS_DEFAULT_MATH = 0 } cublasMath_t;
typedef struct cublasContext* cublasHandle_t;
typedef enum cudaDataType_t { CUDA_R_32F = 0, CUDA_R_16BF = 14 } cudaDataType;
typedef enum { CUBLAS_COMPUTE_32F = 68 } cublasComputeType_t;
typedef enum { CUBLAS_GEMM_DEFAULT = -1 } cublasGemmAlgo_t;
#define CUBLAS_VER_MAJOR 13

inline cublasStatus_t cublasCreate_v2(cublasHandle_t* h) {
  *h = reinterpret_cast<cublasHandle_t>(0x2);
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasDestroy_v2(cublasHandle_t) { return CUBLAS_STATUS_SUCCESS; }
inline cublasStatus_t cublasSetStream_v2(cublasHandle_t, cudaStream_t) {
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetMathMode(cublasHandle_t, cublasMath_t) {
  return CUBLAS_STATUS_SUCCESS;
}
// C[m, n] = alpha·op(A)·op(B) + beta·C, column-major.
inline cublasStatus_t cublasSgemm_v2(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb,
                                     int m, int n, int k, const float* alpha, const float* A,
                                     int lda, const float* B, int ldb, const float* beta, float* C,
                                     int ldc) {
  // Enqueued (recorded while capturing); alpha and beta are read now, as
  // cuBLAS reads host scalars at the call.
  const float al = *alpha, be = *beta;
  emu_enqueue([=] {
  const float* alpha = &al;
  const float* beta = &be;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const float a = ta == CUBLAS_OP_N ? A[i + p * lda] : A[p + i * lda];
        const float b = tb == CUBLAS_OP_N ? B[p + j * ldb] : B[j + p * ldb];
        s += double(a) * b;
      }
      const double c = *beta == 0.0f ? 0.0 : double(*beta) * C[i + j * ldc];
      C[i + j * ldc] = float(*alpha * s + c);
    }
  });
  return CUBLAS_STATUS_SUCCESS;
}
// The mixed-precision GEMM with float32 or bf16 A and B, float32 C, float32
// compute: bf16 × bf16 products are exact in float, as on the tensor cores.
inline float emu_element(const void* p, cudaDataType t, long i) {
  if (t == CUDA_R_16BF) {
    const uint32_t bits = uint32_t(static_cast<const uint16_t*>(p)[i]) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  return static_cast<const float*>(p)[i];
}
inline cublasStatus_t cublasGemmEx(cublasHandle_t, cublasOperation_t ta, cublasOperation_t tb,
                                   int m, int n, int k, const void* alpha, const void* A,
                                   cudaDataType at, int lda, const void* B, cudaDataType bt,
                                   int ldb, const void* beta, void* Cv, cudaDataType ct, int ldc,
                                   cublasComputeType_t, cublasGemmAlgo_t) {
  if (ct != CUDA_R_32F) return CUBLAS_STATUS_NOT_SUPPORTED;
  float* C = static_cast<float*>(Cv);
  const float al = *static_cast<const float*>(alpha), be = *static_cast<const float*>(beta);
  emu_enqueue([=] {
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double s = 0;
      for (int p = 0; p < k; ++p) {
        const float a = emu_element(A, at, ta == CUBLAS_OP_N ? i + long(p) * lda : p + long(i) * lda);
        const float b = emu_element(B, bt, tb == CUBLAS_OP_N ? p + long(j) * ldb : j + long(p) * ldb);
        s += double(a) * b;
      }
      const double c = be == 0.0f ? 0.0 : double(be) * C[i + j * ldc];
      C[i + j * ldc] = float(al * s + c);
    }
  });
  return CUBLAS_STATUS_SUCCESS;
}
