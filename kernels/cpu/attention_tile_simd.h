// The direct-dot attention tile (attention_avx512.h), written once for any
// vector width: V is a traits struct — reg (the vector type), W (lanes),
// kPairChunk (value chunks a pair of queries sums at a time),
// zero/load/store/set1/fmadd/mul, sum (W vectors to one vector of their lane
// sums, in a fixed order; sum_pair and sum_rest: its first step and the rest,
// the same bits) and chunks (W-value chunks of a cached f32/f16/bf16/q8_0 row
// as floats).
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

// Every query's arithmetic below is fixed by the query alone — its scores'
// dot products, the block's softmax, its value sums in key order — so which
// other queries share a tile (decode: the heads of one KV group; prefill:
// those heads × a few tokens) changes no bit. What the queries of a tile
// share is the memory traffic. A decode step at a long context streams each
// KV head from DRAM, and the hardware prefetchers run ahead of a walk in
// address order only: the block's keys are read key after key by the first
// pair of queries' scores (the others find them in L1), each value row is
// loaded once for a pair of queries, and the rows the next phase reads are
// asked for into L2 while this one computes (the softmax makes no traffic of
// its own).
// The former walk — each query through scores, softmax and values in turn,
// scores reading 16 keys a chunk at a time (a 256-byte stride), and a burst
// of L1 prefetches per block — read an f32 cache at ~0.6 of the bandwidth
// probe on 2 threads; this one at ~0.75, the same bits (November 2026, 8 KV
// heads of 64 at 32K tokens: f32 +39%, f16 +13%, bf16 +5%, q8_0 +6%, the
// narrow ones bound by widening their rows). L1 prefetches (T0) instead of
// L2 ones made it slower: each holds one of the core's few L1 miss buffers.
//
// A narrow cache (f16/bf16/q8_0) read by a decode step's few queries (see
// widen_in_registers) is widened in registers as it is read, and a pair of
// queries scores each key with one widening. Widening each block to floats
// in memory first (what a prefill tile's 64 queries still share) cost such a
// step more than its arithmetic: 8 stores and reloads of 64 bytes per key,
// for 2 queries. Same harness, 2 threads, old and new back to back: f16
// 22.9 -> 30.8 GB/s, q8_0 12.5 -> 17.9 (the AVX2 path f16 19.1 -> 24.1, q8_0
// 9.1 -> 13.0); the same bits.

// Asks for the lines of one cached row into L2 (a hint: never faults).
MIXCON_TILE_INLINE void prefetch_l2(const void* row, int64_t bytes) {
  for (int64_t e = 0; e < bytes; e += 64)
    _mm_prefetch(static_cast<const char*>(row) + e, _MM_HINT_T1);
}

// Rows are read through V::chunks<R, N>(row, c0, out): the W floats of each
// chunk c0 .. c0 + N - 1 of a row stored as R (F32 rows are loaded, narrow
// ones widened in registers, exactly; c0 is a multiple of the chunks in a
// q8_0 block, as every caller's chunk groups are). The arithmetic on those
// floats is the same for every R.

// A cached row of nc chunks of dtype R widened to floats at dst.
template <class V, DType R>
MIXCON_TILE_INLINE void widen_row(const uint8_t* src, float* dst, int64_t nc) {
  for (int64_t c = 0; c < nc; ++c) {
    typename V::reg v;
    V::template chunks<R, 1>(src, c, &v);
    V::store(dst + V::W * c, v);
  }
}

// The scaled scores of one query for the W keys kg[0, W): each a chain of
// FMAs over head_dim in chunk order, the W chains reduced together by V::sum.
// Keys are walked one after the other (address order).
template <class V, DType R, int NC>
MIXCON_TILE_INLINE typename V::reg scores_of(const float* q, const uint8_t* const* kg,
                                             float scale) {
  constexpr int W = V::W;
  typename V::reg qv[NC];
  for (int c = 0; c < NC; ++c) qv[c] = V::load(q + W * c);
  typename V::reg s[W];
  for (int jj = 0; jj < W; ++jj) {
    typename V::reg kc[NC];
    V::template chunks<R, NC>(kg[jj], 0, kc);
    typename V::reg t = V::zero();
    for (int c = 0; c < NC; ++c) t = V::fmadd(qv[c], kc[c], t);
    s[jj] = t;
  }
  return V::mul(V::sum(s), V::set1(scale));
}

