// The CUDA backend against the CPU backend, op by op (ggml's
// test-backend-ops): random inputs, every weight dtype, shapes that cross the
// kernels' internal boundaries (warp and tile sizes, attention splits, host
// batches), compared by normalized mean squared error. The CUDA cases skip
// with a message where no GPU is visible; the error cases run everywhere.
#include <gtest/gtest.h>

#ifdef MIXCON_HAVE_CUDA

#include <cmath>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/backend.h"
#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cuda/cuda_backend.h"

namespace mixcon {
namespace {

// Float32 arithmetic in a different order: a few ulps per element.
constexpr double kTol = 1e-9;
// Exact conversions and copies: only the last bit may differ (FMA contraction).
constexpr double kTightTol = 1e-12;

std::vector<float> rnd(int64_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(lo, hi);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(g);
  return v;
}

// Σ(got - want)² / Σ want² (0 when both are all zero).
double nmse(const std::vector<float>& got, const std::vector<float>& want) {
  EXPECT_EQ(got.size(), want.size());
  double err = 0, ref = 0;
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    const double d = double(got[i]) - double(want[i]);
    err += d * d;
    ref += double(want[i]) * want[i];
  }
  if (!std::isfinite(err)) return INFINITY;
  return ref > 0 ? err / ref : err;
}

const DType kDtypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0};

// A weight matrix in its stored bytes, mapped into both backends.
struct Weight {
  std::vector<uint8_t> bytes;
  MatrixRef cpu, gpu;
};

class CudaVsCpu : public ::testing::Test {
 public:  // for the helpers below the fixture
  void SetUp() override {
    if (!cuda_backend_available(0)) GTEST_SKIP() << "no CUDA device visible";
    cpu_ = create_backend(Device::Cpu, 0);
    gpu_ = create_cuda_backend(0);
    ASSERT_EQ(gpu_->device(), Device::Cuda);
    const int64_t per_thread = cpu_->scratch_floats_per_thread(8192, 512);
    cpu_scratch_.resize(static_cast<size_t>(per_thread));
    cx_.n_threads = 1;
    cx_.scratch = cpu_scratch_.data();
    cx_.scratch_floats_per_thread = per_thread;
    gx_.n_threads = 1;
    gx_.scratch_floats_per_thread = gpu_->scratch_floats_per_thread(8192, 512);
  }
  void TearDown() override {
    for (void* p : owned_) gpu_->release(p);
  }

  // A device copy of `h`, released with the fixture.
  template <class T>
  T* dev(const std::vector<T>& h) {
    void* p = gpu_->alloc(static_cast<int64_t>(h.size() * sizeof(T)));
    owned_.push_back(p);
    gpu_->upload(nullptr, p, h.data(), static_cast<int64_t>(h.size() * sizeof(T)));
    return static_cast<T*>(p);
  }
  float* dev_zeros(int64_t n) {
    void* p = gpu_->alloc(n * static_cast<int64_t>(sizeof(float)));
    owned_.push_back(p);
    return static_cast<float*>(p);
  }
  std::vector<float> host(const float* d, int64_t n) {
    std::vector<float> h(static_cast<size_t>(n));
    gpu_->download(nullptr, h.data(), d, n * static_cast<int64_t>(sizeof(float)));
    return h;
  }
  Weight weight(DType t, int64_t rows, int64_t cols, uint32_t seed) {
    Weight w;
    const std::vector<float> src = rnd(rows * cols, seed);
    const int64_t rb = dtype_row_bytes(t, cols);
    w.bytes.resize(static_cast<size_t>(rows * rb));
    for (int64_t r = 0; r < rows; ++r)
      quantize_row(t, &src[static_cast<size_t>(r * cols)], &w.bytes[static_cast<size_t>(r * rb)],
                   cols);
    w.cpu = MatrixRef{t, rows, cols, rb, cpu_->map_weight(w.bytes.data(), rows * rb)};
    w.gpu = MatrixRef{t, rows, cols, rb, gpu_->map_weight(w.bytes.data(), rows * rb)};
    return w;
  }

  std::unique_ptr<Backend> cpu_, gpu_;
  std::vector<float> cpu_scratch_;
  ExecContext cx_, gx_;
  std::vector<void*> owned_;
};

// ---- memory -----------------------------------------------------------------------

TEST_F(CudaVsCpu, MemoryAllocZeroedUploadDownloadCopyZero) {
  const int64_t n = 1000;
  float* a = dev_zeros(n);
  EXPECT_EQ(host(a, n), std::vector<float>(n, 0.0f));
  const std::vector<float> v = rnd(n, 1);
  gpu_->upload(nullptr, a, v.data(), n * 4);
  EXPECT_EQ(host(a, n), v);
  float* b = dev_zeros(n);
  gpu_->copy(nullptr, b, a, n * 4);
  EXPECT_EQ(host(b, n), v);
  gpu_->zero(nullptr, b + 100, 50 * 4);
  std::vector<float> want = v;
  std::fill(want.begin() + 100, want.begin() + 150, 0.0f);
  EXPECT_EQ(host(b, n), want);
  // A zero-byte allocation is still a valid, releasable pointer.
  void* z = gpu_->alloc(0);
  EXPECT_NE(z, nullptr);
  gpu_->release(z);
}

