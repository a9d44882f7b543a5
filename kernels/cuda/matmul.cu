// Matrix products with weights in their stored dtype (f32, f16, bf16, q8_0).
//
// Decode (n == 1) is bound by reading the weights once: one warp per output
// row streams its row, converting inside the dot product, so nothing is ever
// expanded in memory. One kernel serves a lone product and a decode step's
// products of one input (q, k, v; gate and up; the Conba selection), which
// run as one launch (matvec_parts): fewer, fuller kernels in the step's
// graph, with the bits each gives alone. Prefill (n > 1) is compute-bound: cuBLAS SGEMM does the
// product, reading f32 weights in place and the other dtypes from a float32
// tile dequantized just before (the conversion is exact, so the result
// differs from the CPU only by the order of float additions). With bf16
// activations (a session option) bf16 weights multiply on the tensor cores
// instead (round_bf16_input, matmul_bf16_rounded).
#include <climits>
#include <cstdint>
#include <string>

#include "kernels/cuda/cublas_loader.h"
#include "kernels/cuda/cuda_check.h"
#include "kernels/cuda/cuda_kernels.h"
#include "kernels/cuda/device_math.cuh"

namespace mixcon {
namespace cuda {
namespace {

constexpr int kMatvecWarps = 8;  // rows per block
constexpr int kDequantThreads = 256;

// Output row r of a product, by one warp: lane j reads values j, j+32, ...:
// consecutive lanes read consecutive bytes (a q8_0 block is one step of the
// warp).
template <class Load>
__device__ void matvec_row(const uint8_t* __restrict__ w, int64_t r, int64_t cols,
                           int64_t row_bytes, const float* __restrict__ x, float* __restrict__ y,
                           int lane) {
  const uint8_t* row = w + r * row_bytes;
  float acc = 0.0f;
  for (int64_t i = lane; i < cols; i += kWarp) acc += Load::at(row, i) * x[i];
  acc = warp_sum(acc);
  if (lane == 0) y[r] = acc;
}

// The same product with 16-byte loads (4 f32 or 8 f16/bf16 values per lane
// per step), for rows whose values are whole 16-byte groups at 16-byte
// aligned addresses (checked by the launcher): a warp then moves 512 bytes
// per load instead of 64-128, which decode's bandwidth needs.
struct Vec16F32 {
  static constexpr int kValues = 4;
  __device__ static float dot(const uint4 w, const float4* x) {
    const float4 a = x[0];
    return __uint_as_float(w.x) * a.x + __uint_as_float(w.y) * a.y +
           __uint_as_float(w.z) * a.z + __uint_as_float(w.w) * a.w;
  }
};
// Two 16-bit values per 32-bit word, the lower address (first value) in the
// low half (little-endian).
__device__ inline float f16_lo(uint32_t u) { return __half2float(__ushort_as_half(u & 0xffffu)); }
__device__ inline float f16_hi(uint32_t u) { return __half2float(__ushort_as_half(u >> 16)); }
__device__ inline float bf16_lo(uint32_t u) { return __uint_as_float(u << 16); }
__device__ inline float bf16_hi(uint32_t u) { return __uint_as_float(u & 0xffff0000u); }
struct Vec16F16 {
  static constexpr int kValues = 8;
  __device__ static float dot(const uint4 w, const float4* x) {
    const float4 a = x[0], b = x[1];
    return f16_lo(w.x) * a.x + f16_hi(w.x) * a.y + f16_lo(w.y) * a.z + f16_hi(w.y) * a.w +
           f16_lo(w.z) * b.x + f16_hi(w.z) * b.y + f16_lo(w.w) * b.z + f16_hi(w.w) * b.w;
  }
};
struct Vec16BF16 {
  static constexpr int kValues = 8;
  __device__ static float dot(const uint4 w, const float4* x) {
    const float4 a = x[0], b = x[1];
    return bf16_lo(w.x) * a.x + bf16_hi(w.x) * a.y + bf16_lo(w.y) * a.z + bf16_hi(w.y) * a.w +
           bf16_lo(w.z) * b.x + bf16_hi(w.z) * b.y + bf16_lo(w.w) * b.z + bf16_hi(w.w) * b.w;
  }
};

template <class Vec>
__device__ void matvec16_row(const uint8_t* __restrict__ w, int64_t r, int64_t cols,
                             int64_t row_bytes, const float* __restrict__ x,
                             float* __restrict__ y, int lane) {
  const uint4* row = reinterpret_cast<const uint4*>(w + r * row_bytes);
  const float4* x4 = reinterpret_cast<const float4*>(x);
  const int64_t groups = cols / Vec::kValues;
  float acc = 0.0f;
  for (int64_t g = lane; g < groups; g += kWarp) acc += Vec::dot(row[g], x4 + g * (Vec::kValues / 4));
  acc = warp_sum(acc);
  if (lane == 0) y[r] = acc;
}

// Which row function a part runs: the 16-byte one where its rows and x allow.
enum class RowKind : int { F32, F16, BF16, Q8, F32x16, F16x16, BF16x16 };

struct GroupPart {
  const uint8_t* w;
  int64_t rows, cols, row_bytes;
  const float* x;
  float* y;
  const int32_t* sel;
  int64_t sel_bytes;
  int64_t first_block;  // the part's blocks are [first_block, next part's)
  RowKind kind;
};
struct GroupArgs {
  GroupPart part[kMaxMatvecParts];
  int count;
};

// One or more products in one launch (by value: a graph node holds them):
// each block belongs to one part and computes kMatvecWarps of its rows, one
// warp per row. A part's `sel` (device memory; nullptr: none) picks matrix
// *sel of a stack whose matrices are sel_bytes apart (an MoE expert chosen
// on the device).
__global__ void matvec_kernel(const GroupArgs g) {
  int i = 0;
  while (i + 1 < g.count && static_cast<int64_t>(blockIdx.x) >= g.part[i + 1].first_block) ++i;
  const GroupPart& a = g.part[i];
  const int lane = threadIdx.x % kWarp;
  const int64_t r = (static_cast<int64_t>(blockIdx.x) - a.first_block) * kMatvecWarps + threadIdx.x / kWarp;
  if (r >= a.rows) return;  // the whole warp leaves together: r is per warp
  const uint8_t* w = a.w;
  if (a.sel) w += static_cast<int64_t>(*a.sel) * a.sel_bytes;
  switch (a.kind) {
    case RowKind::F32: return matvec_row<LoadF32>(w, r, a.cols, a.row_bytes, a.x, a.y, lane);
    case RowKind::F16: return matvec_row<LoadF16>(w, r, a.cols, a.row_bytes, a.x, a.y, lane);
    case RowKind::BF16: return matvec_row<LoadBF16>(w, r, a.cols, a.row_bytes, a.x, a.y, lane);
    case RowKind::Q8: return matvec_row<LoadQ8>(w, r, a.cols, a.row_bytes, a.x, a.y, lane);
    case RowKind::F32x16: return matvec16_row<Vec16F32>(w, r, a.cols, a.row_bytes, a.x, a.y, lane);
    case RowKind::F16x16: return matvec16_row<Vec16F16>(w, r, a.cols, a.row_bytes, a.x, a.y, lane);
    case RowKind::BF16x16: return matvec16_row<Vec16BF16>(w, r, a.cols, a.row_bytes, a.x, a.y, lane);
  }
}

// out[r - row0, c] = w[r, c] as float32 for rows [row0, row0 + n_rows).
template <class Load>
__global__ void dequantize_kernel(const uint8_t* __restrict__ w, int64_t row0, int64_t n_rows,
                                  int64_t cols, int64_t row_bytes, float* __restrict__ out) {
  const int64_t total = n_rows * cols;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = e / cols, c = e % cols;
    out[e] = Load::at(w + (row0 + r) * row_bytes, c);
  }
}

void check_matrix(const MatrixRef& w, const char* op) {
  if (w.rows < 0 || w.cols < 0 || !w.data)
    fail(Status::InvalidArgument, std::string(op) + ": invalid weight matrix");
  if (w.dtype == DType::Q8_0 && w.cols % kQ8Block != 0)
    fail(Status::InvalidArgument, std::string(op) + ": q8_0 matrix with " +
                                      std::to_string(w.cols) + " columns (not a multiple of 32)");
  if (w.row_bytes != dtype_row_bytes(w.dtype, w.cols))
    fail(Status::InvalidArgument, std::string(op) + ": row_bytes " + std::to_string(w.row_bytes) +
                                      " does not match " + std::to_string(w.cols) + " columns of " +
                                      dtype_name(w.dtype));
}

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Whether the 16-byte row function may read w's rows and x (q8_0 has none:
// its 34-byte blocks are only 2-byte aligned).
bool fits16(const MatrixRef& w, int values, const float* x) {
  return w.cols % values == 0 && w.row_bytes % 16 == 0 && aligned16(w.data) && aligned16(x);
}

template <class Load>
void launch_dequantize(const MatrixRef& w, int64_t row0, int64_t n_rows, float* out,
                       cudaStream_t stream) {
  dequantize_kernel<Load>
      <<<grid_for(n_rows * w.cols, kDequantThreads), kDequantThreads, 0, stream>>>(
          static_cast<const uint8_t*>(w.data), row0, n_rows, w.cols, w.row_bytes, out);
  check_launch("dequantize kernel launch");
}

void dequantize(const MatrixRef& w, int64_t row0, int64_t n_rows, float* out,
                cudaStream_t stream) {
  switch (w.dtype) {
    case DType::F32: return launch_dequantize<LoadF32>(w, row0, n_rows, out, stream);
    case DType::F16: return launch_dequantize<LoadF16>(w, row0, n_rows, out, stream);
    case DType::BF16: return launch_dequantize<LoadBF16>(w, row0, n_rows, out, stream);
    case DType::Q8_0: return launch_dequantize<LoadQ8>(w, row0, n_rows, out, stream);
  }
  fail(Status::InvalidArgument, "matmul: unknown weight dtype");
}

// y[:, r0 : r0+m] = x · aᵀ where a is m rows of `cols` floats. cuBLAS is
// column-major: the row-major a [m, cols] is a column-major [cols, m] (so
// op T), x [n, cols] is [cols, n], and y [n, rows] is [rows, n] with leading
// dimension `rows`, starting at column-major row r0.
void sgemm(cublasHandle_t cublas, const float* a, int64_t m, int64_t cols, const float* x,
           int64_t n, float* y, int64_t rows, int64_t r0) {
  const float one = 1.0f, zero = 0.0f;
  check_cublas(cublas_api().sgemm(cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(m),
                           static_cast<int>(n), static_cast<int>(cols), &one, a,
                           static_cast<int>(cols), x, static_cast<int>(cols), &zero, y + r0,
                           static_cast<int>(rows)),
               "matmul: cublasSgemm");
}

// out[i] = x[i] rounded to bf16: as bits (out_bits) or as the float it is (out_f32).
// out_f32 may be x itself (an MoE expert's activations rounded in place).
__global__ void round_bf16_kernel(const float* x, int64_t count, uint16_t* __restrict__ out_bits,
                                  float* out_f32) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const uint16_t b = to_bf16_bits(x[i]);
    if (out_bits)
      out_bits[i] = b;
    else
      out_f32[i] = __uint_as_float(static_cast<uint32_t>(b) << 16);
  }
}

