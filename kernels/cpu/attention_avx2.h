// AVX2 attention over one query tile (attention_avx2.cpp), for CPUs with
// AVX2 and FMA but no AVX-512: attention_avx512.h's tile, eight lanes wide.
#pragma once

#include <cstdint>

#include "core/backend.h"

namespace mixcon {
namespace cpu {

// Whether attend_tile_avx2 takes heads of this size (a multiple of 8).
inline bool attention_avx2_handles(int64_t head_dim) { return head_dim % 8 == 0; }

// As attend_tile_avx512. Call only when the CPU has AVX2 and FMA.
void attend_tile_avx2(const AttentionArgs& a, float scale, int64_t h0, int64_t nh, int64_t i0,
                      int64_t i1, float* scratch);

}  // namespace cpu
}  // namespace mixcon