// A session's stream: its transfers and ops run in call order on it, apart
// from the backend's own stream, with the same results.
TEST_F(CudaVsCpu, SessionStreamRunsItsWorkInOrder) {
  EXPECT_EQ(cpu_->create_stream(), nullptr);  // the CPU runs every call to completion
  std::unique_ptr<Stream> s1 = gpu_->create_stream(), s2 = gpu_->create_stream();
  ASSERT_NE(s1, nullptr);
  ASSERT_NE(s2, nullptr);
  EXPECT_GT(s1->bytes(), 0);
  const int64_t n = 4096;
  float* a = dev_zeros(n);
  float* b = dev_zeros(n);
  const std::vector<float> v = rnd(n, 7);
  gpu_->upload(s1.get(), a, v.data(), n * 4);
  gpu_->copy(s1.get(), b, a, n * 4);
  gpu_->zero(s1.get(), b + 10, 100 * 4);
  std::vector<float> got(static_cast<size_t>(n)), want = v;
  gpu_->download(s1.get(), got.data(), b, n * 4);
  std::fill(want.begin() + 10, want.begin() + 110, 0.0f);
  EXPECT_EQ(got, want);

  // Ops on the second stream: a prefill product (cuBLAS on the stream's
  // handle, the stream's tile) and attention (its partials).
  Weight w = weight(DType::Q8_0, 300, 256, 3);
  const std::vector<float> x = rnd(5 * 256, 4);
  std::vector<float> y_cpu(5 * 300);
  cpu_->matmul(cx_, w.cpu, x.data(), 5, y_cpu.data());
  ExecContext on = gx_;
  on.stream = s2.get();
  float* y = dev_zeros(5 * 300);
  gpu_->matmul(on, w.gpu, dev(x), 5, y);
  gpu_->synchronize(s2.get());
  EXPECT_LT(nmse(host(y, 5 * 300), y_cpu), kTol);
}

// run_graph on a session stream: a step that a graph cannot hold (it waits
// for the host) invalidates the recording; the step then runs directly, and
// so do that stream's later steps — never a failed feed. A step recorded
// fine runs once, from the graph.
TEST_F(CudaVsCpu, DecodeGraphFallsBackWhenRecordingFails) {
  std::unique_ptr<Stream> s = gpu_->create_stream(), ok = gpu_->create_stream();
  ExecContext on = gx_;
  on.stream = s.get();
  const int64_t n = 64;
  const std::vector<float> v = rnd(n, 8);
  float* a = dev(v);
  float* b = dev_zeros(n);
  std::vector<float> got(static_cast<size_t>(n), 0.0f);
  int runs = 0;
  auto waits_for_host = [&] {
    ++runs;
    gpu_->copy(s.get(), b, a, n * 4);
    gpu_->download(s.get(), got.data(), b, n * 4);  // a synchronization: not in a graph
  };
  gpu_->run_graph(on, waits_for_host);
  EXPECT_EQ(runs, 2);  // the failed recording, then directly
  EXPECT_EQ(got, v);
  std::fill(got.begin(), got.end(), 0.0f);
  gpu_->run_graph(on, waits_for_host);
  EXPECT_EQ(runs, 3);  // no more recording on this stream
  EXPECT_EQ(got, v);

  // Another stream still records: its step runs once, at the graph launch.
  ExecContext on2 = gx_;
  on2.stream = ok.get();
  float* c = dev_zeros(n);
  int recorded = 0;
  auto step = [&] {
    ++recorded;
    gpu_->copy(ok.get(), c, a, n * 4);
  };
  gpu_->run_graph(on2, step);
  gpu_->synchronize(ok.get());
  EXPECT_EQ(recorded, 1);
  EXPECT_EQ(host(c, n), v);
}

// ---- matmul -----------------------------------------------------------------------

TEST_F(CudaVsCpu, MatmulEveryDtypeDecodeAndPrefill) {
  struct Shape {
    int64_t rows, cols;
  };
  for (DType t : kDtypes) {
    // 96, 1024, 4096 columns take the 16-byte loads of the decode kernel;
    // 100 (f16/bf16) and 98 (all) the per-value path.
    for (Shape s : {Shape{67, 96}, Shape{300, 1024}, Shape{5, 4096}, Shape{33, 100},
                    Shape{9, 98}}) {
      if (t == DType::Q8_0 && s.cols % 32 != 0) continue;
      Weight w = weight(t, s.rows, s.cols, uint32_t(s.rows * 31 + s.cols));
      for (int64_t n : {1, 2, 7, 33}) {
        const std::vector<float> x = rnd(n * s.cols, uint32_t(n) + 5);
        std::vector<float> want(static_cast<size_t>(n * s.rows));
        cpu_->matmul(cx_, w.cpu, x.data(), n, want.data());
        float* y = dev_zeros(n * s.rows);
        gpu_->matmul(gx_, w.gpu, dev(x), n, y);
        EXPECT_LT(nmse(host(y, n * s.rows), want), kTol)
            << dtype_name(t) << " " << s.rows << "x" << s.cols << " n=" << n;
      }
    }
  }
}

