// Every CPU kernel against the plain double-precision loop it replaces, for
// every weight dtype, the AVX2/FMA path against the portable one, and 1
// against 2 threads (bitwise: kernels never split a reduction).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/format/dtype.h"
#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/avx512_math.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/panel_prefetch.h"
#include "kernels/cpu/vec_math.h"
#include "kernel_test_util.h"

namespace mixcon {
namespace {

using cpu::DotFn;

using testutil::rnd;

// A matrix stored as `t`, plus its exact float values.
struct Stored {
  MatrixRef ref;
  std::vector<uint8_t> bytes;
  std::vector<float> values;  // dequantized: what the kernels must compute with
};

Stored make_matrix(DType t, int64_t rows, int64_t cols, uint32_t seed) {
  Stored s;
  std::vector<float> src = rnd(rows * cols, seed);
  const int64_t rb = dtype_row_bytes(t, cols);
  s.bytes.resize(size_t(rows * rb));
  s.values.resize(size_t(rows * cols));
  for (int64_t r = 0; r < rows; ++r) {
    quantize_row(t, &src[size_t(r * cols)], &s.bytes[size_t(r * rb)], cols);
    dequantize_row(t, &s.bytes[size_t(r * rb)], &s.values[size_t(r * cols)], cols);
  }
  s.ref = MatrixRef{t, rows, cols, rb, s.bytes.data()};
  return s;
}

const DType kDtypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0};

struct Scratch {
  std::vector<float> buf;
  ExecContext cx;
  Scratch(int threads, int64_t per_thread) : buf(size_t(threads * per_thread)) {
    cx.n_threads = threads;
    cx.scratch = buf.data();
    cx.scratch_floats_per_thread = per_thread;
  }
};

// ---- dot products -------------------------------------------------------------

TEST(KernelsCpu, DotEveryDtypeEveryPathMatchesReference) {
  for (DType t : kDtypes) {
    for (int64_t n : {1, 7, 8, 9, 31, 32, 33, 64, 96, 100, 1000, 4096}) {
      if (t == DType::Q8_0 && n % 32 != 0) continue;
      Stored m = make_matrix(t, 1, n, uint32_t(n) * 7 + 1);
      std::vector<float> x = rnd(n, uint32_t(n) + 99);
      double ref = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        ref += double(m.values[size_t(i)]) * x[size_t(i)];
        mag += std::fabs(double(m.values[size_t(i)]) * x[size_t(i)]);
      }
      std::vector<DotFn> paths = {cpu::dot_portable(t)};
      if (cpu::dot_avx2(t)) paths.push_back(cpu::dot_avx2(t));
      for (DotFn f : paths) {
        const float got = f(m.bytes.data(), x.data(), n);
        // float32 accumulation: a few ulps of the sum of magnitudes.
        EXPECT_NEAR(got, ref, 1e-6 * mag + 1e-30) << dtype_name(t) << " n=" << n;
      }
      // Read as stored or after dequantizing: bitwise the same float, per path.
      EXPECT_EQ(cpu::dot_portable(t)(m.bytes.data(), x.data(), n),
                cpu::dot_portable(DType::F32)(m.values.data(), x.data(), n))
          << dtype_name(t) << " n=" << n;
      if (cpu::dot_avx2(t))
        EXPECT_EQ(cpu::dot_avx2(t)(m.bytes.data(), x.data(), n),
                  cpu::dot_avx2(DType::F32)(m.values.data(), x.data(), n))
            << dtype_name(t) << " n=" << n;
    }
  }
}

TEST(KernelsCpu, ReportsKernelPath) {
  const std::string path = cpu::cpu_kernel_path();
  EXPECT_TRUE(path == "avx512" || path == "avx2-fma" || path == "portable");
  // Any path but the portable one implies the AVX2 dots exist.
  if (path != "portable") EXPECT_NE(cpu::dot_avx2(DType::F32), nullptr);
}

TEST(KernelsCpu, RowToF32IsExact) {
  for (DType t : kDtypes) {
    Stored m = make_matrix(t, 3, 64, 5);
    std::vector<float> out(64);
    for (int64_t r = 0; r < 3; ++r) {
      cpu::row_to_f32(t, m.bytes.data() + r * m.ref.row_bytes, out.data(), 64);
      EXPECT_EQ(0, std::memcmp(out.data(), &m.values[size_t(r * 64)], 64 * sizeof(float)));
    }
  }
}

// The kernels' inline f16 conversion (branch-free, so loops vectorize) is the
// file format's, bit for bit, for every pattern: zeros, subnormals, inf, NaN
// payloads and signs.
TEST(KernelsCpu, F16ConversionIsTheFormatsOnEveryBitPattern) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float a = cpu::f16_bits_to_f32(uint16_t(h)), b = f16_to_f32(uint16_t(h));
    uint32_t ua, ub;
    std::memcpy(&ua, &a, 4);
    std::memcpy(&ub, &b, 4);
    ASSERT_EQ(ua, ub) << "h=" << h;
  }
}

// ---- matmul -------------------------------------------------------------------------

