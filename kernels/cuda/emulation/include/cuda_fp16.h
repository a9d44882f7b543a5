// Emulated cuda_fp16.h: the one conversion the kernels use.
#pragma once

#include "core/format/dtype.h"
#include "cuda_emu_core.h"

struct __half {
  unsigned short bits;
};
inline __half __ushort_as_half(unsigned short b) { return __half{b}; }
inline float __half2float(__half h) { return mixcon::f16_to_f32(h.bits); }