// bf16 activations (session option): bf16 weights multiply the rounded
// activations on the tensor cores (prefill) or in the decode kernel, as the
// CPU's bf16 products do; other weights stay exact. No int8 products here.
TEST_F(CudaVsCpu, MatmulWithBf16ActivationsMatchesTheCpus) {
  EXPECT_EQ(gpu_->activation_bytes(DType::Q8_0, 8, 256), 0);
  const int64_t max_n = 33, max_cols = 1024;
  const int64_t cpu_bytes = cpu_->activation_bytes(DType::BF16, max_n, max_cols);
  const int64_t gpu_bytes = gpu_->activation_bytes(DType::BF16, max_n, max_cols);
  ASSERT_GT(cpu_bytes, 0);
  ASSERT_GE(gpu_bytes, max_n * max_cols * 2);
  std::vector<uint8_t> cpu_act(static_cast<size_t>(cpu_bytes) + 64);
  ExecContext c = cx_, g = gx_;
  c.act_dtype = g.act_dtype = DType::BF16;
  c.act = reinterpret_cast<void*>((reinterpret_cast<uintptr_t>(cpu_act.data()) + 63) & ~uintptr_t(63));
  c.act_bytes = cpu_bytes;
  g.act = dev_zeros(gpu_bytes / 4 + 1);
  g.act_bytes = gpu_bytes;
  for (DType t : {DType::BF16, DType::Q8_0})
    for (int64_t cols : {int64_t{96}, max_cols}) {
      Weight w = weight(t, 130, cols, uint32_t(cols) + 1);
      for (int64_t n : {int64_t{1}, int64_t{2}, int64_t{7}, max_n}) {
        const std::vector<float> x = rnd(n * cols, uint32_t(n) + 40);
        std::vector<float> want(static_cast<size_t>(n * 130)), exact(want.size());
        cpu_->matmul(c, w.cpu, x.data(), n, want.data());
        cpu_->matmul(cx_, w.cpu, x.data(), n, exact.data());
        float* y = dev_zeros(n * 130);
        gpu_->matmul(g, w.gpu, dev(x), n, y);
        const std::vector<float> got = host(y, n * 130);
        EXPECT_LT(nmse(got, want), kTol) << dtype_name(t) << " cols " << cols << " n=" << n;
        // The rounding happened (bf16) or not (q8_0: exact products).
        if (t == DType::BF16)
          EXPECT_GT(nmse(got, exact), 1e-8) << "cols " << cols << " n=" << n;
        else
          EXPECT_LT(nmse(got, exact), kTol) << "cols " << cols << " n=" << n;
      }
    }
}

// A decode step's products of one input run as one launch (matvec_parts):
// every product gives the bits it gives alone, whatever its dtype, kernel
// variant (16-byte or per-value loads) or size (a 5-row part shares the
// launch with 300-row ones; a 0-row part is skipped), with exact and with
// bf16-rounded inputs; and the same as the CPU within tolerance.
TEST_F(CudaVsCpu, MatmulGroupDecodeEqualsSeparateProducts) {
  const int64_t cols = 256;
  std::vector<Weight> ws;
  ws.push_back(weight(DType::F32, 300, cols, 61));
  ws.push_back(weight(DType::Q8_0, 5, cols, 62));
  ws.push_back(weight(DType::F16, 67, cols, 63));
  ws.push_back(weight(DType::BF16, 130, cols, 64));
  ws.push_back(weight(DType::BF16, 0, cols, 65));
  ws.push_back(weight(DType::F32, 9, cols, 66));
  const int count = int(ws.size());
  const int64_t act_bytes = gpu_->activation_bytes(DType::BF16, 1, cols);
  for (bool aligned : {true, false})
    for (bool bf16_act : {false, true}) {
      SCOPED_TRACE(std::string(aligned ? "aligned" : "unaligned") + " input, " +
                   (bf16_act ? "bf16 activations" : "exact"));
      ExecContext g = gx_;
      if (bf16_act) {
        g.act_dtype = DType::BF16;
        g.act = dev_zeros(act_bytes / 4 + 1);
        g.act_bytes = act_bytes;
      }
      const std::vector<float> xs = rnd(cols + 1, 67);
      const float* x = dev(xs) + (aligned ? 0 : 1);
      std::vector<MatrixRef> m;
      std::vector<float*> grouped, alone;
      for (const Weight& w : ws) {
        m.push_back(w.gpu);
        grouped.push_back(dev_zeros(w.gpu.rows + 1));
        alone.push_back(dev_zeros(w.gpu.rows + 1));
      }
      gpu_->matmul_group(g, m.data(), count, x, 1, grouped.data());
      for (int i = 0; i < count; ++i) gpu_->matmul(g, m[size_t(i)], x, 1, alone[size_t(i)]);
      for (int i = 0; i < count; ++i) {
        const int64_t rows = ws[size_t(i)].gpu.rows;
        const std::vector<float> a = host(grouped[size_t(i)], rows), b = host(alone[size_t(i)], rows);
        EXPECT_EQ(0, std::memcmp(a.data(), b.data(), size_t(rows) * 4))
            << "product " << i << " (" << dtype_name(ws[size_t(i)].gpu.dtype) << ", " << rows << " rows)";
        if (rows == 0 || bf16_act) continue;
        std::vector<float> want(static_cast<size_t>(rows));
        cpu_->matmul(cx_, ws[size_t(i)].cpu, xs.data() + (aligned ? 0 : 1), 1, want.data());
        EXPECT_LT(nmse(a, want), kTol) << "product " << i;
      }
    }
}

// An input not 16-byte aligned falls back to the per-value decode kernel.
TEST_F(CudaVsCpu, MatvecWithUnalignedInput) {
  for (DType t : kDtypes) {
    Weight w = weight(t, 40, 256, 17);
    const std::vector<float> x = rnd(256 + 1, 18);
    std::vector<float> want(40);
    cpu_->matmul(cx_, w.cpu, x.data() + 1, 1, want.data());
    float* y = dev_zeros(40);
    gpu_->matmul(gx_, w.gpu, dev(x) + 1, 1, y);
    EXPECT_LT(nmse(host(y, 40), want), kTol) << dtype_name(t);
  }
}