TEST(KernelsCpu, MatmulAndMatvecEveryDtypeMatchReference) {
  // {40, 2144}: more columns than a prefill panel holds (2048), so the
  // second column range continues the sums the first left in y.
  const int64_t shapes[][2] = {{300, 256}, {301, 100}, {7, 40}, {13, 96}, {40, 2144}};
  for (const auto& shape : shapes)
  for (DType t : kDtypes) {
    const int64_t rows = shape[0], cols = shape[1];
    if (t == DType::Q8_0 && cols % 32 != 0) continue;
    Stored m = make_matrix(t, rows, cols, 17);
    for (int64_t n : {1, 2, 5, 64}) {
      std::vector<float> x = rnd(n * cols, 3);
      std::vector<float> y1(size_t(n * rows)), y2(size_t(n * rows));
      Scratch s1(1, cpu::matmul_scratch_floats(cols)), s2(2, cpu::matmul_scratch_floats(cols));
      cpu::matmul(m.ref, x.data(), n, y1.data(), s1.cx);
      cpu::matmul(m.ref, x.data(), n, y2.data(), s2.cx);
      EXPECT_EQ(0, std::memcmp(y1.data(), y2.data(), y1.size() * sizeof(float)))
          << dtype_name(t) << ": 1 vs 2 threads";
      for (int64_t i = 0; i < n; ++i) {
        std::vector<float> yv(static_cast<size_t>(rows));
        cpu::matvec(m.ref, &x[size_t(i * cols)], yv.data(), 1);
        for (int64_t r = 0; r < rows; ++r) {
          double ref = 0, mag = 0;
          for (int64_t j = 0; j < cols; ++j) {
            const double p = double(m.values[size_t(r * cols + j)]) * x[size_t(i * cols + j)];
            ref += p;
            mag += std::fabs(p);
          }
          const float got = y1[size_t(i * rows + r)];
          ASSERT_NEAR(got, ref, 1e-6 * mag) << dtype_name(t) << " " << rows << "x" << cols << " n=" << n << " r=" << r;
          // Decode (matvec) sums in another order: float rounding apart.
          ASSERT_NEAR(yv[static_cast<size_t>(r)], ref, 1e-6 * mag) << dtype_name(t) << " decode r=" << r;
        }
      }
    }
  }
}

// The prefetch spread over a product's tiles must ask for exactly what the
// next pack reads (a wrong walk costs speed only, so a test has to say it):
// every byte of the next pack's rows and columns lies in a requested line, no
// line lies more than one line outside them, and plan/step/finish issue all.
TEST(KernelsCpu, PanelPrefetchWalksTheNextPack) {
  struct Case { DType t; int64_t rows, cols, r, block, k0, kc, kc_max, next_r, next_k0, next_kc; };
  const Case cases[] = {
      {DType::Q8_0, 100, 1024, 0, 32, 0, 512, 512, 0, 512, 512},      // next columns, same rows
      {DType::Q8_0, 100, 1024, 0, 32, 512, 512, 512, 32, 0, 512},     // next block of rows
      {DType::F16, 70, 600, 32, 32, 512, 88, 256, 64, 0, 256},        // rows clipped at r1
      {DType::F32, 40, 300, 0, 32, 256, 44, 256, 32, 0, 256},         // 8 rows left
      {DType::BF16, 32, 256, 0, 32, 0, 256, 256, 32, 0, 0},           // nothing follows
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(dtype_name(c.t)) + " r=" + std::to_string(c.r) + " k0=" + std::to_string(c.k0));
    const Stored w = make_matrix(c.t, c.rows, c.cols, 7);
    cpu::PanelPrefetch ahead(w.ref, c.r, c.rows, c.block, c.k0, c.kc, c.kc_max);
    const int64_t next_rows = c.next_kc == 0 ? 0 : std::min(c.block, c.rows - c.next_r);
    if (next_rows == 0) {
      EXPECT_EQ(ahead.lines(), 0);
      continue;
    }
    ASSERT_EQ(ahead.lines() % next_rows, 0);
    const int64_t per_row = ahead.lines() / next_rows;
    const int64_t begin = dtype_row_bytes(c.t, c.next_k0), bytes = dtype_row_bytes(c.t, c.next_kc);
    for (int64_t i = 0; i < next_rows; ++i) {
      const char* row = w.ref.row<char>(c.next_r + i);
      std::vector<bool> covered(size_t(bytes), false);
      for (int64_t k = i * per_row; k < (i + 1) * per_row; ++k) {
        const int64_t at = ahead.line(k) - row;
        EXPECT_GE(at, begin - 64);
        EXPECT_LT(at, begin + bytes + 64);
        for (int64_t b = std::max(at, begin); b < std::min(at + 64, begin + bytes); ++b)
          covered[size_t(b - begin)] = true;
      }
      EXPECT_EQ(std::count(covered.begin(), covered.end(), false), 0) << "row " << i;
    }
    for (int64_t steps : {int64_t(0), int64_t(1), int64_t(5), int64_t(1000)}) {
      cpu::PanelPrefetch p(w.ref, c.r, c.rows, c.block, c.k0, c.kc, c.kc_max);
      p.plan(steps);
      for (int64_t s = 0; s < steps; ++s) p.step();
      if (steps > 0) EXPECT_EQ(p.issued(), p.lines()) << steps << " steps";  // all, spread
      p.finish();
      EXPECT_EQ(p.issued(), p.lines());
    }
    cpu::PanelPrefetch half(w.ref, c.r, c.rows, c.block, c.k0, c.kc, c.kc_max);
    half.plan(4);
    half.step();
    half.step();
    EXPECT_LT(half.issued(), half.lines());
    half.finish();
    EXPECT_EQ(half.issued(), half.lines());
  }
}

