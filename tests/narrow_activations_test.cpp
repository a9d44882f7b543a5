// Narrow activations (SessionOptions::activation_dtype = Q8_0 or BF16):
// int8 rounding is the same on every kernel path; products with q8_0
// weights equal a float64 evaluation of the block formula of
// q8_activations.h on every path (portable and VNNI prefill bit for bit),
// products with bf16 weights a float64 sum over the bf16-rounded values
// (with and without vdpbf16ps); a session's logits stay close to the exact
// ones, prefill agrees with steps, thread counts agree bitwise, every path
// agrees, forks keep the option; f32 models are exact; f16 is refused.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/common/status.h"
#include "core/format/dtype.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/matmul_bf16_act.h"
#include "kernels/cpu/matmul_group.h"
#include "kernels/cpu/matmul_q8_act.h"
#include "kernels/cpu/matmul_vnni.h"
#include "kernels/cpu/q8_activations.h"
#include "kernel_test_util.h"
#include "model_test_util.h"

namespace mixcon {
namespace {

using cpu::KernelPath;
using testutil::Variant;

const KernelPath kPaths[] = {KernelPath::Portable, KernelPath::Avx2, KernelPath::Avx512};

using testutil::ForcedPath;
using testutil::rnd;

struct Quantized {
  std::vector<uint8_t> buf;
  cpu::Q8Activations a;
};

Quantized quantize(const std::vector<float>& x, int64_t n, int64_t cols, int threads = 1) {
  Quantized q;
  q.buf.assign(size_t(cpu::q8_activation_bytes(n, cols) + 64), 0);
  void* at = q.buf.data() + (64 - reinterpret_cast<uintptr_t>(q.buf.data()) % 64) % 64;
  q.a = cpu::q8_activations_in(at, n, cols);
  cpu::quantize_q8_activations(x.data(), q.a, threads);
  return q;
}

// 3 blocks a row, and 19: AVX-512 quantizes 16 blocks at a time, then one by one.
class Q8ActivationsRounding : public ::testing::TestWithParam<int64_t> {};

TEST_P(Q8ActivationsRounding, FollowsTheDefinitionOnEveryPath) {
  const int64_t n = 5, cols = GetParam();
  std::vector<float> x = rnd(n * cols, 3);
  for (int64_t b : {int64_t(1), cols / 32 - 3}) {  // an all-zero block: d = 0, q = 0
    for (int64_t j = 32 * b; j < 32 * b + 32; ++j) x[size_t(cols + j)] = 0.0f;
  }
  x[70] = 1e-30f;                                       // tiny next to its block's largest
  x[size_t(2 * cols + 200)] = 1e30f;                    // huge: its block's others round to 0
  std::vector<int8_t> first;
  for (KernelPath p : kPaths) {
    ForcedPath f(p);
    if (!f.ok()) continue;
    SCOPED_TRACE(cpu::kernel_path_name(p));
    Quantized q = quantize(x, n, cols);
    for (int64_t t = 0; t < n; ++t)
      for (int64_t b = 0; b < cols / 32; ++b) {
        const float* xb = &x[size_t(t * cols + b * 32)];
        float amax = 0;
        for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(xb[j]));
        ASSERT_EQ(q.a.row_d(t)[b], amax / 127.0f);
        int32_t sum = 0;
        for (int j = 0; j < 32; ++j) {
          const int8_t qv = q.a.row_q(t)[b * 32 + j];
          // Nearest, so within half a step of x / d.
          if (amax > 0) EXPECT_LE(std::fabs(qv - xb[j] * 127.0f / amax), 0.5f + 1e-5f);
          else EXPECT_EQ(qv, 0);
          sum += qv;
          if (j % 4 == 3) {
            int32_t g = 0;
            for (int k = j - 3; k <= j; ++k) g += q.a.row_q(t)[b * 32 + k];
            EXPECT_EQ(q.a.row_bias_group(t)[b * 8 + j / 4], -128 * g);
          }
        }
        EXPECT_EQ(q.a.row_bias_block(t)[b], -128 * sum);
      }
    std::vector<int8_t> all(q.a.q, q.a.q + n * cols);
    if (first.empty()) first = all;
    EXPECT_EQ(all, first) << "paths round differently";
  }
}

INSTANTIATE_TEST_SUITE_P(Cols, Q8ActivationsRounding, ::testing::Values(int64_t(96), int64_t(608)));

// y by the formula in float64: Σ_b d_w·d_x·Σ_j q_w·q_x; mag: Σ_b of each
// term's magnitude (what float rounding of the sum is relative to).
std::vector<double> reference(const std::vector<uint8_t>& w, int64_t rows, int64_t cols,
                              const cpu::Q8Activations& a, std::vector<double>* mag) {
  std::vector<double> y(size_t(a.n * rows));
  mag->assign(y.size(), 0.0);
  const BlockQ8_0* wb = reinterpret_cast<const BlockQ8_0*>(w.data());
  for (int64_t t = 0; t < a.n; ++t)
    for (int64_t r = 0; r < rows; ++r) {
      double acc = 0;
      for (int64_t b = 0; b < cols / 32; ++b) {
        const BlockQ8_0& blk = wb[r * cols / 32 + b];
        int64_t s = 0;
        for (int j = 0; j < 32; ++j) s += int64_t(blk.qs[j]) * a.row_q(t)[b * 32 + j];
        const double term = double(cpu::f16_bits_to_f32(blk.d)) * a.row_d(t)[b] * double(s);
        acc += term;
        (*mag)[size_t(t * rows + r)] += std::fabs(term);
      }
      y[size_t(t * rows + r)] = acc;
    }
  return y;
}

std::vector<float> product(const MatrixRef& w, const cpu::Q8Activations& a, int threads) {
  const int64_t per_thread = cpu::matmul_scratch_floats(w.cols);
  std::vector<float> scratch(size_t(per_thread * threads));
  ExecContext cx;
  cx.n_threads = threads;
  cx.scratch = scratch.data();
  cx.scratch_floats_per_thread = per_thread;
  std::vector<float> y(size_t(a.n * w.rows));
  cpu::matmul_q8_act(w, a, y.data(), cx);
  return y;
}

TEST(Q8Activations, ProductsMatchTheBlockFormulaOnEveryPath) {
  // 2144 columns: a VNNI panel of 2048 and one more with an odd block count;
  // 37 and 67 rows: partial panels; 13 tokens: two 6-token tiles and a tail.
  for (int64_t cols : {32, 64, 544, 2144}) {
    for (int64_t rows : {1, 16, 37, 67}) {
      const std::vector<float> src = rnd(rows * cols, uint32_t(rows * 7 + cols));
      std::vector<uint8_t> w(size_t(rows * dtype_row_bytes(DType::Q8_0, cols)));
      for (int64_t r = 0; r < rows; ++r)
        quantize_row(DType::Q8_0, &src[size_t(r * cols)], &w[size_t(r * dtype_row_bytes(DType::Q8_0, cols))], cols);
      const MatrixRef m{DType::Q8_0, rows, cols, dtype_row_bytes(DType::Q8_0, cols), w.data()};
      for (int64_t n : {1, 2, 13}) {
        const std::vector<float> x = rnd(n * cols, uint32_t(n * 31 + cols), 3.0f);
        Quantized q = quantize(x, n, cols);
        std::vector<double> mag;
        const std::vector<double> ref = reference(w, rows, cols, q.a, &mag);
        std::vector<float> portable;
        for (KernelPath p : kPaths)
          for (bool vnni : {true, false}) {
            ForcedPath f(p);
            if (!f.ok()) continue;
            cpu::allow_vnni(vnni);
            const std::vector<float> y = product(m, q.a, 1), y2 = product(m, q.a, 2);
            cpu::allow_vnni(true);
            const std::string where = std::string(cpu::kernel_path_name(p)) + (vnni ? "" : " without VNNI");
            for (size_t j = 0; j < y.size(); ++j)
              ASSERT_NEAR(y[j], ref[j], 1e-5 * (std::fabs(ref[j]) + 1.0) + 1e-6 * mag[j])
                  << where << " rows=" << rows << " cols=" << cols << " n=" << n;
            EXPECT_EQ(y2, y) << where << ": thread counts differ";
            if (p == KernelPath::Portable) portable = y;
            // Every prefill kernel (VNNI or AVX2's vpmaddubsw) sums blocks in
            // the portable (canonical) order.
            if (n > 1) EXPECT_EQ(y, portable) << where << ": not the canonical order";
          }
      }
    }
  }
}

// The largest pair products an int8 dot product can meet: q_w = -128 next
// to -128 (or 127 to 127) times q_x = ∓127 (activations are clamped to
// ±127), in every row's every pair. Without VNNI, AVX2 adds byte pairs in
// saturating int16 (|q_w|·|q_x| twice: 32512 fits; a q_x of -128 would not).
TEST(Q8Activations, ExtremeBytesDoNotSaturateOnAnyPath) {
  const int64_t rows = 16, cols = 64;
  std::vector<uint8_t> w(size_t(rows * dtype_row_bytes(DType::Q8_0, cols)));
  BlockQ8_0* wb = reinterpret_cast<BlockQ8_0*>(w.data());
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t b = 0; b < cols / 32; ++b) {
      BlockQ8_0& blk = wb[r * cols / 32 + b];
      blk.d = 0x3C00;  // 1.0
      for (int j = 0; j < 32; ++j) blk.qs[j] = static_cast<int8_t>((j / 2 + r) % 2 ? -128 : 127);
    }
  const MatrixRef m{DType::Q8_0, rows, cols, dtype_row_bytes(DType::Q8_0, cols), w.data()};
  for (int64_t n : {1, 5}) {
    std::vector<float> x(size_t(n * cols));
    for (int64_t i = 0; i < n * cols; ++i) x[size_t(i)] = (i % cols / 2) % 2 ? -1.0f : 1.0f;
    Quantized q = quantize(x, n, cols);
    std::vector<double> mag;
    const std::vector<double> ref = reference(w, rows, cols, q.a, &mag);
    // Even rows: every product 127·127 or (-128)·(-127); odd rows the negatives.
    ASSERT_NEAR(ref[0], 2 * (16 * 127.0 * 127 + 16 * 128.0 * 127) / 127, 1e-3);
    for (KernelPath p : kPaths)
      for (bool vnni : {true, false}) {
        ForcedPath f(p);
        if (!f.ok()) continue;
        cpu::allow_vnni(vnni);
        const std::vector<float> y = product(m, q.a, 1);
        cpu::allow_vnni(true);
        for (size_t j = 0; j < y.size(); ++j)
          // A saturated pair (32767 for 32512) would be off by 0.8%.
          EXPECT_NEAR(y[j], ref[j], 1e-6 * mag[j])
              << cpu::kernel_path_name(p) << (vnni ? "" : " without VNNI") << " n=" << n << " output " << j;
      }
  }
}

