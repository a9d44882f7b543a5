// A portable, seedable random generator for sampling.
//
// xoshiro256** (Blackman & Vigna) seeded through splitmix64: the same seed
// gives the same stream on every compiler, standard library and machine,
// which std::uniform_real_distribution does not promise.
#pragma once

#include <cstdint>

namespace mixcon {

class Rng {
 public:
  struct State {
    uint64_t s[4];
  };

  explicit Rng(uint64_t seed) { reseed(seed); }

  void reseed(uint64_t seed) {
    uint64_t x = seed;
    for (uint64_t& w : state_.s) w = splitmix64(&x);
  }

  uint64_t next() {
    uint64_t* s = state_.s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits: exact, so every platform maps a
  // draw to the same double.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  const State& state() const { return state_; }
  void set_state(const State& st) { state_ = st; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t* x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  State state_;
};

}  // namespace mixcon
