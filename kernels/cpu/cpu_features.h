// Which instruction-set path the CPU kernels take, chosen once at run time
// from the CPU's features (never from the build machine's: nothing is
// compiled with -march=native, each fast function carries its own target
// attribute), with a portable path that runs everywhere.
//
// The path can be pinned, for the tests (every path available on the CPU is
// checked against the portable one) and for side-by-side measurements:
//   MIXCON_CPU_KERNELS=portable|avx2|avx512  (read once; a path the CPU lacks
//   or an unknown name is ignored, so the fastest available path is used).
#pragma once

namespace mixcon {
namespace cpu {

enum class KernelPath {
  Portable = 0,  // plain C++ loops
  Avx2 = 1,      // AVX2 + FMA + F16C, 8-lane dot products
  Avx512 = 2,    // AVX-512 F/BW/VL: 16-lane register-tiled matrix products
};

const char* kernel_path_name(KernelPath p);  // "portable", "avx2-fma", "avx512"
bool cpu_supports(KernelPath p);
// F16C (half-float conversions), which the AVX2 and AVX-512 paths also use.
bool cpu_has_f16c();
// The dot-product instructions of the narrow-activation products: AVX-512
// VNNI and AVX512_BF16 (used on the AVX-512 path), AVX-VNNI (the 256-bit
// VEX vpdpbusd, used on the AVX2 path). By CPUID: clang 14's
// __builtin_cpu_supports knows none of "avxvnni".
bool cpu_has_avx512_vnni();
bool cpu_has_avx512_bf16();
bool cpu_has_avx_vnni();
// The fastest path this CPU supports.
KernelPath best_kernel_path();
// The path the kernels use now: a forced one, else MIXCON_CPU_KERNELS, else
// best_kernel_path().
KernelPath kernel_path();

// Tests only: make every kernel use `p` until cleared. Returns false (and
// changes nothing) when the CPU lacks `p`. Not for use while other threads
// run kernels.
bool force_kernel_path(KernelPath p);
void clear_forced_kernel_path();

}  // namespace cpu
}  // namespace mixcon
