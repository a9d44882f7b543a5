#include "core/tokenizer/utf8.h"

namespace mixcon {

int utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

bool utf8_continues(const uint8_t* seq, int n, uint8_t b) {
  if (n >= utf8_sequence_length(seq[0])) return false;
  if (n == 1) {
    switch (seq[0]) {
      case 0xE0: return b >= 0xA0 && b <= 0xBF;  // no overlong 3-byte forms
      case 0xED: return b >= 0x80 && b <= 0x9F;  // no surrogates
      case 0xF0: return b >= 0x90 && b <= 0xBF;  // no overlong 4-byte forms
      case 0xF4: return b >= 0x80 && b <= 0x8F;  // nothing above U+10FFFF
      default: break;
    }
  }
  return b >= 0x80 && b <= 0xBF;
}

bool utf8_validate(std::string_view text, int64_t* bad_offset) {
  const auto* p = reinterpret_cast<const uint8_t*>(text.data());
  const int64_t n = static_cast<int64_t>(text.size());
  int64_t i = 0;
  while (i < n) {
    const int len = utf8_sequence_length(p[i]);
    bool ok = len > 0 && i + len <= n;
    for (int k = 1; ok && k < len; ++k) ok = utf8_continues(p + i, k, p[i + k]);
    if (!ok) {
      if (bad_offset) *bad_offset = i;
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace mixcon