TEST_F(CudaVsCpu, MatmulOnARowSliceOfAStack) {
  for (DType t : kDtypes) {
    Weight w = weight(t, 4 * 40, 64, 77);
    const MatrixRef cs = w.cpu.rows_slice(2 * 40, 40), gs = w.gpu.rows_slice(2 * 40, 40);
    for (int64_t n : {1, 5}) {
      const std::vector<float> x = rnd(n * 64, 8);
      std::vector<float> want(static_cast<size_t>(n * 40));
      cpu_->matmul(cx_, cs, x.data(), n, want.data());
      float* y = dev_zeros(n * 40);
      gpu_->matmul(gx_, gs, dev(x), n, y);
      EXPECT_LT(nmse(host(y, n * 40), want), kTol) << dtype_name(t) << " n=" << n;
    }
  }
}

// More rows than one dequantized tile holds (16M floats): several tiles,
// each its own GEMM into its columns of y.
TEST_F(CudaVsCpu, MatmulPrefillAcrossSeveralTiles) {
  for (DType t : {DType::BF16, DType::Q8_0}) {
    const int64_t rows = 4200, cols = 4096, n = 3;
    Weight w = weight(t, rows, cols, 13);
    const std::vector<float> x = rnd(n * cols, 14);
    std::vector<float> want(static_cast<size_t>(n * rows));
    cpu_->matmul(cx_, w.cpu, x.data(), n, want.data());
    float* y = dev_zeros(n * rows);
    gpu_->matmul(gx_, w.gpu, dev(x), n, y);
    EXPECT_LT(nmse(host(y, n * rows), want), kTol) << dtype_name(t);
  }
}

// ---- embedding, norm, add, swiglu, rope ---------------------------------------------

TEST_F(CudaVsCpu, EmbedEveryDtype) {
  const std::vector<int32_t> tokens = {3, 0, 99, 3, 41, 7, 98};
  const int64_t n = static_cast<int64_t>(tokens.size());
  for (DType t : kDtypes) {
    Weight table = weight(t, 100, 160, 11);
    std::vector<float> want(static_cast<size_t>(n * 160));
    cpu_->embed(cx_, table.cpu, tokens.data(), n, want.data());
    float* out = dev_zeros(n * 160);
    gpu_->embed(gx_, table.gpu, tokens.data(), n, out);
    EXPECT_LT(nmse(host(out, n * 160), want), kTightTol) << dtype_name(t);
  }
}

TEST_F(CudaVsCpu, EmbedManyTokensCrossesHostBatches) {
  std::vector<int32_t> tokens(600);
  for (size_t i = 0; i < tokens.size(); ++i) tokens[i] = int32_t((i * 37) % 50);
  const int64_t n = static_cast<int64_t>(tokens.size());
  Weight table = weight(DType::Q8_0, 50, 64, 12);
  std::vector<float> want(static_cast<size_t>(n * 64));
  cpu_->embed(cx_, table.cpu, tokens.data(), n, want.data());
  float* out = dev_zeros(n * 64);
  gpu_->embed(gx_, table.gpu, tokens.data(), n, out);
  EXPECT_LT(nmse(host(out, n * 64), want), kTightTol);
}

TEST_F(CudaVsCpu, RmsnormAddSwiglu) {
  for (int64_t d : {1, 31, 1000, 4096}) {
    const int64_t n = 5;
    std::vector<float> x = rnd(n * d, uint32_t(d)), g = rnd(d, 2, 0.5f, 1.5f);
    x[0] = 30.0f;  // a large value the double sum of squares must keep
    std::vector<float> want(static_cast<size_t>(n * d));
    cpu_->rmsnorm(cx_, x.data(), g.data(), n, d, 1e-5f, want.data());
    float* y = dev_zeros(n * d);
    gpu_->rmsnorm(gx_, dev(x), dev(g), n, d, 1e-5f, y);
    EXPECT_LT(nmse(host(y, n * d), want), kTol) << "rmsnorm d=" << d;
  }
  const int64_t count = 100003;
  const std::vector<float> a = rnd(count, 3, -8, 8), b = rnd(count, 4, -2, 2);
  std::vector<float> sum = a;
  cpu_->add(cx_, sum.data(), b.data(), count);
  float* ga = dev(a);
  gpu_->add(gx_, ga, dev(b), count);
  EXPECT_LT(nmse(host(ga, count), sum), kTightTol) << "add";
  std::vector<float> act(static_cast<size_t>(count));
  cpu_->swiglu(cx_, a.data(), b.data(), act.data(), count);
  float* gact = dev_zeros(count);
  gpu_->swiglu(gx_, dev(a), dev(b), gact, count);
  EXPECT_LT(nmse(host(gact, count), act), kTol) << "swiglu";
}

TEST_F(CudaVsCpu, RopeAtSmallAndLargePositions) {
  const int64_t n = 6, heads = 3, hd = 64, stride = heads * hd + 10;
  for (int64_t pos0 : {0, 1000, 2000000}) {
    const std::vector<float> x = rnd(n * stride, uint32_t(pos0) + 1);
    std::vector<float> want = x;
    cpu_->rope(cx_, want.data(), n, stride, heads, hd, pos0, 10000.0);
    float* gx = dev(x);
    gpu_->rope(gx_, gx, n, stride, heads, hd, pos0, 10000.0);
    EXPECT_LT(nmse(host(gx, n * stride), want), kTol) << "pos0=" << pos0;
  }
}