// ---- bf16 ----------------------------------------------------------------------------

// y by float64 over the rounded values: Σ bf16(w)·bf16(x).
TEST(Bf16Activations, ProductsMatchTheRoundedValuesOnEveryPath) {
  // 40 and 300: a column tail inside a 32-value load and inside a panel; 2100:
  // a 2048-column panel and a tail one; 37 and 67 rows: partial panels; 13
  // tokens: a tile of 8 and a tail.
  for (int64_t cols : {32, 40, 96, 300, 544, 2100}) {
    for (int64_t rows : {1, 16, 37, 67}) {
      const std::vector<float> src = rnd(rows * cols, uint32_t(rows * 5 + cols));
      std::vector<uint16_t> w(size_t(rows * cols));
      for (size_t j = 0; j < w.size(); ++j) w[j] = f32_to_bf16(src[j]);
      const MatrixRef m{DType::BF16, rows, cols, cols * 2, w.data()};
      for (int64_t n : {1, 2, 13}) {
        const std::vector<float> x = rnd(n * cols, uint32_t(n * 17 + cols), 3.0f);
        std::vector<double> ref(size_t(n * rows)), mag(size_t(n * rows));
        for (int64_t t = 0; t < n; ++t)
          for (int64_t r = 0; r < rows; ++r)
            for (int64_t k = 0; k < cols; ++k) {
              const double p = double(bf16_to_f32(w[size_t(r * cols + k)])) *
                               bf16_to_f32(f32_to_bf16(x[size_t(t * cols + k)]));
              ref[size_t(t * rows + r)] += p;
              mag[size_t(t * rows + r)] += std::fabs(p);
            }
        for (KernelPath p : kPaths)
          for (bool dot : {true, false}) {
            ForcedPath f(p);
            if (!f.ok()) continue;
            cpu::allow_bf16_dot(dot);
            auto run = [&](int threads) {
              const int64_t per_thread = cpu::matmul_scratch_floats(cols);
              std::vector<float> scratch(size_t(per_thread * threads));
              std::vector<uint8_t> act(size_t(cpu::bf16_activation_bytes(n, cols)));
              ExecContext cx;
              cx.n_threads = threads;
              cx.scratch = scratch.data();
              cx.scratch_floats_per_thread = per_thread;
              cx.act_dtype = DType::BF16;
              cx.act = act.data();
              cx.act_bytes = int64_t(act.size());
              std::vector<float> y(size_t(n * rows));
              float* yp = y.data();
              cpu::matmul_group(&m, 1, x.data(), n, &yp, cx);
              return y;
            };
            const std::vector<float> y = run(1), y2 = run(2);
            cpu::allow_bf16_dot(true);
            const std::string where = std::string(cpu::kernel_path_name(p)) + (dot ? "" : " without bf16 dot");
            for (size_t j = 0; j < y.size(); ++j)
              ASSERT_NEAR(y[j], ref[j], 1e-6 * mag[j] + 1e-30)
                  << where << " rows=" << rows << " cols=" << cols << " n=" << n << " j=" << j;
            EXPECT_EQ(y2, y) << where << ": thread counts differ";
          }
      }
    }
  }
}

