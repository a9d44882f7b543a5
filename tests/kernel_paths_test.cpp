// Every CPU kernel path this machine has (portable, AVX2/FMA, AVX-512),
// forced one at a time: its matrix products agree with a float64 reference
// for every weight dtype, give the same bits for 1 and 2 threads, and the
// whole engine still meets the golden vectors (MODEL.md §5's 1e-4) by
// decode and by prefill.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/format/dtype.h"
#include "core/format/model_file.h"
#include "core/model/model.h"
#include "core/session/session.h"
#include "kernels/cpu/cpu_features.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/matmul_group.h"
#include "kernel_test_util.h"

namespace mixcon {
namespace {

using cpu::KernelPath;

const KernelPath kPaths[] = {KernelPath::Portable, KernelPath::Avx2, KernelPath::Avx512};
const DType kDtypes[] = {DType::F32, DType::F16, DType::BF16, DType::Q8_0};

using testutil::ForcedPath;
using testutil::rnd;

struct Stored {
  MatrixRef ref;
  std::vector<uint8_t> bytes;
  std::vector<float> values;
};

Stored make_matrix(DType t, int64_t rows, int64_t cols, uint32_t seed) {
  Stored s;
  const std::vector<float> src = rnd(rows * cols, seed);
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

// y[n, rows] through the backend-facing entry point (n == 1: decode).
std::vector<float> product(const Stored& m, const std::vector<float>& x, int64_t n, int threads) {
  const int64_t per_thread = cpu::matmul_scratch_floats(m.ref.cols);
  std::vector<float> scratch(size_t(per_thread * threads));
  ExecContext cx;
  cx.n_threads = threads;
  cx.scratch = scratch.data();
  cx.scratch_floats_per_thread = per_thread;
  std::vector<float> y(size_t(n * m.ref.rows));
  cpu::matmul(m.ref, x.data(), n, y.data(), cx);
  return y;
}

TEST(KernelPaths, PortableAlwaysAvailableAndBestIsSupported) {
  EXPECT_TRUE(cpu::cpu_supports(KernelPath::Portable));
  EXPECT_TRUE(cpu::cpu_supports(cpu::best_kernel_path()));
  for (KernelPath p : kPaths) {
    ForcedPath f(p);
    EXPECT_EQ(f.ok(), cpu::cpu_supports(p)) << cpu::kernel_path_name(p);
    if (f.ok()) EXPECT_EQ(cpu::kernel_path(), p);
  }
}

// The AVX2 and AVX-512 prefill products run one template (gemm_panel_simd.h)
// at two widths: each output is the same k-order sum, so the same bits.
TEST(KernelPaths, MatmulEveryPathEveryDtypeMatchesPortable) {
  for (DType t : kDtypes) {
    // 40 and 300: a column tail inside a 16-wide step and inside the prefill's
    // column block (q8_0 rows are whole 32-value blocks); 2100: two column
    // blocks (2048 + 52).
    for (int64_t cols : {32, 40, 64, 96, 300, 1024, 2100}) {
      if (t == DType::Q8_0 && cols % 32 != 0) continue;
      for (int64_t rows : {1, 5, 16, 67}) {
        Stored m = make_matrix(t, rows, cols, uint32_t(rows * 131 + cols));
        // 13 tokens: tiles of 6 (AVX2) or 8 (AVX-512) and a tail.
        for (int64_t n : {1, 3, 4, 9, 13}) {
          const std::vector<float> x = rnd(n * cols, uint32_t(n * 7 + cols));
          std::vector<double> ref(size_t(n * rows)), mag(size_t(n * rows));
          for (int64_t i = 0; i < n; ++i)
            for (int64_t r = 0; r < rows; ++r)
              for (int64_t k = 0; k < cols; ++k) {
                const double p = double(m.values[size_t(r * cols + k)]) * x[size_t(i * cols + k)];
                ref[size_t(i * rows + r)] += p;
                mag[size_t(i * rows + r)] += std::fabs(p);
              }
          std::vector<float> avx2;
          for (KernelPath p : kPaths) {
            ForcedPath f(p);
            if (!f.ok()) continue;
            const std::vector<float> y = product(m, x, n, 1);
            for (size_t j = 0; j < y.size(); ++j)
              ASSERT_NEAR(y[j], ref[j], 1e-6 * mag[j] + 1e-30)
                  << cpu::kernel_path_name(p) << " " << dtype_name(t) << " rows=" << rows
                  << " cols=" << cols << " n=" << n << " j=" << j;
            if (p == KernelPath::Avx2) avx2 = y;
            if (p == KernelPath::Avx512 && n > 1 && !avx2.empty())
              EXPECT_EQ(y, avx2) << "AVX2 and AVX-512 prefill differ: " << dtype_name(t) << " rows=" << rows
                                 << " cols=" << cols << " n=" << n;
          }
        }
      }
    }
  }
}

// A group of products of one input (matmul_group: q, k, v; gate and up) gives
// each product exactly what it gives alone, on every path, for 1 and 2
// threads, exact or with either kind of narrow activations (which then
// apply to the products whose weights have that dtype only).
TEST(KernelPaths, MatmulGroupEqualsItsProductsBitwise) {
  const int64_t cols = 96;
  const Stored m[] = {make_matrix(DType::Q8_0, 37, cols, 1), make_matrix(DType::F32, 16, cols, 2),
                      make_matrix(DType::BF16, 70, cols, 3), make_matrix(DType::F16, 5, cols, 4)};
  const MatrixRef refs[] = {m[0].ref, m[1].ref, m[2].ref, m[3].ref};
  for (int64_t n : {1, 9})
    for (DType act : {DType::F32, DType::Q8_0, DType::BF16})
      for (KernelPath p : kPaths)
        for (int threads : {1, 2}) {
          ForcedPath f(p);
          if (!f.ok()) continue;
          const std::vector<float> x = rnd(n * cols, uint32_t(n + 5));
          const int64_t per_thread = cpu::matmul_scratch_floats(cols);
          std::vector<float> scratch(size_t(per_thread * threads));
          std::vector<uint8_t> act_buf(size_t(n * cols * 8 + 4096));
          ExecContext cx;
          cx.n_threads = threads;
          cx.scratch = scratch.data();
          cx.scratch_floats_per_thread = per_thread;
          if (act != DType::F32) {
            cx.act_dtype = act;
            cx.act = act_buf.data();
            cx.act_bytes = int64_t(act_buf.size());
          }
          std::vector<std::vector<float>> grouped(4), alone(4);
          float* yg[4];
          for (int i = 0; i < 4; ++i) {
            grouped[size_t(i)].assign(size_t(n * refs[i].rows), -1.0f);
            alone[size_t(i)].assign(size_t(n * refs[i].rows), -2.0f);
            yg[i] = grouped[size_t(i)].data();
          }
          cpu::matmul_group(refs, 4, x.data(), n, yg, cx);
          for (int i = 0; i < 4; ++i) {
            float* ya = alone[size_t(i)].data();
            cpu::matmul_group(&refs[i], 1, x.data(), n, &ya, cx);
            EXPECT_EQ(grouped[size_t(i)], alone[size_t(i)])
                << cpu::kernel_path_name(p) << " product " << i << " n=" << n << " threads=" << threads
                << " activations " << dtype_name(act);
          }
          // Exact products are untouched by the other dtype's narrow activations.
          if (act != DType::F32) {
            ExecContext exact = cx;
            exact.act = nullptr;
            for (int i = 0; i < 4; ++i) {
              if (refs[i].dtype == act) continue;
              std::vector<float> ye(size_t(n * refs[i].rows));
              cpu::matmul(refs[i], x.data(), n, ye.data(), exact);
              EXPECT_EQ(grouped[size_t(i)], ye) << "product " << i << " was narrowed";
            }
          }
        }
}

// Attention on every path, for head sizes the AVX-512 path takes (multiples
// of 16) and ones it leaves to the portable tile, over f32 and narrow
// caches: within 2e-6 of a float64 reference over the cached values, the
// same bits for 1 and 2 threads, and a chunk equal to its queries one by one.
TEST(KernelPaths, AttentionEveryPathMatchesAFloat64Reference) {
  struct Case {
    int64_t n, pos0, heads, kv_heads, hd;
  };
  // Pairs of queries score together where a pair's sums fit the registers:
  // 8 chunks (AVX2 at 64, AVX-512 at 128) in decode and, on AVX-512, in a chunk.
  const Case cases[] = {{1, 300, 8, 2, 64}, {5, 70, 4, 4, 128}, {20, 3, 6, 2, 48},
                        {3, 200, 2, 1, 256}, {4, 65, 4, 2, 24}, {1, 0, 2, 2, 16},
                        {2, 40, 2, 1, 20},  // 20: no SIMD tile takes it
                        {1, 90, 6, 2, 128}, {6, 40, 4, 2, 128},
                        {1, 150, 8, 1, 64}};  // one KV head: 2 threads split its group
  for (const Case& c : cases) {
    const int64_t keys = c.pos0 + c.n, kvd = c.kv_heads * c.hd, qd = c.heads * c.hd;
    const std::vector<float> q = rnd(c.n * qd, 71), k32 = rnd(keys * kvd, 72), v32 = rnd(keys * kvd, 73);
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0}) {
      if (t == DType::Q8_0 && c.hd % 32 != 0) continue;  // a q8_0 row is whole blocks
      std::vector<uint8_t> kc(size_t(dtype_row_bytes(t, keys * kvd))), vc(kc.size());
      quantize_row(t, k32.data(), kc.data(), keys * kvd);
      quantize_row(t, v32.data(), vc.data(), keys * kvd);
      std::vector<float> k(k32.size()), v(v32.size());  // what the cache holds
      dequantize_row(t, kc.data(), k.data(), keys * kvd);
      dequantize_row(t, vc.data(), v.data(), keys * kvd);
      std::vector<double> ref(size_t(c.n * qd));
      for (int64_t i = 0; i < c.n; ++i)
        for (int64_t h = 0; h < c.heads; ++h) {
          const int64_t g = h / (c.heads / c.kv_heads);
          std::vector<double> w;
          double mx = -1e300, sum = 0;
          for (int64_t s2 = 0; s2 <= c.pos0 + i; ++s2) {
            double d = 0;
            for (int64_t e = 0; e < c.hd; ++e)
              d += double(q[size_t(i * qd + h * c.hd + e)]) * k[size_t(s2 * kvd + g * c.hd + e)];
            w.push_back(d / std::sqrt(double(c.hd)));
            mx = std::max(mx, w.back());
          }
          for (double& x : w) sum += (x = std::exp(x - mx));
          for (int64_t e = 0; e < c.hd; ++e) {
            double o = 0;
            for (size_t s2 = 0; s2 < w.size(); ++s2) o += w[s2] / sum * v[s2 * size_t(kvd) + size_t(g * c.hd + e)];
            ref[size_t(i * qd + h * c.hd + e)] = o;
          }
        }
      for (KernelPath p : kPaths) {
        ForcedPath f(p);
        if (!f.ok()) continue;
        SCOPED_TRACE(std::string(cpu::kernel_path_name(p)) + " " + dtype_name(t) + " hd=" +
                     std::to_string(c.hd) + " n=" + std::to_string(c.n));
        const int64_t per_thread = cpu::kAttentionScratchRows * c.hd;
        std::vector<float> scratch(size_t(2 * per_thread));
        AttentionArgs a;
        a.n_tokens = c.n;
        a.pos0 = c.pos0;
        a.n_heads = c.heads;
        a.n_kv_heads = c.kv_heads;
        a.head_dim = c.hd;
        a.q = q.data();
        a.q_stride = qd;
        a.k_cache = kc.data();
        a.v_cache = vc.data();
        a.kv_stride = kvd;
        a.kv_head_stride = c.hd;
        a.kv_dtype = t;
        a.out_stride = qd;
        std::vector<float> one(size_t(c.n * qd)), two(one.size()), single(one.size());
        ExecContext cx;
        cx.scratch = scratch.data();
        cx.scratch_floats_per_thread = per_thread;
        cx.n_threads = 1;
        a.out = one.data();
        cpu::attention(a, cx);
        cx.n_threads = 2;
        a.out = two.data();
        cpu::attention(a, cx);
        EXPECT_EQ(one, two);
        for (int64_t i = 0; i < c.n; ++i) {
          AttentionArgs b = a;
          b.n_tokens = 1;
          b.pos0 = c.pos0 + i;
          b.q = q.data() + i * qd;
          b.out = single.data() + i * qd;
          cpu::attention(b, cx);
        }
        EXPECT_EQ(one, single);
        for (size_t j = 0; j < one.size(); ++j) ASSERT_NEAR(one[j], ref[j], 2e-6) << j;
      }
    }
  }
}

// Within one path: 2 threads == 1 thread bit for bit, by decode and by
// prefill; and decode of token i agrees with prefill row i (the two may sum
// in different orders: a few ulps of the sum of magnitudes).
TEST(KernelPaths, ThreadsDoNotMatterAndDecodeMatchesPrefill) {
  for (KernelPath p : kPaths) {
    ForcedPath f(p);
    if (!f.ok()) continue;
    for (DType t : kDtypes) {
      const int64_t rows = 203, cols = 256, n = 11;
      Stored m = make_matrix(t, rows, cols, 5);
      const std::vector<float> x = rnd(n * cols, 6);
      const std::vector<float> prefill1 = product(m, x, n, 1);
      const std::vector<float> prefill2 = product(m, x, n, 2);
      ASSERT_EQ(0, std::memcmp(prefill1.data(), prefill2.data(), prefill1.size() * 4))
          << cpu::kernel_path_name(p) << " " << dtype_name(t) << ": prefill 1 vs 2 threads";
      for (int64_t i = 0; i < n; ++i) {
        const std::vector<float> xi(x.begin() + i * cols, x.begin() + (i + 1) * cols);
        const std::vector<float> d1 = product(m, xi, 1, 1);
        const std::vector<float> d2 = product(m, xi, 1, 2);
        ASSERT_EQ(0, std::memcmp(d1.data(), d2.data(), d1.size() * 4))
            << cpu::kernel_path_name(p) << " " << dtype_name(t) << ": decode 1 vs 2 threads";
        for (int64_t r = 0; r < rows; ++r) {
          double mag = 0;
          for (int64_t k = 0; k < cols; ++k)
            mag += std::fabs(double(m.values[size_t(r * cols + k)]) * xi[size_t(k)]);
          ASSERT_NEAR(d1[size_t(r)], prefill1[size_t(i * rows + r)], 1e-6 * mag)
              << cpu::kernel_path_name(p) << " " << dtype_name(t) << ": decode vs prefill";
        }
      }
    }
  }
}

// ---- the whole engine against the golden vectors, per path ----------------------

const std::string kGoldenDir = std::string(MIXCON_TEST_DATA_DIR) + "/golden";

bool read_file(const std::string& path, std::vector<uint8_t>* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  out->assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  return true;
}

void check_rows(const float* got, const std::vector<float>& want, int64_t rows, int64_t V,
                const std::string& what) {
  for (int64_t i = 0; i < rows; ++i) {
    double mx = 0, diff = 0;
    for (int64_t j = 0; j < V; ++j) {
      mx = std::max(mx, std::fabs(double(want[size_t(i * V + j)])));
      diff = std::max(diff, std::fabs(double(got[i * V + j]) - double(want[size_t(i * V + j)])));
    }
    ASSERT_LE(diff, 1e-4 * mx) << what << " row " << i;
  }
}

TEST(KernelPaths, GoldenVectorsOnEveryPath) {
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(read_file(kGoldenDir + "/manifest.json", &bytes)) << "golden manifest missing";
  const nlohmann::json j = nlohmann::json::parse(bytes.begin(), bytes.end());
  const std::vector<int32_t> tokens = j.at("tokens").get<std::vector<int32_t>>();
  const int64_t T = int64_t(tokens.size());
  for (KernelPath p : kPaths) {
    ForcedPath f(p);
    if (!f.ok()) continue;
    for (const auto& v : j.at("variants")) {
      const std::string name = std::string(cpu::kernel_path_name(p)) + " " + v.at("name").get<std::string>();
      ModelOptions mo;
      mo.n_threads = 2;
      auto model = Model::create(
          ModelFile::open(kGoldenDir + "/" + v.at("file").get<std::string>(), ReadOptions{}), mo);
      const int64_t V = model->config().vocab_size;
      std::vector<uint8_t> raw;
      ASSERT_TRUE(read_file(kGoldenDir + "/" + v.at("logits").get<std::string>(), &raw));
      ASSERT_EQ(int64_t(raw.size()), T * V * 4);
      std::vector<float> want(size_t(T * V));
      std::memcpy(want.data(), raw.data(), raw.size());

      Session decode(model, {});
      std::vector<float> by_decode(size_t(T * V));
      for (int64_t i = 0; i < T; ++i) {
        decode.feed(&tokens[size_t(i)], 1);
        std::memcpy(&by_decode[size_t(i * V)], decode.logits(), size_t(V) * 4);
      }
      check_rows(by_decode.data(), want, T, V, name + " decode");
      Session prefill(model, {});
      std::vector<float> by_prefill(size_t(T * V));
      prefill.feed(tokens.data(), T, nullptr, by_prefill.data());
      check_rows(by_prefill.data(), want, T, V, name + " prefill");
    }
  }
}

}  // namespace
}  // namespace mixcon
