#include "core/format/checksum.h"

#include <xxhash.h>

namespace mixcon {

uint64_t xxh64(const void* data, int64_t size) { return XXH64(data, size_t(size), 0); }

std::string xxh64_hex(uint64_t h) {
  static const char digits[] = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) s[size_t(i)] = digits[h & 0xf];
  return s;
}

bool parse_xxh64_hex(const std::string& s, uint64_t* out) {
  if (s.size() != 16) return false;
  uint64_t h = 0;
  for (char c : s) {
    int v;
    if (c >= '0' && c <= '9') v = c - '0';
    else if (c >= 'a' && c <= 'f') v = c - 'a' + 10;
    else return false;
    h = (h << 4) | uint64_t(v);
  }
  *out = h;
  return true;
}

}  // namespace mixcon