// ---- sessions -------------------------------------------------------------------------

SessionOptions with_act(DType t, int n_threads = 0, int64_t chunk = 64) {
  SessionOptions o;
  o.activation_dtype = t;
  o.n_threads = n_threads;
  o.prefill_chunk = chunk;
  return o;
}

double rel_diff(const float* a, const float* b, int64_t V) {
  return testutil::max_abs_diff(a, b, V) / std::max(testutil::max_abs(b, V), 1e-30);
}

// A model whose large matrices have the weight dtype the option acts on.
Variant variant_for(DType act) {
  for (const Variant& v : testutil::all_variants())
    if (v.dtype == act) return v;
  return {};
}

// Rounding each activation (int8: to 1/254 of its block's largest; bf16: 2^-9
// relative) moves these random models' logits by at most this fraction of
// the row's largest |logit| (measured: q8_0 6.8e-3, bf16 2.6e-3).
double close_to_exact(DType act) { return act == DType::Q8_0 ? 3e-2 : 1e-2; }
// Prefill and steps round the same activations, but a product summed in
// another float order can put a value on the other side of a rounding
// boundary downstream (measured: q8_0 1.0e-3, bf16 6.4e-4).
constexpr double kPrefillVsSteps = 1e-2;

// Switches off the fast instruction (VNNI, vdpbf16ps) for one scope.
class WithoutDotInstruction {
 public:
  explicit WithoutDotInstruction(bool off) {
    cpu::allow_vnni(!off);
    cpu::allow_bf16_dot(!off);
  }
  ~WithoutDotInstruction() {
    cpu::allow_vnni(true);
    cpu::allow_bf16_dot(true);
  }
};

