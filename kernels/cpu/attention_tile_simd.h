// The direct-dot attention tile (attention_avx512.h), written once for any
// vector width: V is a traits struct — reg (the vector type), W (lanes),
// zero/load/store/set1/fmadd/mul, sum (W vectors to one vector of their lane
// sums, in a fixed order) and widen (a cached f16/bf16/q8_0 row to floats).
// attention_avx512.cpp instantiates it 16 lanes wide, attention_avx2.cpp 8.
//
// Include it only inside a `#pragma GCC target` region for V's instruction
// set, after every header it relies on (listed below) has been included
// outside the region: then only this template and V are compiled for that
// target, and no inline function shared with other files is.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <limits>

#include "core/backend.h"
#include "kernels/cpu/cpu_kernels.h"
#include "kernels/cpu/vec_math.h"

#define MIXCON_TILE_INLINE __attribute__((always_inline)) inline

namespace mixcon {
namespace cpu {
namespace simd_tile {

// qacc[W·c0 .. W·(c0+NC)) += Σ_j p[j] · v_j over the block's keys, the NC
// accumulators held in registers across all keys.
template <class V, int NC>
MIXCON_TILE_INLINE void add_values(float* qacc, const float* p, int64_t nb,
                                     const float* const* vrow, int64_t c0) {
  typename V::reg r[NC];
  for (int c = 0; c < NC; ++c) r[c] = V::load(qacc + V::W * (c0 + c));
  for (int64_t j = 0; j < nb; ++j) {
    const typename V::reg pj = V::set1(p[j]);
    const float* v = vrow[j] + V::W * c0;
    for (int c = 0; c < NC; ++c) r[c] = V::fmadd(pj, V::load(v + V::W * c), r[c]);
  }
  for (int c = 0; c < NC; ++c) V::store(qacc + V::W * (c0 + c), r[c]);
}

template <class V>
MIXCON_TILE_INLINE void add_all_values(float* qacc, const float* p, int64_t nb, const float* const* vrow,
                                  int64_t nc) {
  int64_t c0 = 0;
  for (; c0 + 8 <= nc; c0 += 8) add_values<V, 8>(qacc, p, nb, vrow, c0);
  switch (nc - c0) {
    case 7: add_values<V, 7>(qacc, p, nb, vrow, c0); break;
    case 6: add_values<V, 6>(qacc, p, nb, vrow, c0); break;
    case 5: add_values<V, 5>(qacc, p, nb, vrow, c0); break;
    case 4: add_values<V, 4>(qacc, p, nb, vrow, c0); break;
    case 3: add_values<V, 3>(qacc, p, nb, vrow, c0); break;
    case 2: add_values<V, 2>(qacc, p, nb, vrow, c0); break;
    case 1: add_values<V, 1>(qacc, p, nb, vrow, c0); break;
    default: break;
  }
}

// The tile: see attention_avx512.h. V::widen turns a cached row of head_dim
// narrow values into floats, V::W at a time.
template <class V>
MIXCON_TILE_INLINE void attend_tile(const AttentionArgs& a, float scale, int64_t h0, int64_t nh,
                                    int64_t i0, int64_t i1, float* scratch) {
  constexpr int W = V::W;
  constexpr int64_t kQ = kAttentionQueryTile;
  constexpr int64_t kB = kAttentionKeyBlock;
  const int64_t hd = a.head_dim, nc = hd / W;
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
        V::widen(a.kv_dtype, kr, kb + j * hd, nc);
        V::widen(a.kv_dtype, vr, vb + j * hd, nc);
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

      alignas(64) float sc[kB];
      for (int64_t g = 0; g < (nb + W - 1) / W; ++g) {
        typename V::reg s[W];
        for (int jj = 0; jj < W; ++jj) s[jj] = V::zero();
        const float* const* kg = krow + W * g;
        for (int64_t c = 0; c < nc; ++c) {
          const typename V::reg qv = V::load(q + W * c);
          for (int jj = 0; jj < W; ++jj) s[jj] = V::fmadd(qv, V::load(kg[jj] + W * c), s[jj]);
        }
        V::store(sc + W * g, V::mul(V::sum(s), V::set1(scale)));
      }
      online_softmax_block(sc, nb, &m[u], &l[u], qacc, hd);
      add_all_values<V>(qacc, sc, nb, vrow, nc);
    }
  }
  for (int64_t u = 0; u < nq; ++u) {
    const int64_t i = i0 + u / nh, h = h0 + u % nh;
    const float inv = 1.0f / l[u];
    float* out = a.out + i * a.out_stride + h * hd;
    for (int64_t e = 0; e < hd; ++e) out[e] = acc[u * hd + e] * inv;
  }
}

}  // namespace simd_tile
}  // namespace cpu
}  // namespace mixcon