// The same for any head_dim (nc chunks): the same chains, chunk-major.
template <class V, DType R>
MIXCON_TILE_INLINE typename V::reg scores_any(const float* q, const uint8_t* const* kg, int64_t nc,
                                              float scale) {
  constexpr int W = V::W;
  typename V::reg s[W];
  for (int jj = 0; jj < W; ++jj) s[jj] = V::zero();
  for (int64_t c = 0; c < nc; ++c) {
    const typename V::reg qv = V::load(q + W * c);
    for (int jj = 0; jj < W; ++jj) {
      typename V::reg kc;
      V::template chunks<R, 1>(kg[jj], c, &kc);
      s[jj] = V::fmadd(qv, kc, s[jj]);
    }
  }
  return V::mul(V::sum(s), V::set1(scale));
}

// sc[0, 16·ng) = scores of query q for the keys krow[0, 16·ng).
template <class V, DType R>
MIXCON_TILE_INLINE void block_scores(const float* q, const uint8_t* const* krow, int64_t ng,
                                     int64_t nc, float scale, float* sc) {
  constexpr int W = V::W;
  for (int64_t g = 0; g < ng; ++g) {
    const uint8_t* const* kg = krow + W * g;
    typename V::reg r;
    switch (nc) {
      case 1: r = scores_of<V, R, 1>(q, kg, scale); break;
      case 2: r = scores_of<V, R, 2>(q, kg, scale); break;
      case 4: r = scores_of<V, R, 4>(q, kg, scale); break;
      case 8: r = scores_of<V, R, 8>(q, kg, scale); break;
      default: r = scores_any<V, R>(q, kg, nc, scale); break;
    }
    V::store(sc + W * g, r);
  }
}

// The scaled scores of two queries for the W keys kg[0, W), each key's rows
// read once for both: the same chains and reduction as scores_of, the
// reduction's first step taken per pair of keys (V::sum_pair) so that only
// W/2 partial vectors per query stay live. Up to 4 chunks the queries' and
// a key's chunks are held in registers; wider heads read the queries from L1
// at each product and widen a key a chunk at a time.
template <class V, DType R, int NC>
MIXCON_TILE_INLINE void pair_scores_of(const float* q0, const float* q1, const uint8_t* const* kg,
                                       float scale, float* sc0, float* sc1) {
  constexpr int W = V::W;
  constexpr bool kHold = NC <= 4;
  constexpr int kHeld = kHold ? NC : 1;
  typename V::reg qv0[kHeld], qv1[kHeld], w0[W / 2], w1[W / 2];
  if constexpr (kHold)
    for (int c = 0; c < NC; ++c) {
      qv0[c] = V::load(q0 + W * c);
      qv1[c] = V::load(q1 + W * c);
    }
  for (int jj = 0; jj < W; jj += 2) {
    typename V::reg t0[2], t1[2];
    for (int k = 0; k < 2; ++k) {
      typename V::reg kc[kHeld];
      if constexpr (kHold) V::template chunks<R, NC>(kg[jj + k], 0, kc);
      t0[k] = t1[k] = V::zero();
      for (int c = 0; c < NC; ++c) {
        typename V::reg kv, a0, a1;
        if constexpr (kHold) {
          kv = kc[c];
          a0 = qv0[c];
          a1 = qv1[c];
        } else {
          V::template chunks<R, 1>(kg[jj + k], c, &kv);
          a0 = V::load(q0 + W * c);
          a1 = V::load(q1 + W * c);
        }
        t0[k] = V::fmadd(a0, kv, t0[k]);
        t1[k] = V::fmadd(a1, kv, t1[k]);
      }
    }
    w0[jj / 2] = V::sum_pair(t0[0], t0[1]);
    w1[jj / 2] = V::sum_pair(t1[0], t1[1]);
  }
  V::store(sc0, V::mul(V::sum_rest(w0), V::set1(scale)));
  V::store(sc1, V::mul(V::sum_rest(w1), V::set1(scale)));
}

