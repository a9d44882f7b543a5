// Overflow-checked size arithmetic: every size read from a file goes through
// these before it is used to allocate or index.
#pragma once

#include <cstdint>

namespace mixcon {

// a * b for non-negative a, b; false (and *out untouched) if it exceeds int64.
inline bool checked_mul(int64_t a, int64_t b, int64_t* out) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_mul_overflow(a, b, &r)) return false;
  if (out) *out = r;
  return true;
}

inline bool checked_add(int64_t a, int64_t b, int64_t* out) {
  int64_t r;
  if (a < 0 || b < 0 || __builtin_add_overflow(a, b, &r)) return false;
  if (out) *out = r;
  return true;
}

}  // namespace mixcon