// ---- attention ----------------------------------------------------------------------

struct AttnCase {
  int64_t n, pos0, heads, kv_heads, hd;
};

// The CPU's and the device's attention for case c over the same queries
// (rows of q_stride) and cache (rows of kv_stride elements of kv_dtype,
// heads adjacent): the NMSE of the device's output against the CPU's.
template <class T>
double attention_nmse(CudaVsCpu& f, const AttnCase& c, const std::vector<float>& q, int64_t q_stride,
                      const std::vector<T>& k, const std::vector<T>& v, int64_t kv_stride,
                      DType kv_dtype, int64_t out_stride) {
  AttentionArgs a;
  a.n_tokens = c.n;
  a.pos0 = c.pos0;
  a.n_heads = c.heads;
  a.n_kv_heads = c.kv_heads;
  a.head_dim = c.hd;
  a.q_stride = q_stride;
  a.kv_stride = kv_stride;
  a.kv_head_stride = c.hd;
  a.kv_dtype = kv_dtype;
  a.out_stride = out_stride;
  std::vector<float> want(static_cast<size_t>(c.n * out_stride), 0.0f);
  a.q = q.data();
  a.k_cache = k.data();
  a.v_cache = v.data();
  a.out = want.data();
  f.cpu_->attention(f.cx_, a);
  float* out = f.dev_zeros(c.n * out_stride);
  a.q = f.dev(q);
  a.k_cache = f.dev(k);
  a.v_cache = f.dev(v);
  a.out = out;
  f.gpu_->attention(f.gx_, a);
  return nmse(f.host(out, c.n * out_stride), want);
}

TEST_F(CudaVsCpu, AttentionDecodePrefillLongContextGrouped) {
  // Decode (one query: split-K kernel), small chunks (< 4 queries or
  // head_dim > 128: per-query kernel), prefill chunks (query-tile kernel:
  // partial tiles, several splits, head dims not a multiple of 8).
  const AttnCase cases[] = {
      {1, 0, 4, 4, 64},    {1, 5, 4, 2, 64},    {1, 3000, 8, 2, 128}, {1, 20000, 2, 1, 64},
      {3, 100, 2, 2, 512}, {2, 10, 6, 3, 1},    {4, 7, 2, 1, 16},     {13, 40, 4, 1, 80},
      {17, 0, 4, 4, 64},   {64, 0, 8, 8, 128},  {64, 500, 4, 2, 32},  {40, 3000, 8, 2, 128},
      {5, 0, 3, 1, 100},   {9, 2, 2, 2, 512},
  };
  for (const AttnCase& c : cases) {
    const int64_t q_stride = c.heads * c.hd + 3, out_stride = c.heads * c.hd + 5;
    const int64_t kv_stride = c.kv_heads * c.hd + 2, keys = c.pos0 + c.n;
    const std::vector<float> q = rnd(c.n * q_stride, 21), k = rnd(keys * kv_stride, 22, -2, 2),
                             v = rnd(keys * kv_stride, 23);
    EXPECT_LT(attention_nmse(*this, c, q, q_stride, k, v, kv_stride, DType::F32, out_stride), kTol)
        << "n=" << c.n << " pos0=" << c.pos0 << " heads=" << c.heads << "/" << c.kv_heads
        << " hd=" << c.hd;
  }
}

// An f16 or bf16 cache: the device widens the same bits the CPU does, so
// the two attentions agree as closely as over an f32 cache.
TEST_F(CudaVsCpu, AttentionOverF16AndBf16Caches) {
  const AttnCase cases[] = {{1, 700, 8, 2, 64}, {1, 5000, 4, 1, 128}, {24, 90, 4, 2, 64}, {3, 10, 2, 2, 96}};
  for (DType t : {DType::F16, DType::BF16}) {
    for (const AttnCase& c : cases) {
      const int64_t kv_stride = c.kv_heads * c.hd, keys = c.pos0 + c.n, qd = c.heads * c.hd;
      const std::vector<float> q = rnd(c.n * qd, 61), k = rnd(keys * kv_stride, 62, -2, 2),
                               v = rnd(keys * kv_stride, 63);
      std::vector<uint16_t> kn(k.size()), vn(v.size());
      quantize_row(t, k.data(), kn.data(), int64_t(k.size()));
      quantize_row(t, v.data(), vn.data(), int64_t(v.size()));
      EXPECT_LT(attention_nmse(*this, c, q, qd, kn, vn, kv_stride, t, qd), kTol)
          << dtype_name(t) << " n=" << c.n << " pos0=" << c.pos0 << " hd=" << c.hd;
    }
  }
}