TEST(KernelsCpu, EmbedEveryDtype) {
  for (DType t : kDtypes) {
    Stored m = make_matrix(t, 50, 64, 23);
    const int32_t toks[] = {0, 49, 7, 7};
    std::vector<float> out(4 * 64);
    cpu::embed(m.ref, toks, 4, out.data(), 2);
    for (int i = 0; i < 4; ++i)
      EXPECT_EQ(0, std::memcmp(&out[size_t(i * 64)], &m.values[size_t(toks[i] * 64)], 64 * sizeof(float)));
  }
}

// ---- elementwise and norms -----------------------------------------------------------

TEST(KernelsCpu, RmsnormMatchesReference) {
  const int64_t n = 5, d = 1000;
  std::vector<float> x = rnd(n * d, 1, 3.0f), g = rnd(d, 2), y(size_t(n * d)), y2(size_t(n * d));
  cpu::rmsnorm(x.data(), g.data(), n, d, 1e-6f, y.data(), 1);
  cpu::rmsnorm(x.data(), g.data(), n, d, 1e-6f, y2.data(), 2);
  EXPECT_EQ(y, y2);
  for (int64_t i = 0; i < n; ++i) {
    double ss = 0;
    for (int64_t j = 0; j < d; ++j) ss += double(x[size_t(i * d + j)]) * x[size_t(i * d + j)];
    const double inv = 1.0 / std::sqrt(ss / d + 1e-6);
    for (int64_t j = 0; j < d; ++j) {
      const double ref = x[size_t(i * d + j)] * inv * g[size_t(j)];
      ASSERT_NEAR(y[size_t(i * d + j)], ref, 1e-6 * (1 + std::fabs(ref)));
    }
  }
}

TEST(KernelsCpu, SwigluAndAdd) {
  const int64_t n = 3000;
  std::vector<float> a = rnd(n, 1, 30.0f), b = rnd(n, 2), out(static_cast<size_t>(n));
  cpu::swiglu(a.data(), b.data(), out.data(), n, 2);
  for (int64_t i = 0; i < n; ++i) {
    const double g = a[size_t(i)], ref = g / (1 + std::exp(-g)) * b[size_t(i)];
    ASSERT_NEAR(out[size_t(i)], ref, 1e-6 * (1 + std::fabs(ref)));
  }
  std::vector<float> y = a;
  cpu::add(y.data(), b.data(), n, 2);
  for (int64_t i = 0; i < n; ++i) ASSERT_EQ(y[size_t(i)], a[size_t(i)] + b[size_t(i)]);
}

TEST(KernelsCpu, SoftplusIsOverflowSafe) {
  EXPECT_EQ(cpu::softplusf(1000.0f), 1000.0f);
  EXPECT_EQ(cpu::softplusf(20.5f), 20.5f);
  EXPECT_NEAR(cpu::softplusf(0.0f), std::log(2.0), 1e-7);
  EXPECT_NEAR(cpu::softplusf(-30.0f), std::exp(-30.0), 1e-18);
  EXPECT_TRUE(std::isfinite(cpu::sigmoidf(-1000.0f)));
}

TEST(KernelsCpu, RopeMatchesReference) {
  const int64_t n = 4, heads = 3, hd = 16, stride = heads * hd + 5;
  std::vector<float> x = rnd(n * stride, 4), y = x;
  const int64_t pos0 = 1000;
  cpu::rope(y.data(), n, stride, heads, hd, pos0, 10000.0, 2);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < hd / 2; ++j) {
        const double th = double(pos0 + i) * std::pow(10000.0, -2.0 * j / hd);
        const double a = x[size_t(i * stride + h * hd + j)], b = x[size_t(i * stride + h * hd + j + hd / 2)];
        EXPECT_NEAR(y[size_t(i * stride + h * hd + j)], a * std::cos(th) - b * std::sin(th), 1e-6);
        EXPECT_NEAR(y[size_t(i * stride + h * hd + j + hd / 2)], a * std::sin(th) + b * std::cos(th), 1e-6);
      }
  // The padding after the heads is untouched.
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = heads * hd; j < stride; ++j) EXPECT_EQ(y[size_t(i * stride + j)], x[size_t(i * stride + j)]);
}

// ---- attention -----------------------------------------------------------------------

// Packed rows: q and out [n, H·hd], k and v [pos0+n, G·hd].
AttentionArgs attention_args(int64_t n, int64_t pos0, int64_t H, int64_t G, int64_t hd,
                             const std::vector<float>& q, const std::vector<float>& k,
                             const std::vector<float>& v, std::vector<float>& out) {
  AttentionArgs a;
  a.n_tokens = n;
  a.pos0 = pos0;
  a.n_heads = H;
  a.n_kv_heads = G;
  a.head_dim = hd;
  a.q = q.data();
  a.q_stride = H * hd;
  a.k_cache = k.data();
  a.v_cache = v.data();
  a.kv_stride = G * hd;
  a.kv_head_stride = hd;
  a.out = out.data();
  a.out_stride = H * hd;
  return a;
}

// Scratch floats per thread that cpu::attention needs.
int64_t attention_scratch(int64_t hd) { return cpu::kAttentionScratchRows * hd; }

