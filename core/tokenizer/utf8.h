// UTF-8 sequence rules (RFC 3629: no overlongs, no surrogates, <= U+10FFFF),
// shared by input validation and the streaming decoder.
#pragma once

#include <cstdint>
#include <string_view>

namespace mixcon {

// The replacement character U+FFFD, which stands for each byte that is not
// part of a valid sequence (as SentencePiece's decoder does).
inline constexpr std::string_view kUtf8Replacement = "\xEF\xBF\xBD";

// Length of the sequence that `lead` starts (1..4), or 0 if `lead` cannot
// start one (a continuation byte, C0, C1, F5..FF).
int utf8_sequence_length(uint8_t lead);

// Whether `b` may follow the bytes seq[0..n) (n >= 1, a valid incomplete
// prefix) inside one sequence. The second byte has narrower ranges after
// E0, ED, F0 and F4.
bool utf8_continues(const uint8_t* seq, int n, uint8_t b);

// True if text is entirely valid UTF-8; otherwise false and *bad_offset is
// the byte offset of the first invalid or incomplete sequence.
bool utf8_validate(std::string_view text, int64_t* bad_offset);

}  // namespace mixcon
