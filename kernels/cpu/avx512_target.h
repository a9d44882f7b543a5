// What every AVX-512 kernel file (matmul_avx512.cpp, attention_avx512.cpp)
// starts with: the intrinsics, the function attributes that compile one
// function for AVX-512 without building the whole library for it (so the
// binary still runs on CPUs without it), and the warnings GCC 12's AVX-512
// intrinsics raise by passing an intentionally undefined vector.
#pragma once

#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define MIXCON_HAVE_AVX512_PATH 1
#define MIXCON_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,fma,f16c")))
#define MIXCON_AVX512_INLINE MIXCON_AVX512 __attribute__((always_inline)) inline
// A region of a file compiled for AVX-512 (templates instantiated there,
// attention_tile_simd.h, conba_scan_simd.h). Open it after every other
// include, so no inline function shared with other files is compiled inside.
// GCC takes `#pragma GCC target`; clang ignores it and takes its own
// `#pragma clang attribute`, which puts the attribute on every function of
// the region (templates and member functions included).
#if defined(__clang__)
#define MIXCON_AVX512_REGION_BEGIN \
  _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512vl,fma,f16c\"))), apply_to = function)")
#ifndef MIXCON_TARGET_REGION_END
#define MIXCON_TARGET_REGION_END _Pragma("clang attribute pop")
#endif
#else
#define MIXCON_AVX512_REGION_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512bw,avx512vl,fma,f16c\")")
#ifndef MIXCON_TARGET_REGION_END
#define MIXCON_TARGET_REGION_END _Pragma("GCC pop_options")
#endif
#endif
#endif