// cublasGemmEx with the 32-bit compute type (its C++ overload taking a
// cudaDataType is deprecated): y[:, 0 : rows] = x · wᵀ, as sgemm below.
void gemm_bf16(cublasHandle_t cublas, const void* w, int64_t rows, int64_t cols,
               const uint16_t* x, int64_t n, float* y) {
  const float one = 1.0f, zero = 0.0f;
  check_cublas(cublas_api().gemm_ex(cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(rows),
                                    static_cast<int>(n), static_cast<int>(cols), &one, w,
                                    CUDA_R_16BF, static_cast<int>(cols), x, CUDA_R_16BF,
                                    static_cast<int>(cols), &zero, y, CUDA_R_32F,
                                    static_cast<int>(rows), CUBLAS_COMPUTE_32F,
                                    CUBLAS_GEMM_DEFAULT),
               "matmul: cublasGemmEx (bf16)");
}

void launch_parts(const MatvecPart* parts, int count, cudaStream_t stream, const char* op) {
  if (count < 0 || count > kMaxMatvecParts)
    fail(Status::Internal, std::string(op) + ": 0 to " + std::to_string(kMaxMatvecParts) + " products");
  GroupArgs g{};
  int64_t blocks = 0;
  for (int i = 0; i < count; ++i) {
    const MatvecPart& p = parts[i];
    check_matrix(p.w, op);
    if (p.w.rows == 0) continue;
    GroupPart& a = g.part[g.count++];
    a.w = static_cast<const uint8_t*>(p.w.data);
    a.rows = p.w.rows;
    a.cols = p.w.cols;
    a.row_bytes = p.w.row_bytes;
    a.x = p.x;
    a.y = p.y;
    a.sel = p.sel;
    a.sel_bytes = p.sel ? p.w.rows * p.w.row_bytes : 0;
    a.first_block = blocks;
    blocks += (p.w.rows + kMatvecWarps - 1) / kMatvecWarps;
    switch (p.w.dtype) {
      case DType::F32: a.kind = fits16(p.w, Vec16F32::kValues, p.x) ? RowKind::F32x16 : RowKind::F32; break;
      case DType::F16: a.kind = fits16(p.w, Vec16F16::kValues, p.x) ? RowKind::F16x16 : RowKind::F16; break;
      case DType::BF16: a.kind = fits16(p.w, Vec16BF16::kValues, p.x) ? RowKind::BF16x16 : RowKind::BF16; break;
      case DType::Q8_0: a.kind = RowKind::Q8; break;
      default: fail(Status::InvalidArgument, std::string(op) + ": unknown weight dtype");
    }
  }
  if (g.count == 0) return;
  if (blocks > INT_MAX) fail(Status::Unsupported, std::string(op) + ": too many rows");
  matvec_kernel<<<dim3(static_cast<unsigned int>(blocks)), kMatvecWarps * kWarp, 0, stream>>>(g);
  check_launch("matvec kernel launch");
}

}  // namespace

