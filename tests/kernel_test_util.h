// Helpers the CPU kernel tests share: seeded random inputs and a scope that
// pins the kernel path (cpu_features.h).
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "kernels/cpu/cpu_features.h"

namespace mixcon {
namespace testutil {

// n floats uniform in [-a, a), the same for the same seed.
inline std::vector<float> rnd(int64_t n, uint32_t seed, float a = 1.0f) {
  std::mt19937 g(seed);
  std::uniform_real_distribution<float> d(-a, a);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(g);
  return v;
}

// Pins the kernel path for one scope; ok() is false (and nothing is pinned)
// when the CPU lacks it.
class ForcedPath {
 public:
  explicit ForcedPath(cpu::KernelPath p) : ok_(cpu::force_kernel_path(p)) {}
  ~ForcedPath() { cpu::clear_forced_kernel_path(); }
  ForcedPath(const ForcedPath&) = delete;
  ForcedPath& operator=(const ForcedPath&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

}  // namespace testutil
}  // namespace mixcon