// Keys stored into the head-major cache land at the same places with the
// same bits on both backends: ties, overflow, subnormals and signed zeros
// included.
TEST_F(CudaVsCpu, StoreKvRoundsAndPlacesLikeTheCpu) {
  const int64_t heads = 3, hd = 40, ctx = 90, pos0 = 11, n = 41;
  std::vector<float> x = rnd(n * heads * hd, 64, -70000.0f, 70000.0f);
  const float special[] = {0.0f, -0.0f, 1.0f + 1.0f / 2048.0f, 1.0f + 3.0f / 2048.0f, 65504.0f,
                           65519.0f, 65520.0f, -1e9f, 3e-8f, -6e-5f, 1e-40f, 1.0f + 1.0f / 256.0f,
                           1.0f + 3.0f / 256.0f};
  for (size_t i = 0; i < sizeof special / sizeof special[0]; ++i) x[i * 7] = special[i];
  const float* gx = dev(x);
  for (DType t : {DType::F16, DType::BF16, DType::F32}) {
    const int64_t bytes = dtype_row_bytes(t, heads * ctx * hd);
    std::vector<uint8_t> want(static_cast<size_t>(bytes), 0), got(want.size());
    cpu_->store_kv(cx_, x.data(), n, heads, hd, pos0, ctx * hd, t, want.data());
    void* d = gpu_->alloc(bytes);
    owned_.push_back(d);
    gpu_->store_kv(gx_, gx, n, heads, hd, pos0, ctx * hd, t, d);
    gpu_->download(nullptr, got.data(), d, bytes);
    EXPECT_EQ(got, want) << dtype_name(t);
  }
}

// ---- causal conv ----------------------------------------------------------------------

TEST_F(CudaVsCpu, CausalConvChunkThenStep) {
  const int64_t C = 37, K = 4, x_stride = C + 5;
  const std::vector<float> w = rnd(C * K, 31), b = rnd(C, 32), win0 = rnd((K - 1) * C, 33);
  std::vector<float> cwin = win0;
  float* gwin = dev(win0);
  for (int64_t n : {6, 1, 2}) {
    const std::vector<float> x = rnd(n * x_stride, uint32_t(40 + n));
    CausalConvArgs a;
    a.n_tokens = n;
    a.channels = C;
    a.kernel = K;
    a.x_stride = x_stride;
    std::vector<float> want(static_cast<size_t>(n * C));
    a.x = x.data();
    a.window = cwin.data();
    a.w = w.data();
    a.b = b.data();
    a.out = want.data();
    cpu_->causal_conv(cx_, a);
    float* out = dev_zeros(n * C);
    a.x = dev(x);
    a.window = gwin;
    a.w = dev(w);
    a.b = dev(b);
    a.out = out;
    gpu_->causal_conv(gx_, a);
    EXPECT_LT(nmse(host(out, n * C), want), kTol) << "n=" << n;
    EXPECT_LT(nmse(host(gwin, (K - 1) * C), cwin), kTightTol) << "window after n=" << n;
  }
}

// ---- conba scan ---------------------------------------------------------------------------

struct ConbaCase {
  const char* name;
  bool scaling, delay, control;
  int64_t ring, d_state;
};

TEST_F(CudaVsCpu, ConbaScanEveryFeatureCombination) {
  const ConbaCase cases[] = {
      {"all", true, true, true, 3, 16},        {"off", false, false, false, 1, 16},
      {"scaling", true, false, false, 1, 16},  {"delay", false, true, false, 2, 16},
      {"control", false, false, true, 1, 16},  {"all_wide_state", true, true, true, 2, 40},
      {"tiny_state", true, true, true, 4, 1},
  };
  const int64_t D = 48;
  for (const ConbaCase& c : cases) {
    const int64_t N = c.d_state, slots = c.ring + 1;
    // Per-channel parameters, as the model derives them at load.
    std::vector<float> a_par = rnd(D * N, 51, 0.0f, 2.0f);
    for (float& v : a_par) v = -std::exp(v);
    const std::vector<float> dt_bias = rnd(D, 52, -3, 0), d_skip = rnd(D, 53),
                             scale_bias = rnd(D, 54), rho = rnd(D, 55, 0.0f, 0.5f),
                             w_ref = rnd(D, 56, 0.5f, 1.5f), lambda = rnd(D, 57, 0.5f, 0.99f),
                             eta = rnd(D, 58, 0.0f, 0.1f);
    std::vector<float> c_ring = rnd(slots * D * N, 59), c_gain = rnd(D, 60, 0.0f, 0.2f);
    float* g_ring = dev(c_ring);
    float* g_gain = dev(c_gain);
    const float* g_a = dev(a_par);
    const float *g_dt_bias = dev(dt_bias), *g_d_skip = dev(d_skip), *g_scale_bias = dev(scale_bias),
                *g_rho = dev(rho), *g_w_ref = dev(w_ref), *g_lambda = dev(lambda), *g_eta = dev(eta);
    int64_t head = 1 % slots;
    uint32_t seed = 100;
    for (int64_t n : {5, 1, 1, 3}) {
      const int64_t z_stride = 2 * D;
      const std::vector<float> u = rnd(n * D, ++seed), dt_raw = rnd(n * D, ++seed),
                               B = rnd(n * N, ++seed), C = rnd(n * N, ++seed),
                               scale_raw = rnd(n * D, ++seed), uz = rnd(n * z_stride, ++seed);
      ConbaScanArgs a;
      a.n_tokens = n;
      a.d_inner = D;
      a.d_state = N;
      a.ring = c.ring;
      a.z_stride = z_stride;
      a.head = head;
      std::vector<float> c_err(static_cast<size_t>(n * D)), c_norm(static_cast<size_t>(n)),
          c_out(static_cast<size_t>(n * D));
      a.u = u.data();
      a.dt_raw = dt_raw.data();
      a.B = B.data();
      a.C = C.data();
      a.scale_raw = c.scaling ? scale_raw.data() : nullptr;
      a.z = uz.data() + D;
      a.dt_bias = dt_bias.data();
      a.a = a_par.data();
      a.d_skip = d_skip.data();
      a.scale_bias = c.scaling ? scale_bias.data() : nullptr;
      a.rho = c.delay ? rho.data() : nullptr;
      a.w_ref = c.control ? w_ref.data() : nullptr;
      a.lambda = c.control ? lambda.data() : nullptr;
      a.eta = c.control ? eta.data() : nullptr;
      a.h_ring = c_ring.data();
      a.gain = c.control ? c_gain.data() : nullptr;
      a.err = c.control ? c_err.data() : nullptr;
      a.err_norm = c.control ? c_norm.data() : nullptr;
      a.out = c_out.data();
      cpu_->conba_scan(cx_, a);

      float* g_out = dev_zeros(n * D);
      float* g_err = dev_zeros(n * D);
      float* g_norm = dev_zeros(n);
      a.u = dev(u);
      a.dt_raw = dev(dt_raw);
      a.B = dev(B);
      a.C = dev(C);
      a.scale_raw = c.scaling ? dev(scale_raw) : nullptr;
      a.z = dev(uz) + D;
      a.dt_bias = g_dt_bias;
      a.a = g_a;
      a.d_skip = g_d_skip;
      a.scale_bias = c.scaling ? g_scale_bias : nullptr;
      a.rho = c.delay ? g_rho : nullptr;
      a.w_ref = c.control ? g_w_ref : nullptr;
      a.lambda = c.control ? g_lambda : nullptr;
      a.eta = c.control ? g_eta : nullptr;
      a.h_ring = g_ring;
      a.gain = c.control ? g_gain : nullptr;
      a.err = c.control ? g_err : nullptr;
      a.err_norm = c.control ? g_norm : nullptr;
      a.out = g_out;
      gpu_->conba_scan(gx_, a);

      const std::string at = std::string(c.name) + " n=" + std::to_string(n);
      EXPECT_LT(nmse(host(g_out, n * D), c_out), kTol) << at;
      EXPECT_LT(nmse(host(g_ring, slots * D * N), c_ring), kTol) << at;
      if (c.control) {
        EXPECT_LT(nmse(host(g_gain, D), c_gain), kTol) << at;
        EXPECT_LT(nmse(host(g_norm, n), c_norm), kTol) << at;
      }
      head = (head + n) % slots;  // the caller commits the chunk
    }
  }
}