TEST(KernelsCpu, AttentionMatchesReferenceWithGqa) {
  const int64_t H = 4, G = 2, hd = 16, pos0 = 37, n = 6, kvd = G * hd;
  std::vector<float> q = rnd(n * H * hd, 1, 2.0f), k = rnd((pos0 + n) * kvd, 2, 2.0f), v = rnd((pos0 + n) * kvd, 3);
  std::vector<float> out1(size_t(n * H * hd)), out2(out1.size());
  AttentionArgs a = attention_args(n, pos0, H, G, hd, q, k, v, out1);
  Scratch s1(1, attention_scratch(hd)), s2(2, attention_scratch(hd));
  cpu::attention(a, s1.cx);
  a.out = out2.data();
  cpu::attention(a, s2.cx);
  EXPECT_EQ(out1, out2);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t h = 0; h < H; ++h) {
      const int64_t j = h / (H / G);
      std::vector<double> sc;
      double mx = -1e300;
      for (int64_t s = 0; s <= pos0 + i; ++s) {
        double d = 0;
        for (int64_t e = 0; e < hd; ++e) d += double(q[size_t(i * H * hd + h * hd + e)]) * k[size_t(s * kvd + j * hd + e)];
        sc.push_back(d / std::sqrt(double(hd)));
        mx = std::max(mx, sc.back());
      }
      double sum = 0;
      for (double& x : sc) sum += (x = std::exp(x - mx));
      for (int64_t e = 0; e < hd; ++e) {
        double ref = 0;
        for (size_t s = 0; s < sc.size(); ++s) ref += sc[s] / sum * v[s * size_t(kvd) + size_t(j * hd + e)];
        ASSERT_NEAR(out1[size_t(i * H * hd + h * hd + e)], ref, 2e-6);
      }
    }
}

// A chunk's queries walk the cache in tiles; every query must come out
// bitwise as if it had been fed alone (decode), across tile and key-block
// edges.
TEST(KernelsCpu, AttentionChunkEqualsOneQueryAtATimeBitwise) {
  const int64_t H = 4, G = 2, hd = 32, pos0 = 100, n = 2 * cpu::kAttentionQueryTile + 7,
                kvd = G * hd;
  std::vector<float> q = rnd(n * H * hd, 5, 2.0f), k = rnd((pos0 + n) * kvd, 6, 2.0f),
                     v = rnd((pos0 + n) * kvd, 7);
  std::vector<float> chunk(size_t(n * H * hd)), single(chunk.size());
  AttentionArgs a = attention_args(n, pos0, H, G, hd, q, k, v, chunk);
  Scratch s(2, attention_scratch(hd));
  cpu::attention(a, s.cx);
  for (int64_t i = 0; i < n; ++i) {
    AttentionArgs one = a;
    one.n_tokens = 1;
    one.pos0 = pos0 + i;
    one.q = q.data() + i * H * hd;
    one.out = single.data() + i * H * hd;
    cpu::attention(one, s.cx);
  }
  EXPECT_EQ(0, std::memcmp(chunk.data(), single.data(), chunk.size() * sizeof(float)));
}

// An f16/bf16/q8_0 cache is widened exactly as it is read (in registers for
// the few queries of a decode step, once per key block for a chunk):
// attention over it equals, bitwise, attention over an f32 cache holding the
// rounded values — for a decode step of 8 heads per KV head (four pairs; a
// q8_0 cache widened per block), of 4 (two pairs), of 3 (a pair and one) and
// of 1, and for a prefill chunk.
TEST(KernelsCpu, AttentionOverANarrowCacheEqualsTheF32CacheOfItsValues) {
  for (int64_t H : {16, 8, 6, 2}) {
    for (DType t : {DType::F16, DType::BF16, DType::Q8_0}) {
      const int64_t G = 2, hd = 64, pos0 = 150, n = 21, kvd = G * hd, rows = pos0 + n;
      std::vector<float> q = rnd(n * H * hd, 11, 2.0f), k = rnd(rows * kvd, 12, 2.0f),
                         v = rnd(rows * kvd, 13);
      SCOPED_TRACE(std::string(dtype_name(t)) + " heads " + std::to_string(H));
      std::vector<uint8_t> kn(size_t(dtype_row_bytes(t, int64_t(k.size())))), vn(kn.size());
      quantize_row(t, k.data(), kn.data(), int64_t(k.size()));
      quantize_row(t, v.data(), vn.data(), int64_t(v.size()));
      std::vector<float> kw(k.size()), vw(v.size());
      dequantize_row(t, kn.data(), kw.data(), int64_t(k.size()));
      dequantize_row(t, vn.data(), vw.data(), int64_t(v.size()));
      ASSERT_NE(kw, k) << "rounding changed nothing: the test would prove nothing";
      std::vector<float> wide(size_t(n * H * hd)), narrow(wide.size());
      Scratch s(2, attention_scratch(hd));
      for (int64_t tokens : {int64_t{1}, n}) {
        AttentionArgs a = attention_args(tokens, rows - tokens, H, G, hd, q, kw, vw, wide);
        cpu::attention(a, s.cx);
        a.k_cache = kn.data();
        a.v_cache = vn.data();
        a.kv_dtype = t;
        a.out = narrow.data();
        cpu::attention(a, s.cx);
        EXPECT_EQ(0,
                  std::memcmp(wide.data(), narrow.data(), size_t(tokens * H * hd) * sizeof(float)))
            << tokens << " tokens";
      }
    }
  }
}