class NarrowActivationSession : public ::testing::TestWithParam<DType> {};

TEST_P(NarrowActivationSession, LogitsStayCloseToTheExactOnes) {
  const DType act = GetParam();
  auto model = testutil::make_model(variant_for(act), 41, 1);
  const int64_t V = model->config().vocab_size, T = 100;
  const auto toks = testutil::random_tokens(T, V, 5);
  Session exact(model, with_act(DType::F32)), narrow(model, with_act(act));
  EXPECT_EQ(narrow.activation_dtype(), act);
  std::vector<float> a(size_t(T * V)), b(size_t(T * V));
  exact.feed(toks.data(), T, nullptr, a.data());
  narrow.feed(toks.data(), T, nullptr, b.data());
  double worst = 0;
  for (int64_t i = 0; i < T; ++i) worst = std::max(worst, rel_diff(&b[size_t(i * V)], &a[size_t(i * V)], V));
  std::printf("  %s activations: worst |diff|/max|row| vs exact = %.3g\n", dtype_name(act), worst);
  EXPECT_LE(worst, close_to_exact(act));
  EXPECT_GT(worst, 0.0) << "the activations were not rounded";
}

TEST_P(NarrowActivationSession, PrefillEqualsStepsAndThreadCountsAgreeBitwise) {
  const DType act = GetParam();
  auto model = testutil::make_model(variant_for(act), 42, 1);
  const int64_t V = model->config().vocab_size, T = 64 * 2 + 5;
  const auto toks = testutil::random_tokens(T, V, 6);
  Session steps(model, with_act(act, 1)), once(model, with_act(act, 1)), twice(model, with_act(act, 2));
  std::vector<float> all1(size_t(T * V)), all2(size_t(T * V));
  once.feed(toks.data(), T, nullptr, all1.data());
  twice.feed(toks.data(), T, nullptr, all2.data());
  EXPECT_EQ(0, std::memcmp(all1.data(), all2.data(), all1.size() * sizeof(float)));
  EXPECT_EQ(testutil::state_of(once), testutil::state_of(twice));
  double worst = 0;
  for (int64_t i = 0; i < T; ++i) {
    steps.feed(&toks[size_t(i)], 1);
    worst = std::max(worst, rel_diff(steps.logits(), &all1[size_t(i * V)], V));
  }
  std::printf("  %s activations: worst prefill vs steps = %.3g\n", dtype_name(act), worst);
  EXPECT_LE(worst, kPrefillVsSteps);
}