// ---- MoE ------------------------------------------------------------------------------------

TEST_F(CudaVsCpu, MoeRouteTiesLowerIndexWins) {
  const int64_t n = 6, E = 8;
  std::vector<float> logits = rnd(n * E, 71);
  for (int64_t e = 0; e < E; ++e) logits[size_t(0 * E + e)] = 0.5f;  // all tied
  logits[size_t(1 * E + 2)] = logits[size_t(1 * E + 6)] = 3.0f;     // a tied pair on top
  logits[size_t(2 * E + 7)] = 2.0f;
  logits[size_t(2 * E + 1)] = 2.0f;
  logits[size_t(2 * E + 4)] = 2.0f;  // three tied for two places
  const float* g_logits = dev(logits);
  for (int64_t k : {1, 2, 3, 8}) {
    std::vector<int32_t> c_ids(size_t(n * k)), g_ids(size_t(n * k), -1);
    std::vector<float> c_w(size_t(n * k)), g_w(size_t(n * k));
    cpu_->moe_route(cx_, logits.data(), n, E, k, c_ids.data(), c_w.data());
    // ids and weights are host memory, as the model code passes them.
    gpu_->moe_route(gx_, g_logits, n, E, k, g_ids.data(), g_w.data());
    EXPECT_EQ(g_ids, c_ids) << "k=" << k;
    EXPECT_LT(nmse(g_w, c_w), kTol) << "k=" << k;
  }
}

// One token's MoE FFN routed on the device (what a decode graph runs) against
// the host-routed arithmetic on the CPU: route, then each chosen expert's
// SwiGLU MLP, summed in ascending expert order.
TEST_F(CudaVsCpu, MoeTokenMatchesHostRouting) {
  const int64_t E = 6, dm = 96, d_ff = 64;
  for (DType t : {DType::F32, DType::Q8_0, DType::BF16})
    for (int64_t k : {1, 2, 6}) {
      Weight gate = weight(t, E * d_ff, dm, 91), up = weight(t, E * d_ff, dm, 92);
      Weight down = weight(t, E * dm, d_ff, 93);
      const std::vector<float> router = rnd(E, uint32_t(94 + k)), x = rnd(dm, 95);
      // The CPU, routed on the host.
      std::vector<int32_t> ids(static_cast<size_t>(k));
      std::vector<float> w(static_cast<size_t>(k)), g(static_cast<size_t>(d_ff)),
          u(static_cast<size_t>(d_ff)), a(static_cast<size_t>(d_ff)), y(static_cast<size_t>(dm)),
          want(static_cast<size_t>(dm), 0.0f);
      cpu_->moe_route(cx_, router.data(), 1, E, k, ids.data(), w.data());
      for (int64_t j = 0; j < k; ++j) {
        const int64_t e = ids[static_cast<size_t>(j)];
        cpu_->matmul(cx_, gate.cpu.rows_slice(e * d_ff, d_ff), x.data(), 1, g.data());
        cpu_->matmul(cx_, up.cpu.rows_slice(e * d_ff, d_ff), x.data(), 1, u.data());
        cpu_->swiglu(cx_, g.data(), u.data(), a.data(), d_ff);
        cpu_->matmul(cx_, down.cpu.rows_slice(e * dm, dm), a.data(), 1, y.data());
        const int32_t row0 = 0;
        cpu_->scatter_add_rows(cx_, y.data(), dm, &row0, &w[static_cast<size_t>(j)], 1,
                               want.data());
      }
      MoeTokenArgs m;
      m.n_experts = E;
      m.top_k = k;
      m.d_model = dm;
      m.d_ff = d_ff;
      EXPECT_FALSE(cpu_->moe_token(cx_, m));  // the CPU routes on the host
      m.router = dev(router);
      m.w_gate = gate.gpu;
      m.w_up = up.gpu;
      m.w_down = down.gpu;
      m.x = dev(x);
      m.gate = dev_zeros(d_ff);
      m.up = dev_zeros(d_ff);
      m.act = dev_zeros(d_ff);
      m.y = dev_zeros(dm);
      m.out = dev(rnd(dm, 96));  // overwritten, not added to
      ASSERT_TRUE(gpu_->moe_token(gx_, m));
      EXPECT_LT(nmse(host(m.out, dm), want), kTol) << dtype_name(t) << " k=" << k;
    }
}