// store_kv puts each token's heads into the head-major cache at its
// position, rounded like quantize_row, and touches nothing else; attention
// over that layout equals attention over token-major rows bitwise.
TEST(KernelsCpu, StoreKvFillsTheHeadMajorCacheAndAttentionReadsIt) {
  const int64_t H = 4, G = 2, hd = 32, ctx = 40, pos0 = 7, n = 9, kvd = G * hd;
  const std::vector<float> rows = rnd(n * kvd, 21, 3.0f);
  for (DType t : {DType::F32, DType::F16, DType::BF16}) {
    SCOPED_TRACE(dtype_name(t));
    const int64_t eb = dtype_row_bytes(t, 1);
    std::vector<uint8_t> cache(size_t(G * ctx * hd * eb), 0xAB), want = cache;
    cpu::store_kv(rows.data(), n, G, hd, pos0, ctx * hd, t, cache.data());
    for (int64_t g = 0; g < G; ++g)
      for (int64_t i = 0; i < n; ++i)
        quantize_row(t, &rows[size_t((i * G + g) * hd)], &want[size_t((g * ctx + pos0 + i) * hd * eb)], hd);
    EXPECT_EQ(cache, want);
  }
  // The same keys and values token-major and head-major.
  const int64_t keys = pos0 + n;
  const std::vector<float> q = rnd(n * H * hd, 22), k = rnd(keys * kvd, 23), v = rnd(keys * kvd, 24);
  std::vector<float> kh(size_t(G * ctx * hd)), vh(kh.size());
  cpu::store_kv(k.data(), keys, G, hd, 0, ctx * hd, DType::F32, kh.data());
  cpu::store_kv(v.data(), keys, G, hd, 0, ctx * hd, DType::F32, vh.data());
  std::vector<float> rowwise(size_t(n * H * hd)), headwise(rowwise.size());
  Scratch s(2, attention_scratch(hd));
  AttentionArgs a = attention_args(n, pos0, H, G, hd, q, k, v, rowwise);
  cpu::attention(a, s.cx);
  a.k_cache = kh.data();
  a.v_cache = vh.data();
  a.kv_stride = hd;
  a.kv_head_stride = ctx * hd;
  a.out = headwise.data();
  cpu::attention(a, s.cx);
  EXPECT_EQ(rowwise, headwise);
}

// ---- conv and scan ---------------------------------------------------------------------

TEST(KernelsCpu, CausalConvChunkEqualsStepsAndReference) {
  // Two channel blocks, one partial; K = 11 is more taps than one transposed group.
  for (const int64_t K : {int64_t{4}, int64_t{11}}) {
    SCOPED_TRACE(K);
    const int64_t C = 100, n = 9, xs = 2 * C;
    std::vector<float> x = rnd(n * xs, 1), w = rnd(C * K, 2), b = rnd(C, 3);
    std::vector<float> win_chunk = rnd((K - 1) * C, 4), win_step = win_chunk, win0 = win_chunk;
    std::vector<float> out_chunk(size_t(n * C)), out_step(size_t(n * C));
    CausalConvArgs a;
    a.channels = C;
    a.kernel = K;
    a.w = w.data();
    a.b = b.data();
    a.n_tokens = n;
    a.x = x.data();
    a.x_stride = xs;
    a.window = win_chunk.data();
    a.out = out_chunk.data();
    cpu::causal_conv(a, 2);
    for (int64_t t = 0; t < n; ++t) {
      a.n_tokens = 1;
      a.x = &x[size_t(t * xs)];
      a.window = win_step.data();
      a.out = &out_step[size_t(t * C)];
      cpu::causal_conv(a, 1);
  }
  EXPECT_EQ(out_chunk, out_step);
  EXPECT_EQ(win_chunk, win_step);
  // Reference: the sequence is the initial window followed by x.
  auto seq = [&](int64_t p, int64_t c) -> double {  // p: index in window ++ x
    return p < K - 1 ? win0[size_t(p * C + c)] : x[size_t((p - (K - 1)) * xs + c)];
  };
  for (int64_t t = 0; t < n; ++t)
    for (int64_t c = 0; c < C; ++c) {
      double acc = b[size_t(c)];
      for (int64_t j = 0; j < K; ++j) acc += w[size_t(c * K + j)] * seq(t + j, c);
      const double ref = acc / (1 + std::exp(-acc));
      ASSERT_NEAR(out_chunk[size_t(t * C + c)], ref, 1e-6);
    }
  for (int64_t j = 0; j < K - 1; ++j)
    for (int64_t c = 0; c < C; ++c) EXPECT_EQ(win_chunk[size_t(j * C + c)], seq(n + j, c));
  }
}

struct ScanCase {
  bool scaling, delay, control;
  int64_t ring;
};