TEST_P(NarrowActivationSession, EveryKernelPathAgrees) {
  const DType act = GetParam();
  auto model = testutil::make_model(variant_for(act), 43, 1);
  const int64_t V = model->config().vocab_size, T = 40;
  const auto toks = testutil::random_tokens(T, V, 7);
  std::vector<float> first;
  for (KernelPath p : kPaths)
    for (bool off : {false, true}) {
      ForcedPath f(p);
      if (!f.ok()) continue;
      WithoutDotInstruction w(off);
      Session s(model, with_act(act));
      std::vector<float> all(size_t(T * V));
      s.feed(toks.data(), T, nullptr, all.data());
      s.feed(toks.data(), 1);  // and a decode step
      all.insert(all.end(), s.logits(), s.logits() + V);
      if (first.empty()) {
        first = all;
        continue;
      }
      for (int64_t i = 0; i <= T; ++i)
        ASSERT_LE(rel_diff(&all[size_t(i * V)], &first[size_t(i * V)], V), kPrefillVsSteps)
            << cpu::kernel_path_name(p) << (off ? " without the dot instruction" : "") << " row " << i;
    }
}

TEST_P(NarrowActivationSession, ForksKeepItAndOtherWeightsStayExact) {
  const DType act = GetParam();
  auto model = testutil::make_model(variant_for(act), 44, 1);
  const int64_t V = model->config().vocab_size;
  const auto toks = testutil::random_tokens(30, V, 8);
  Session a(model, with_act(act));
  a.feed(toks.data(), 20);
  auto b = a.fork();
  EXPECT_EQ(b->activation_dtype(), act);
  a.feed(toks.data() + 20, 10);
  b->feed(toks.data() + 20, 10);
  EXPECT_EQ(0, std::memcmp(a.logits(), b->logits(), size_t(V) * sizeof(float)));

  // An f32 model has no q8_0 or bf16 product: the option changes no bit.
  auto f32 = testutil::make_model(testutil::all_variants()[0], 44, 1);
  Session exact(f32, with_act(DType::F32)), opt(f32, with_act(act));
  exact.feed(toks.data(), 30);
  opt.feed(toks.data(), 30);
  EXPECT_EQ(0, std::memcmp(exact.logits(), opt.logits(), size_t(f32->config().vocab_size) * sizeof(float)));
  // The buffer is planned only when asked for.
  EXPECT_GT(opt.memory_bytes(), exact.memory_bytes());
}

INSTANTIATE_TEST_SUITE_P(Dtypes, NarrowActivationSession, ::testing::Values(DType::Q8_0, DType::BF16),
                         [](const ::testing::TestParamInfo<DType>& i) {
                           return std::string(dtype_name(i.param));
                         });

TEST(NarrowActivations, F16ActivationsAreRefused) {
  auto model = testutil::make_model(variant_for(DType::F16), 45, 1);
  try {
    Session s(model, with_act(DType::F16));
    ADD_FAILURE() << "f16 activations were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::Unsupported);
    EXPECT_NE(std::string(e.what()).find("activation_dtype"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace mixcon
