#include "kernels/cpu/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <initializer_list>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace mixcon {
namespace cpu {
bool cpu_has_f16c() {
#if defined(__x86_64__) || defined(__i386__)
  // CPUID leaf 1, ECX bit 29 (not every compiler's __builtin_cpu_supports
  // knows "f16c": clang 14 does not).
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && ((c >> 29) & 1u) != 0;
#else
  return false;
#endif
}

namespace {

// CPUID leaf 7 subleaf `sub`, register `reg` (0 EAX, 1 EBX, 2 ECX, 3 EDX), bit `bit`.
bool cpuid7(unsigned sub, int reg, int bit) {
#if defined(__x86_64__) || defined(__i386__)
  unsigned r[4] = {0, 0, 0, 0};
  return __get_cpuid_count(7, sub, &r[0], &r[1], &r[2], &r[3]) && ((r[reg] >> bit) & 1u) != 0;
#else
  (void)sub, (void)reg, (void)bit;
  return false;
#endif
}

}  // namespace

bool cpu_has_avx512_vnni() {
  static const bool has = cpu_supports(KernelPath::Avx512) && cpuid7(0, 2, 11);
  return has;
}
bool cpu_has_avx512_bf16() {
  static const bool has = cpu_supports(KernelPath::Avx512) && cpuid7(1, 0, 5);
  return has;
}
bool cpu_has_avx_vnni() {
  static const bool has = cpu_supports(KernelPath::Avx2) && cpuid7(1, 0, 4);
  return has;
}

namespace {

bool detect(KernelPath p) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
  switch (p) {
    case KernelPath::Portable: return true;
    case KernelPath::Avx2: return avx2;
    case KernelPath::Avx512:
      return avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl");
  }
  return false;
#else
  return p == KernelPath::Portable;
#endif
}

KernelPath from_environment() {
  const KernelPath best = best_kernel_path();
  const char* v = std::getenv("MIXCON_CPU_KERNELS");
  if (!v) return best;
  for (KernelPath p : {KernelPath::Portable, KernelPath::Avx2, KernelPath::Avx512})
    if ((std::strcmp(v, kernel_path_name(p)) == 0 ||
         (p == KernelPath::Avx2 && std::strcmp(v, "avx2") == 0)) &&
        cpu_supports(p))
      return p;
  return best;
}

// -1: nothing forced.
std::atomic<int> g_forced{-1};

}  // namespace

const char* kernel_path_name(KernelPath p) {
  switch (p) {
    case KernelPath::Portable: return "portable";
    case KernelPath::Avx2: return "avx2-fma";
    case KernelPath::Avx512: return "avx512";
  }
  return "portable";
}

bool cpu_supports(KernelPath p) {
  static const bool has[3] = {detect(KernelPath::Portable), detect(KernelPath::Avx2),
                              detect(KernelPath::Avx512)};
  return has[static_cast<int>(p)];
}

KernelPath best_kernel_path() {
  if (cpu_supports(KernelPath::Avx512)) return KernelPath::Avx512;
  if (cpu_supports(KernelPath::Avx2)) return KernelPath::Avx2;
  return KernelPath::Portable;
}

KernelPath kernel_path() {
  const int forced = g_forced.load(std::memory_order_relaxed);
  if (forced >= 0) return static_cast<KernelPath>(forced);
  static const KernelPath chosen = from_environment();
  return chosen;
}

bool force_kernel_path(KernelPath p) {
  if (!cpu_supports(p)) return false;
  g_forced.store(static_cast<int>(p), std::memory_order_relaxed);
  return true;
}

void clear_forced_kernel_path() { g_forced.store(-1, std::memory_order_relaxed); }

}  // namespace cpu
}  // namespace mixcon