// sc0/sc1[0, W) = scores of queries q0 and q1 for the keys kg[0, W), for
// the head widths pairs_in_registers admits (nc = 1, 2, 4 or 8 chunks).
template <class V, DType R>
MIXCON_TILE_INLINE void pair_block_scores(const float* q0, const float* q1,
                                          const uint8_t* const* kg, int64_t nc, float scale,
                                          float* sc0, float* sc1) {
  switch (nc) {
    case 1: return pair_scores_of<V, R, 1>(q0, q1, kg, scale, sc0, sc1);
    case 2: return pair_scores_of<V, R, 2>(q0, q1, kg, scale, sc0, sc1);
    case 4: return pair_scores_of<V, R, 4>(q0, q1, kg, scale, sc0, sc1);
    default: return pair_scores_of<V, R, 8>(q0, q1, kg, scale, sc0, sc1);
  }
}

// A decode step's tile: the heads of one KV group, for the commonest groups.
constexpr int64_t kDecodeQueries = 4;

// Whether a narrow cache read by nq queries is widened in registers at every
// read (a pair of queries widening each key once) rather than once per block
// into kb/vb for all of them. Widening into memory cost a decode step's tile
// more than its arithmetic (stores and reloads of 4 bytes per cached value
// for 1-2 queries). For groups of 8 (2 threads, 16K tokens): f16/bf16 the
// same at head_dim 64 and 20-40% faster at 128 in registers (the widened
// block, 64 KiB, no longer fits L1), q8_0 20-30% slower (its conversions,
// four times over); 16 queries of f16 were 7% slower in registers.
constexpr bool widen_in_registers(DType t, int64_t nq) {
  return nq <= (t == DType::Q8_0 ? kDecodeQueries : 2 * kDecodeQueries);
}

// Whether a tile of nq queries scores pairs of them together (by
// pair_block_scores) for heads of nc chunks; other widths go one query at a
// time.
// Heads of 8 chunks (AVX-512 at head_dim 128, AVX2 at 64) read their queries
// from L1: on AVX-512 faster than one query at a time (2 threads, 16K
// tokens: decode +8-16%, a 64-token tile +10%), on AVX2 only for a decode
// step's few queries (decode +7-28%; a prefill tile, whose other queries
// read the keys from L1 anyway, 10% slower).
template <class V>
bool pairs_in_registers(int64_t nc, int64_t nq) {
  return nc == 1 || nc == 2 || nc == 4 ||
         (nc == 8 && (V::W == 16 || nq <= kDecodeQueries));
}

// For each of the QG queries g: qacc[g][W·c0 .. W·(c0+NC)) += Σ_j p[g][j] · v_j
// over keys j in [j0, j1), in key order, the QG·NC sums held in registers and
// each value chunk loaded once for all QG queries.
template <class V, DType R, int QG, int NC>
MIXCON_TILE_INLINE void add_values(float* const* qacc, const float* const* p, int64_t j0,
                                   int64_t j1, const uint8_t* const* vrow, int64_t c0) {
  constexpr int W = V::W;
  typename V::reg r[QG][NC];
  for (int g = 0; g < QG; ++g)
    for (int c = 0; c < NC; ++c) r[g][c] = V::load(qacc[g] + W * (c0 + c));
  for (int64_t j = j0; j < j1; ++j) {
    typename V::reg vc[NC];
    V::template chunks<R, NC>(vrow[j], c0, vc);
    for (int g = 0; g < QG; ++g) {
      const typename V::reg pj = V::set1(p[g][j]);
      for (int c = 0; c < NC; ++c) r[g][c] = V::fmadd(pj, vc[c], r[g][c]);
    }
  }
  for (int g = 0; g < QG; ++g)
    for (int c = 0; c < NC; ++c) V::store(qacc[g] + W * (c0 + c), r[g][c]);
}

// All nc chunks of the QG queries' sums over keys [j0, j1): a lone query 8
// chunks at a time, a pair V::kPairChunk (its 2·kPairChunk sums and the
// shared value chunks in registers).
template <class V, DType R, int QG>
MIXCON_TILE_INLINE void add_all_values(float* const* qacc, const float* const* p, int64_t j0,
                                       int64_t j1, const uint8_t* const* vrow, int64_t nc) {
  constexpr int kChunk = QG == 1 ? 8 : V::kPairChunk;
  static_assert(kChunk == 4 || kChunk == 8, "chunks of 4 or 8 vectors");
  int64_t c0 = 0;
  for (; c0 + kChunk <= nc; c0 += kChunk) add_values<V, R, QG, kChunk>(qacc, p, j0, j1, vrow, c0);
  for (; c0 + 4 <= nc; c0 += 4) add_values<V, R, QG, 4>(qacc, p, j0, j1, vrow, c0);
  switch (nc - c0) {
    case 3: add_values<V, R, QG, 3>(qacc, p, j0, j1, vrow, c0); break;
    case 2: add_values<V, R, QG, 2>(qacc, p, j0, j1, vrow, c0); break;
    case 1: add_values<V, R, QG, 1>(qacc, p, j0, j1, vrow, c0); break;
    default: break;
  }
}

