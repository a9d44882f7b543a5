// AVX2 attention over one query tile: attention_avx512.cpp's tile (direct
// dot products, keys reduced together in registers, values accumulated in
// registers, the next block prefetched) eight lanes wide, for CPUs with AVX2
// and FMA but no AVX-512. The transposed-key tile of attention.cpp cost 64
// scalar moves per key and held a 32K-token AVX2 decode step at 0.48x the
// speed at 512 tokens.
//
// Numerics: as attention_avx512.cpp — tiling and thread count change no bit;
// an f16/bf16 cache is widened exactly as each block is loaded.
#include "kernels/cpu/attention_avx2.h"

#include <limits>

#include "kernels/cpu/avx2_math.h"
#include "kernels/cpu/convert.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"

namespace mixcon {
namespace cpu {
#ifdef MIXCON_HAVE_AVX2_PATH
namespace {

constexpr int64_t kQ = kAttentionQueryTile;
constexpr int64_t kB = kAttentionKeyBlock;

using avx2::sum8;

// One cached row of head_dim values widened to float32 (exact).
MIXCON_AVX2_INLINE void widen(DType t, const uint8_t* src, float* dst, int64_t nc) {
  const uint16_t* h = reinterpret_cast<const uint16_t*>(src);
  if (t == DType::F16) {
    for (int64_t c = 0; c < nc; ++c)
      _mm256_storeu_ps(dst + 8 * c,
                       _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 8 * c))));
  } else if (t == DType::Q8_0) {  // d·q is exact in float32
    const BlockQ8_0* b = reinterpret_cast<const BlockQ8_0*>(src);
    for (int64_t c = 0; c < nc; ++c) {
      const BlockQ8_0& blk = b[c / 4];
      const __m128i q = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk.qs + 8 * (c % 4)));
      _mm256_storeu_ps(dst + 8 * c, _mm256_mul_ps(_mm256_set1_ps(_cvtsh_ss(blk.d)),
                                                  _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q))));
    }
  } else {
    for (int64_t c = 0; c < nc; ++c) {
      const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + 8 * c));
      _mm256_storeu_ps(dst + 8 * c, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(b), 16)));
    }
  }
}

// qacc[8·c0 .. 8·(c0+NC)) += Σ_j p[j] · v_j over the block's keys, the NC
// accumulators held in registers across all keys.
template <int NC>
MIXCON_AVX2_INLINE void add_values(float* qacc, const float* p, int64_t nb,
                                     const float* const* vrow, int64_t c0) {
  __m256 r[NC];
  for (int c = 0; c < NC; ++c) r[c] = _mm256_loadu_ps(qacc + 8 * (c0 + c));
  for (int64_t j = 0; j < nb; ++j) {
    const __m256 pj = _mm256_set1_ps(p[j]);
    const float* v = vrow[j] + 8 * c0;
    for (int c = 0; c < NC; ++c) r[c] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(v + 8 * c), r[c]);
  }
  for (int c = 0; c < NC; ++c) _mm256_storeu_ps(qacc + 8 * (c0 + c), r[c]);
}

MIXCON_AVX2_FN void add_all_values(float* qacc, const float* p, int64_t nb, const float* const* vrow,
                                  int64_t nc) {
  int64_t c0 = 0;
  for (; c0 + 8 <= nc; c0 += 8) add_values<8>(qacc, p, nb, vrow, c0);
  switch (nc - c0) {
    case 7: add_values<7>(qacc, p, nb, vrow, c0); break;
    case 6: add_values<6>(qacc, p, nb, vrow, c0); break;
    case 5: add_values<5>(qacc, p, nb, vrow, c0); break;
    case 4: add_values<4>(qacc, p, nb, vrow, c0); break;
    case 3: add_values<3>(qacc, p, nb, vrow, c0); break;
    case 2: add_values<2>(qacc, p, nb, vrow, c0); break;
    case 1: add_values<1>(qacc, p, nb, vrow, c0); break;
    default: break;
  }
}

}  // namespace