// One scan case on the kernel path in force: a chunk on 2 threads equals its
// tokens one by one on 1 thread bitwise, and a float64 reference within 1e-5.
void check_scan(const ScanCase& sc, int64_t D, int64_t N) {
  const int64_t n = 11, zs = 2 * D;
  const int64_t ring = sc.delay ? sc.ring : 1;
  std::vector<float> u = rnd(n * D, 1), dt = rnd(n * D, 2), B = rnd(n * N, 3), C = rnd(n * N, 4);
  std::vector<float> s_raw = rnd(n * D, 5), z = rnd(n * zs, 6);
  std::vector<float> dt_bias = rnd(D, 7), A(size_t(D * N)), dskip = rnd(D, 8), sbias = rnd(D, 9, 2.0f);
  for (int64_t i = 0; i < D * N; ++i) A[size_t(i)] = -float(i % N + 1) * 0.5f;
  std::vector<float> rho(static_cast<size_t>(D)), wref = rnd(D, 10), lam(static_cast<size_t>(D)), eta(static_cast<size_t>(D)), gain0(static_cast<size_t>(D));
  for (int64_t i = 0; i < D; ++i) {
    rho[size_t(i)] = 0.05f + 0.01f * float(i % 10);
    lam[size_t(i)] = 0.8f + 0.005f * float(i % 10);
    eta[size_t(i)] = 0.1f + 0.01f * float(i % 5);
    gain0[size_t(i)] = 0.1f;
  }
  auto args = [&](float* ring_buf, float* gain, float* err, float* en, float* out) {
    ConbaScanArgs a;
    a.d_inner = D;
    a.d_state = N;
    a.ring = ring;
    a.u = u.data();
    a.dt_raw = dt.data();
    a.B = B.data();
    a.C = C.data();
    a.scale_raw = sc.scaling ? s_raw.data() : nullptr;
    a.z = z.data();
    a.z_stride = zs;
    a.dt_bias = dt_bias.data();
    a.a = A.data();
    a.d_skip = dskip.data();
    a.scale_bias = sc.scaling ? sbias.data() : nullptr;
    a.rho = sc.delay ? rho.data() : nullptr;
    a.w_ref = sc.control ? wref.data() : nullptr;
    a.lambda = sc.control ? lam.data() : nullptr;
    a.eta = sc.control ? eta.data() : nullptr;
    a.h_ring = ring_buf;
    a.gain = gain;
    a.err = err;
    a.err_norm = en;
    a.out = out;
    return a;
  };
  const int64_t slots = ring + 1;
  // Chunk, 2 threads.
  std::vector<float> ring_c(size_t(slots * D * N), 0.0f), gain_c = gain0, err(size_t(n * D)), en(static_cast<size_t>(n)), out_c(size_t(n * D));
  ConbaScanArgs a = args(ring_c.data(), gain_c.data(), err.data(), en.data(), out_c.data());
  a.n_tokens = n;
  a.head = 0;
  cpu::conba_scan(a, 2);
  // Steps, 1 thread.
  std::vector<float> ring_s(size_t(slots * D * N), 0.0f), gain_s = gain0, out_s(size_t(n * D));
  int64_t head = 0;
  for (int64_t t = 0; t < n; ++t) {
    ConbaScanArgs b = args(ring_s.data(), gain_s.data(), err.data(), en.data(), &out_s[size_t(t * D)]);
    b.n_tokens = 1;
    b.head = head;
    b.u += t * D;
    b.dt_raw += t * D;
    b.B += t * N;
    b.C += t * N;
    if (b.scale_raw) b.scale_raw += t * D;
    b.z += t * zs;
    cpu::conba_scan(b, 1);
    head = (head + 1) % slots;
  }
  EXPECT_EQ(out_c, out_s);
  EXPECT_EQ(ring_c, ring_s);
  EXPECT_EQ(gain_c, gain_s);

  // Double reference of MODEL.md §4 (4)-(9).
  std::vector<std::vector<double>> hist;  // h_{t-1}, h_{t-2}, ...
  std::vector<double> k(gain0.begin(), gain0.end());
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  for (int64_t t = 0; t < n; ++t) {
    std::vector<double> h(size_t(D * N)), y(static_cast<size_t>(D));
    for (int64_t i = 0; i < D; ++i) {
      const double d = std::log1p(std::exp(double(dt[size_t(t * D + i)]) + dt_bias[size_t(i)]));
      const double s = sc.scaling ? sig(double(s_raw[size_t(t * D + i)]) + sbias[size_t(i)]) : 1.0;
      const double r = sc.delay ? rho[size_t(i)] : 0.0;
      const double uu = u[size_t(t * D + i)];
      for (int64_t m = 0; m < N; ++m) {
        const size_t q = size_t(i * N + m);
        const double h1 = hist.size() >= 1 ? hist[0][q] : 0.0;
        const double ht = int64_t(hist.size()) >= ring ? hist[size_t(ring - 1)][q] : 0.0;
        h[q] = s * std::exp(d * A[q]) * ((1 - r) * h1 + r * ht) + d * B[size_t(t * N + m)] * uu;
        y[size_t(i)] += C[size_t(t * N + m)] * h[q];
      }
      y[size_t(i)] += dskip[size_t(i)] * uu;
    }
    if (sc.control) {
      double ss = 0;
      std::vector<double> e(static_cast<size_t>(D));
      for (int64_t i = 0; i < D; ++i) {
        e[size_t(i)] = wref[size_t(i)] * double(u[size_t(t * D + i)]) - y[size_t(i)];
        ss += e[size_t(i)] * e[size_t(i)];
      }
      for (int64_t i = 0; i < D; ++i) {
        k[size_t(i)] = lam[size_t(i)] * k[size_t(i)] + eta[size_t(i)] * std::sqrt(ss / D);
        y[size_t(i)] += k[size_t(i)] * e[size_t(i)];
      }
    }
    for (int64_t i = 0; i < D; ++i) {
      const double zz = z[size_t(t * zs + i)];
      const double ref = y[size_t(i)] * zz * sig(zz);
      ASSERT_NEAR(out_c[size_t(t * D + i)], ref, 1e-5 * (1 + std::fabs(ref))) << "t=" << t << " i=" << i;
    }
    hist.insert(hist.begin(), h);
  }
}