int64_t bf16_act_bytes(int64_t n, int64_t cols) {
  // n rows of bf16 bits, or (decode) one row of rounded floats.
  const int64_t bits = n * cols * 2, floats = cols * 4;
  return bits > floats ? bits : floats;
}

const void* round_bf16_input(const float* x, int64_t n, int64_t cols, void* act, int64_t act_bytes,
                             cudaStream_t stream) {
  if (n < 1) fail(Status::InvalidArgument, "matmul: token count must be >= 1");
  if (!act || act_bytes < bf16_act_bytes(n, cols))
    fail(Status::Internal, "matmul: the bf16 activation buffer is smaller than " +
                               std::to_string(n) + " rows of " + std::to_string(cols));
  constexpr int kThreads = 256;
  const int64_t count = n * cols;
  if (n == 1) {
    round_bf16_kernel<<<grid_for(count, kThreads), kThreads, 0, stream>>>(
        x, count, nullptr, static_cast<float*>(act));
  } else {
    round_bf16_kernel<<<grid_for(count, kThreads), kThreads, 0, stream>>>(
        x, count, static_cast<uint16_t*>(act), nullptr);
  }
  check_launch("bf16 rounding kernel launch");
  return act;
}

void matmul_bf16_rounded(cublasHandle_t cublas, const MatrixRef& w, const void* xr, int64_t n,
                         float* y, cudaStream_t stream) {
  check_matrix(w, "matmul");
  if (w.dtype != DType::BF16) fail(Status::Internal, "matmul_bf16_rounded: weights are not bf16");
  if (n < 0) fail(Status::InvalidArgument, "matmul: negative token count");
  if (n == 0 || w.rows == 0) return;
  if (n == 1) return matvec(w, static_cast<const float*>(xr), y, stream);
  if (w.rows > INT_MAX || w.cols > INT_MAX || n > INT_MAX)
    fail(Status::Unsupported, "matmul: matrix dimension beyond cuBLAS's 32-bit sizes");
  gemm_bf16(cublas, w.data, w.rows, w.cols, static_cast<const uint16_t*>(xr), n, y);
}

