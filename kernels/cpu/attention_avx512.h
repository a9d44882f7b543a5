// AVX-512 attention over one query tile (attention_avx512.cpp): the same
// tiles, key blocks and online softmax as attention.cpp's portable tile, with
// the scores computed as direct dot products — 16 keys at a time, reduced
// together in registers — instead of through a transposed copy of the key
// block. The transpose cost 64 scalar moves per key; a decode step has only
// the few queries of one KV group to share them, so at 32K tokens of context
// it, not memory, bounded the step.
#pragma once

#include <cstdint>

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// Whether attend_tile_avx512 takes heads of this size (a multiple of 16).
inline bool attention_avx512_handles(int64_t head_dim) { return head_dim % 16 == 0; }

// Heads [h0, h0+nh) of one KV group for chunk tokens [i0, i1) (at most
// kAttentionQueryTile queries); scratch: kAttentionScratchRows·head_dim
// floats. Call only when the CPU has AVX512F (cpu_features.h).
void attend_tile_avx512(const AttentionArgs& a, float scale, int64_t h0, int64_t nh, int64_t i0,
                        int64_t i1, float* scratch);

}  // namespace cpu
}  // namespace mixcon