MIXCON_AVX2_FN void attend_tile_avx2(const AttentionArgs& a, float scale, int64_t h0, int64_t nh,
                                      int64_t i0, int64_t i1, float* scratch) {
  const int64_t hd = a.head_dim, nc = hd / 8;
  const int64_t nq = (i1 - i0) * nh;  // query u: token i0 + u / nh, head h0 + u % nh
  float* acc = scratch;          // [nq, hd]
  float* kb = acc + kQ * hd;     // [kB, hd] a narrow block's keys, widened
  float* vb = kb + kB * hd;      // [kB, hd] and its values
  float* zero = vb + kB * hd;    // [hd] stands in for keys past the block
  const bool narrow = a.kv_dtype != DType::F32;
  const KvHeadRows rows(a, h0);
  const int64_t row_bytes = rows.row_bytes;

  float m[kQ], l[kQ];
  for (int64_t u = 0; u < nq; ++u) {
    m[u] = -std::numeric_limits<float>::infinity();
    l[u] = 0.0f;
  }
  for (int64_t j = 0; j < nq * hd; ++j) acc[j] = 0.0f;
  for (int64_t e = 0; e < hd; ++e) zero[e] = 0.0f;

  const float* krow[kB];
  const float* vrow[kB];
  const int64_t max_keys = a.pos0 + i1;
  for (int64_t s0 = 0; s0 < max_keys; s0 += kB) {
    const int64_t block = max_keys - s0 < kB ? max_keys - s0 : kB;
    // Ask for the next block's keys and values while this one is used: even
    // with a head's rows contiguous (the session's head-major cache), the
    // hardware prefetchers alone left a 32K-token decode step 12% slower.
    const int64_t next = max_keys - s0 - block < kB ? max_keys - s0 - block : kB;
    for (int64_t j = 0; j < block; ++j) {
      const uint8_t* kr = rows.key(s0 + j);
      const uint8_t* vr = rows.value(s0 + j);
      if (j < next)
        for (int64_t e = 0; e < row_bytes; e += 64) {
          _mm_prefetch(reinterpret_cast<const char*>(rows.key(s0 + j + kB) + e), _MM_HINT_T0);
          _mm_prefetch(reinterpret_cast<const char*>(rows.value(s0 + j + kB) + e), _MM_HINT_T0);
        }
      if (narrow) {
        widen(a.kv_dtype, kr, kb + j * hd, nc);
        widen(a.kv_dtype, vr, vb + j * hd, nc);
        krow[j] = kb + j * hd;
        vrow[j] = vb + j * hd;
      } else {
        krow[j] = reinterpret_cast<const float*>(kr);
        vrow[j] = reinterpret_cast<const float*>(vr);
      }
    }
    for (int64_t j = block; j < kB; ++j) krow[j] = vrow[j] = zero;

    for (int64_t u = 0; u < nq; ++u) {
      const int64_t i = i0 + u / nh, h = h0 + u % nh;
      const int64_t n_keys = a.pos0 + i + 1;
      if (s0 >= n_keys) continue;
      const int64_t nb = n_keys - s0 < kB ? n_keys - s0 : kB;
      const float* q = a.q + i * a.q_stride + h * hd;
      float* qacc = acc + u * hd;

      alignas(32) float sc[kB];
      for (int64_t g = 0; g < (nb + 7) / 8; ++g) {
        __m256 s[8];
        for (int jj = 0; jj < 8; ++jj) s[jj] = _mm256_setzero_ps();
        const float* const* kg = krow + 8 * g;
        for (int64_t c = 0; c < nc; ++c) {
          const __m256 qv = _mm256_loadu_ps(q + 8 * c);
          for (int jj = 0; jj < 8; ++jj)
            s[jj] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(kg[jj] + 8 * c), s[jj]);
        }
        _mm256_store_ps(sc + 8 * g, _mm256_mul_ps(sum8(s), _mm256_set1_ps(scale)));
      }
      float bm = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < nb; ++j) bm = sc[j] > bm ? sc[j] : bm;
      if (bm > m[u]) {
        const float c = exp_approx(m[u] - bm);  // ~0 on the first block
        l[u] *= c;
        for (int64_t e = 0; e < hd; ++e) qacc[e] *= c;
        m[u] = bm;
      }
      const float mu = m[u];
      for (int64_t j = 0; j < nb; ++j) sc[j] = exp_approx(sc[j] - mu);
      float lu = l[u];
      for (int64_t j = 0; j < nb; ++j) lu += sc[j];
      l[u] = lu;
      add_all_values(qacc, sc, nb, vrow, nc);
    }
  }
  for (int64_t u = 0; u < nq; ++u) {
    const int64_t i = i0 + u / nh, h = h0 + u % nh;
    const float inv = 1.0f / l[u];
    float* out = a.out + i * a.out_stride + h * hd;
    for (int64_t e = 0; e < hd; ++e) out[e] = acc[u * hd + e] * inv;
  }
}

#endif  // MIXCON_HAVE_AVX2_PATH

}  // namespace cpu
}  // namespace mixcon
