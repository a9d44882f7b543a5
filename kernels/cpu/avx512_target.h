// What every AVX-512 kernel file (matmul_avx512.cpp, attention_avx512.cpp)
// starts with: the intrinsics, the function attributes that compile one
// function for AVX-512 without building the whole library for it (so the
// binary still runs on CPUs without it), and the warnings GCC 12's AVX-512
// intrinsics raise by passing an intentionally undefined vector.
#pragma once

#include "kernels/cpu/target_region.h"

#if defined(__GNUC__) && !defined(__clang__)  // clang has no -Wmaybe-uninitialized
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MIXCON_HAVE_AVX512_PATH 1
#define MIXCON_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define MIXCON_AVX512_INLINE MIXCON_AVX512 __attribute__((always_inline)) inline
// A region of a file compiled for AVX-512 (target_region.h; templates
// instantiated there: attention_tile_simd.h, conba_scan_simd.h).
#define MIXCON_AVX512_REGION_BEGIN MIXCON_TARGET_REGION_BEGIN("avx512f,avx512bw,avx512vl,fma,f16c")
#endif
