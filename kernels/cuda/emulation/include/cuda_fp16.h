// Emulated cuda_fp16.h: the conversions the kernels use.
#pragma once

#include "core/format/dtype.h"
#include "cuda_emu_core.h"

struct __half {
  unsigned short bits;
};
inline __half __ushort_as_half(unsigned short b) { return __half{b}; }
inline float __half2float(__half h) { return mixcon::f16_to_f32(h.bits); }
inline __half __float2half_rn(float f) { return __half{mixcon::f32_to_f16(f)}; }
inline unsigned short __half_as_ushort(__half h) { return h.bits; }