// The tile: see attention_avx512.h. C is the cache's dtype; with Widen a
// narrow block's rows are widened to floats once (kb, vb) and read from
// there, else every read widens the cached row in registers.
template <class V, DType C, bool Widen>
inline void attend_rows(const AttentionArgs& a, float scale, int64_t h0, int64_t nh, int64_t i0,
                        int64_t i1, float* scratch) {
  constexpr int W = V::W;
  constexpr DType R = Widen ? DType::F32 : C;  // how the math reads a row
  constexpr int64_t kQ = kAttentionQueryTile;
  constexpr int64_t kB = kAttentionKeyBlock;
  const int64_t hd = a.head_dim, nc = hd / W;
  const int64_t nq = (i1 - i0) * nh;  // query u: token i0 + u / nh, head h0 + u % nh
  float* acc = scratch;          // [nq, hd]
  float* kb = acc + kQ * hd;     // [kB, hd] a narrow block's keys, widened
  float* vb = kb + kB * hd;      // [kB, hd] and its values
  float* zero = vb + kB * hd;    // [hd] stands in for keys past the block (0 in any dtype)
  const KvHeadRows rows(a, h0);

  float m[kQ], l[kQ];
  const float* q[kQ];
  float* qacc[kQ];
  int64_t n_keys[kQ];
  for (int64_t u = 0; u < nq; ++u) {
    const int64_t i = i0 + u / nh, h = h0 + u % nh;
    m[u] = -std::numeric_limits<float>::infinity();
    l[u] = 0.0f;
    q[u] = a.q + i * a.q_stride + h * hd;
    qacc[u] = acc + u * hd;
    n_keys[u] = a.pos0 + i + 1;
  }
  for (int64_t j = 0; j < nq * hd; ++j) acc[j] = 0.0f;
  for (int64_t e = 0; e < hd; ++e) zero[e] = 0.0f;

  const uint8_t* krow[kB];
  const uint8_t* vrow[kB];
  alignas(64) float sc[kQ][kB];
  const float* p[kQ];
  for (int64_t u = 0; u < nq; ++u) p[u] = sc[u];
  const int64_t max_keys = a.pos0 + i1;
  for (int64_t s0 = 0; s0 < max_keys; s0 += kB) {
    const int64_t block = max_keys - s0 < kB ? max_keys - s0 : kB;
    for (int64_t j = 0; j < block; ++j) {
      krow[j] = rows.key(s0 + j);
      vrow[j] = rows.value(s0 + j);
      if (Widen) {
        // A narrow block is widened in one burst of reads: the next
        // block's rows are asked for one per row widened (asked for in a
        // burst before the softmax, as for an f32 cache, one thread read
        // f16 and bf16 caches 10-14% slower, q8_0 5%).
        if (s0 + kB + j < max_keys) {
          prefetch_l2(rows.key(s0 + kB + j), rows.row_bytes);
          prefetch_l2(rows.value(s0 + kB + j), rows.row_bytes);
        }
        widen_row<V, C>(krow[j], kb + j * hd, nc);
        widen_row<V, C>(vrow[j], vb + j * hd, nc);
        krow[j] = reinterpret_cast<const uint8_t*>(kb + j * hd);
        vrow[j] = reinterpret_cast<const uint8_t*>(vb + j * hd);
      }
    }
    for (int64_t j = block; j < kB; ++j) krow[j] = vrow[j] = reinterpret_cast<const uint8_t*>(zero);

    // Queries are token-major, so those that still see keys in this block
    // are the last ones: [u0, nq), each over its first nb[u] keys.
    int64_t u0 = 0;
    while (u0 < nq && s0 >= n_keys[u0]) ++u0;
    int64_t nb[kQ];
    for (int64_t u = u0; u < nq; ++u) nb[u] = n_keys[u] - s0 < kB ? n_keys[u] - s0 : kB;
    // Pairs of queries walk the keys together (a pair over the later one's
    // keys; the earlier one's extra scores go unused), the first pair
    // streaming them from memory and asking for the block's values into L2,
    // a group of W rows at a time; the others find the keys in L1. Where
    // pairs_in_registers says no, one query at a time (two queries scored
    // apart group by group, AVX2 measured 20% slower). Against one query at
    // a time everywhere (same harness, 2 threads): f32 cache at 32K tokens,
    // decode +4-7% and a 512-token chunk +9% (A/B in one process); widened
    // f16/q8_0 blocks +3-5%.
    const bool pairs = pairs_in_registers<V>(nc, nq);
    for (int64_t u = u0; u < nq; u += pairs ? 2 : 1) {
      const bool pair = pairs && u + 1 < nq;
      const int64_t ng = (nb[pair ? u + 1 : u] + W - 1) / W;
      if (!pair && (u != u0 || Widen)) {
        block_scores<V, R>(q[u], krow, ng, nc, scale, sc[u]);
        continue;
      }
      for (int64_t g = 0; g < ng; ++g) {
        if (u == u0 && !Widen)
          for (int64_t j = W * g; j < W * g + W && j < block; ++j)
            prefetch_l2(vrow[j], rows.row_bytes);
        if (pair)
          pair_block_scores<V, R>(q[u], q[u + 1], krow + W * g, nc, scale, sc[u] + W * g,
                                  sc[u + 1] + W * g);
        else
          block_scores<V, R>(q[u], krow + W * g, 1, nc, scale, sc[u] + W * g);
      }
    }
    // The softmax makes no memory traffic: the next block's keys are asked
    // for before it.
    if (!Widen)
      for (int64_t j = s0 + kB; j < s0 + 2 * kB && j < max_keys; ++j)
        prefetch_l2(rows.key(j), rows.row_bytes);
    for (int64_t u = u0; u < nq; ++u) online_softmax_block(sc[u], nb[u], &m[u], &l[u], qacc[u], hd);
    // Values by pairs of queries over the keys both see — nb never falls
    // from one query to the next (token-major) — then the second alone over
    // the rest of its keys: every query still sums in key order.
    int64_t u = u0;
    for (; u + 2 <= nq; u += 2) {
      add_all_values<V, R, 2>(qacc + u, p + u, 0, nb[u], vrow, nc);
      if (nb[u + 1] > nb[u])
        add_all_values<V, R, 1>(qacc + u + 1, p + u + 1, nb[u], nb[u + 1], vrow, nc);
    }
    if (u < nq) add_all_values<V, R, 1>(qacc + u, p + u, 0, nb[u], vrow, nc);
  }
  for (int64_t u = 0; u < nq; ++u) {
    const int64_t i = i0 + u / nh, h = h0 + u % nh;
    const float inv = 1.0f / l[u];
    float* out = a.out + i * a.out_stride + h * hd;
    for (int64_t e = 0; e < hd; ++e) out[e] = acc[u * hd + e] * inv;
  }
}

