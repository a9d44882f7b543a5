// A region of a file compiled for an instruction set the rest of the
// library is not built for (the SIMD templates are instantiated inside one),
// so the binary still runs on CPUs without it:
//
//   MIXCON_TARGET_REGION_BEGIN("avx2,fma,f16c")
//   ... functions ...
//   MIXCON_TARGET_REGION_END
//
// Open it after every other include, so no inline function shared with
// other files is compiled inside. GCC takes `#pragma GCC target`; clang
// ignores that and takes its own `#pragma clang attribute`, which puts the
// attribute on every function of the region (templates and member functions
// included).
#pragma once

#define MIXCON_PRAGMA(x) _Pragma(#x)
#if defined(__clang__)
#define MIXCON_TARGET_REGION_BEGIN(targets) \
  MIXCON_PRAGMA(clang attribute push(__attribute__((target(targets))), apply_to = function))
#define MIXCON_TARGET_REGION_END _Pragma("clang attribute pop")
#else
#define MIXCON_TARGET_REGION_BEGIN(targets) \
  MIXCON_PRAGMA(GCC push_options) MIXCON_PRAGMA(GCC target(targets))
#define MIXCON_TARGET_REGION_END _Pragma("GCC pop_options")
#endif