TEST_F(CudaVsCpu, GatherAndScatterAddRowsWithRepeats) {
  const int64_t d = 300, src_rows = 20;
  for (int64_t count : {1, 7, 600}) {
    std::vector<int32_t> rows(static_cast<size_t>(count));
    std::vector<float> scale = rnd(count, 81);
    for (int64_t i = 0; i < count; ++i) rows[size_t(i)] = int32_t((i * 7 + 3) % src_rows);
    const std::vector<float> src = rnd(src_rows * d, 82);
    std::vector<float> gathered(static_cast<size_t>(count * d));
    cpu_->gather_rows(cx_, src.data(), d, rows.data(), count, gathered.data());
    float* g_gathered = dev_zeros(count * d);
    gpu_->gather_rows(gx_, dev(src), d, rows.data(), count, g_gathered);
    EXPECT_LT(nmse(host(g_gathered, count * d), gathered), kTightTol) << "gather " << count;

    const std::vector<float> contrib = rnd(count * d, 83);
    std::vector<float> acc = rnd(src_rows * d, 84);
    float* g_acc = dev(acc);
    cpu_->scatter_add_rows(cx_, contrib.data(), d, rows.data(), scale.data(), count, acc.data());
    gpu_->scatter_add_rows(gx_, dev(contrib), d, rows.data(), scale.data(), count, g_acc);
    EXPECT_LT(nmse(host(g_acc, src_rows * d), acc), kTol) << "scatter " << count;
  }
}

// ---- errors ---------------------------------------------------------------------------------

TEST_F(CudaVsCpu, BadArgumentsThrowInsteadOfCrashing) {
  Weight w = weight(DType::F32, 4, 32, 91);
  MatrixRef bad = w.gpu;
  bad.dtype = DType::Q8_0;  // row_bytes no longer match
  float* y = dev_zeros(8);
  const std::vector<float> x(64, 1.0f);
  EXPECT_THROW(gpu_->matmul(gx_, bad, dev(x), 2, y), Error);
  const int32_t tok = 4;  // rows 0..3 only
  EXPECT_THROW(gpu_->embed(gx_, w.gpu, &tok, 1, y), Error);
  AttentionArgs a;
  a.n_tokens = 1;
  a.n_heads = 1;
  a.n_kv_heads = 1;
  a.head_dim = 1024;  // beyond the kernel's limit
  EXPECT_THROW(gpu_->attention(gx_, a), Error);
  // Arrays the interface keeps in host memory, passed as device memory: an
  // error, not a crash when the host would read them.
  const std::vector<int32_t> rows = {0, 1};
  const int32_t* dev_rows = dev(rows);
  EXPECT_THROW(gpu_->gather_rows(gx_, y, 2, dev_rows, 2, y), Error);
  const std::vector<float> logits = {1.0f, 2.0f};
  EXPECT_THROW(gpu_->moe_route(gx_, dev(logits), 1, 2, 1, reinterpret_cast<int32_t*>(y), y + 4),
               Error);
}

TEST(CudaBackend, AvailabilityAndCreationErrors) {
  EXPECT_FALSE(cuda_backend_available(-1));
  try {
    create_cuda_backend(-1);
    FAIL() << "device -1 was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Backend) << e.what();
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos) << e.what();
  }
  if (cuda_backend_available(0)) {
    std::unique_ptr<Backend> be = create_cuda_backend(0);
    EXPECT_EQ(be->device(), Device::Cuda);
    EXPECT_NE(std::string(be->name()).find("cuda:0"), std::string::npos) << be->name();
  } else {
    // No usable GPU: creating one is an error with CUDA's reason, never a crash.
    try {
      create_cuda_backend(0);
      FAIL() << "created a CUDA backend where none is available";
    } catch (const Error& e) {
      EXPECT_TRUE(e.status() == Status::Backend || e.status() == Status::Unsupported) << e.what();
      std::printf("no CUDA backend here: %s\n", e.what());
    }
  }
}

}  // namespace
}  // namespace mixcon

#else  // !MIXCON_HAVE_CUDA

TEST(CudaBackend, NotBuilt) { GTEST_SKIP() << "built without CUDA (MIXCON_CUDA=OFF)"; }

#endif