class ConbaScanTest : public ::testing::TestWithParam<ScanCase> {};

// Every kernel path this CPU has; sizes with and without tails of the
// AVX-512 path's 16-channel blocks and 16-lane state vectors.
TEST_P(ConbaScanTest, ChunkEqualsStepsAndReference) {
  for (cpu::KernelPath p : {cpu::KernelPath::Portable, cpu::KernelPath::Avx2, cpu::KernelPath::Avx512}) {
    if (!cpu::force_kernel_path(p)) continue;
    for (auto [D, N] : {std::pair<int64_t, int64_t>{24, 8}, {32, 16}, {19, 20}, {5, 33}}) {
      SCOPED_TRACE(std::string(cpu::kernel_path_name(p)) + " D=" + std::to_string(D) +
                   " N=" + std::to_string(N));
      check_scan(GetParam(), D, N);
    }
  }
  cpu::clear_forced_kernel_path();
}

INSTANTIATE_TEST_SUITE_P(Features, ConbaScanTest,
                         ::testing::Values(ScanCase{true, true, true, 2}, ScanCase{true, true, true, 3},
                                           ScanCase{true, true, true, 1}, ScanCase{false, false, false, 2},
                                           ScanCase{false, true, true, 2}, ScanCase{true, false, true, 2},
                                           ScanCase{true, true, false, 2}));

// ---- MoE routing and dispatch helpers -----------------------------------------------------

TEST(KernelsCpu, MoeRouteTopKTiesLowerIndexWins) {
  const float logits[] = {0.5f, 2.0f, 2.0f, -1.0f, 2.0f,   // ties among 1, 2, 4
                          3.0f, 3.0f, 3.0f, 3.0f, 3.0f};  // all equal
  int32_t ids[4];
  float w[4];
  cpu::moe_route(logits, 2, 5, 2, ids, w);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 2);
  EXPECT_FLOAT_EQ(w[0], 0.5f);
  EXPECT_FLOAT_EQ(w[1], 0.5f);
  EXPECT_EQ(ids[2], 0);
  EXPECT_EQ(ids[3], 1);

  const float l2[] = {1.0f, 3.0f, 0.0f, 2.0f};
  cpu::moe_route(l2, 1, 4, 2, ids, w);
  EXPECT_EQ(ids[0], 1);  // ascending expert order
  EXPECT_EQ(ids[1], 3);
  EXPECT_NEAR(w[0], std::exp(3.0) / (std::exp(3.0) + std::exp(2.0)), 1e-6);
  EXPECT_NEAR(w[1], std::exp(2.0) / (std::exp(3.0) + std::exp(2.0)), 1e-6);
}

TEST(KernelsCpu, GatherScatterRows) {
  const int64_t d = 300;
  std::vector<float> src = rnd(5 * d, 1), dst(size_t(3 * d));
  const int32_t rows[] = {4, 0, 4};
  cpu::gather_rows(src.data(), d, rows, 3, dst.data(), 2);
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(0, std::memcmp(&dst[size_t(i * d)], &src[size_t(rows[i] * d)], size_t(d) * sizeof(float)));
  std::vector<float> acc = rnd(5 * d, 2), acc0 = acc;
  const float scale[] = {0.5f, 2.0f, -1.0f};
  cpu::scatter_add_rows(dst.data(), d, rows, scale, 3, acc.data(), 2);
  for (int64_t j = 0; j < d; ++j) {
    EXPECT_EQ(acc[size_t(0 * d + j)], acc0[size_t(j)] + 2.0f * dst[size_t(d + j)]);
    EXPECT_EQ(acc[size_t(4 * d + j)], (acc0[size_t(4 * d + j)] + 0.5f * dst[size_t(j)]) + -1.0f * dst[size_t(2 * d + j)]);
    EXPECT_EQ(acc[size_t(2 * d + j)], acc0[size_t(2 * d + j)]);
  }
}

}  // namespace
}  // namespace mixcon