template <class V>
MIXCON_TILE_INLINE void attend_tile(const AttentionArgs& a, float scale, int64_t h0, int64_t nh,
                                    int64_t i0, int64_t i1, float* scratch) {
  const bool few = widen_in_registers(a.kv_dtype, (i1 - i0) * nh);
  switch (a.kv_dtype) {
    case DType::F16:
      return few ? attend_rows<V, DType::F16, false>(a, scale, h0, nh, i0, i1, scratch)
                 : attend_rows<V, DType::F16, true>(a, scale, h0, nh, i0, i1, scratch);
    case DType::BF16:
      return few ? attend_rows<V, DType::BF16, false>(a, scale, h0, nh, i0, i1, scratch)
                 : attend_rows<V, DType::BF16, true>(a, scale, h0, nh, i0, i1, scratch);
    case DType::Q8_0:
      return few ? attend_rows<V, DType::Q8_0, false>(a, scale, h0, nh, i0, i1, scratch)
                 : attend_rows<V, DType::Q8_0, true>(a, scale, h0, nh, i0, i1, scratch);
    default:
      return attend_rows<V, DType::F32, false>(a, scale, h0, nh, i0, i1, scratch);
  }
}

}  // namespace simd_tile
}  // namespace cpu
}  // namespace mixcon