void matvec(const MatrixRef& w, const float* x, float* y, cudaStream_t stream) {
  const MatvecPart p{w, x, y, nullptr};
  launch_parts(&p, 1, stream, "matvec");
}

void matvec_selected(const MatrixRef& w, const int32_t* sel, const float* x, float* y,
                     cudaStream_t stream) {
  const MatvecPart p{w, x, y, sel};
  launch_parts(&p, 1, stream, "matvec_selected");
}

void matvec_parts(const MatvecPart* parts, int count, cudaStream_t stream) {
  launch_parts(parts, count, stream, "matvec_parts");
}

void round_bf16(const float* x, int64_t count, float* out, cudaStream_t stream) {
  if (count <= 0) return;
  constexpr int kThreads = 256;
  round_bf16_kernel<<<grid_for(count, kThreads), kThreads, 0, stream>>>(x, count, nullptr, out);
  check_launch("bf16 rounding kernel launch");
}

void matmul(cublasHandle_t cublas, const MatrixRef& w, const float* x, int64_t n, float* y,
            float* tile, int64_t tile_floats, cudaStream_t stream) {
  check_matrix(w, "matmul");
  if (n < 0) fail(Status::InvalidArgument, "matmul: negative token count");
  if (n == 0 || w.rows == 0) return;
  if (n == 1) return matvec(w, x, y, stream);
  if (w.cols == 0) {
    check(cudaMemsetAsync(y, 0, static_cast<size_t>(n * w.rows) * sizeof(float), stream),
          "matmul: cudaMemsetAsync");
    return;
  }
  if (w.rows > INT_MAX || w.cols > INT_MAX || n > INT_MAX)
    fail(Status::Unsupported, "matmul: matrix dimension beyond cuBLAS's 32-bit sizes");

  if (w.dtype == DType::F32) {
    sgemm(cublas, static_cast<const float*>(w.data), w.rows, w.cols, x, n, y, w.rows, 0);
    return;
  }
  const int64_t tile_rows = w.rows < tile_floats / w.cols ? w.rows : tile_floats / w.cols;
  if (tile_rows == 0) {
    // A single row does not fit the tile (columns beyond any real model):
    // one matrix-vector product per token is slower but exact.
    for (int64_t t = 0; t < n; ++t) matvec(w, x + t * w.cols, y + t * w.rows, stream);
    return;
  }
  for (int64_t r0 = 0; r0 < w.rows; r0 += tile_rows) {
    const int64_t m = w.rows - r0 < tile_rows ? w.rows - r0 : tile_rows;
    dequantize(w, r0, m, tile, stream);
    sgemm(cublas, tile, m, w.cols, x, n, y, w.rows, r0);
  }
}

}  // namespace cuda
}  // namespace mixcon