namespace mixcon {
namespace {

TEST(KernelsCpu, ExpApproxWithinTwoUlp) {
  double worst = 0;
  for (float x = -87.0f; x < 88.0f; x += 0.00731f) {
    const double ref = std::exp(double(x));
    const double got = cpu::exp_approx(x);
    worst = std::max(worst, std::fabs(got - ref) / ref);
  }
  EXPECT_LT(worst, 2.5e-7);  // 2 ulp of float at worst
  EXPECT_GT(cpu::exp_approx(-1000.0f), 0.0f);
  EXPECT_LT(cpu::exp_approx(-1000.0f), 1e-37f);
  EXPECT_TRUE(std::isfinite(cpu::exp_approx(1000.0f)));
  EXPECT_EQ(cpu::exp_approx(0.0f), 1.0f);
}

// The scan's decay e^(Δ·A) = 2^((Δ·log2 e)·A): the fitted polynomial holds
// 1.9e-7 relative over the whole range, and the clamp keeps 2^x a normal,
// finite float (no denormal ever reaches the state).
TEST(KernelsCpu, Exp2ApproxWithinTwoUlp) {
  double worst = 0;
  for (float x = -126.0f; x <= 127.0f; x += 0.00377f) {
    const double ref = std::exp2(double(x));
    worst = std::max(worst, std::fabs(cpu::exp2_approx(x) - ref) / ref);
  }
  EXPECT_LT(worst, 2.5e-7);
  EXPECT_EQ(cpu::exp2_approx(0.0f), 1.0f);
  EXPECT_EQ(cpu::exp2_approx(-3.0f), 0.125f);
  EXPECT_EQ(cpu::exp2_approx(-1000.0f), std::numeric_limits<float>::min());  // 2^-126
  EXPECT_TRUE(std::isfinite(cpu::exp2_approx(1000.0f)));
}

// The vector math of the SIMD paths (avx512_math.h, avx2_math.h) against
// double, over the ranges the scan and gates feed them.
enum class VecFn { Exp, Exp2, Softplus, Sigmoid, Silu };

#ifdef MIXCON_HAVE_AVX512_PATH
MIXCON_AVX512 void eval_avx512(VecFn f, const float* in, float* out, int64_t n) {
  for (int64_t i = 0; i + 16 <= n; i += 16) {
    const __m512 x = _mm512_loadu_ps(in + i);
    const __m512 y = f == VecFn::Exp        ? cpu::avx512::exp(x)
                     : f == VecFn::Exp2     ? cpu::avx512::exp2(x)
                     : f == VecFn::Softplus ? cpu::avx512::softplus(x)
                     : f == VecFn::Sigmoid  ? cpu::avx512::sigmoid(x)
                                            : cpu::avx512::silu(x);
    _mm512_storeu_ps(out + i, y);
  }
}
#endif
#ifdef MIXCON_HAVE_AVX2_PATH
MIXCON_AVX2_FN void eval_avx2(VecFn f, const float* in, float* out, int64_t n) {
  for (int64_t i = 0; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(in + i);
    const __m256 y = f == VecFn::Exp        ? cpu::avx2::exp(x)
                     : f == VecFn::Exp2     ? cpu::avx2::exp2(x)
                     : f == VecFn::Softplus ? cpu::avx2::softplus(x)
                     : f == VecFn::Sigmoid  ? cpu::avx2::sigmoid(x)
                                            : cpu::avx2::silu(x);
    _mm256_storeu_ps(out + i, y);
  }
}
#endif

TEST(KernelsCpu, VectorMathMatchesDouble) {
  std::vector<float> in;
  for (float x = -87.0f; x < 88.0f; x += 0.01173f) in.push_back(x);
  for (float x : {-1e4f, -100.0f, -20.0f, -1e-8f, 0.0f, 1e-8f, 19.99f, 20.0f, 20.01f, 1e4f}) in.push_back(x);
  while (in.size() % 16) in.push_back(0.5f);
  const auto ref = [](VecFn f, double x) {
    switch (f) {
      case VecFn::Exp: return std::exp(std::min(std::max(x, double(-87.3f)), double(88.3f)));
      case VecFn::Exp2: return std::exp2(std::min(std::max(x, -126.0), 127.0));
      case VecFn::Softplus: return x > 20 ? x : std::log1p(std::exp(x));
      case VecFn::Sigmoid: return 1 / (1 + std::exp(-x));
      default: return x / (1 + std::exp(-x));
    }
  };
  struct Path {
    const char* name;
    cpu::KernelPath path;
    void (*eval)(VecFn, const float*, float*, int64_t);
  };
  std::vector<Path> paths;
#ifdef MIXCON_HAVE_AVX512_PATH
  paths.push_back({"avx512", cpu::KernelPath::Avx512, eval_avx512});
#endif
#ifdef MIXCON_HAVE_AVX2_PATH
  paths.push_back({"avx2", cpu::KernelPath::Avx2, eval_avx2});
#endif
  int tested = 0;
  for (const Path& p : paths) {
    if (!cpu::cpu_supports(p.path)) continue;
    ++tested;
    for (VecFn f : {VecFn::Exp, VecFn::Exp2, VecFn::Softplus, VecFn::Sigmoid, VecFn::Silu}) {
      std::vector<float> out(in.size());
      p.eval(f, in.data(), out.data(), int64_t(in.size()));
      for (size_t i = 0; i < in.size(); ++i) {
        const double want = ref(f, in[i]), got = out[i];
        ASSERT_TRUE(std::isfinite(got)) << p.name << " fn " << int(f) << " x=" << in[i];
        // Relative 1e-6 (a few ulp), or absolute 1e-30 where the true value
        // underflows: exp clamps at -87.3 (≈1e-38, no denormals), so e.g.
        // SiLU(-1e4) is -4e-35 instead of -0.
        ASSERT_LE(std::fabs(got - want), 1e-6 * std::fabs(want) + 1e-30)
            << p.name << " fn " << int(f) << " x=" << in[i] << " got " << got << " want " << want;
      }
    }
  }
  if (tested == 0) GTEST_SKIP() << "this CPU has neither AVX2/FMA nor AVX-512";
}

}  // namespace
}  // namespace mixcon
