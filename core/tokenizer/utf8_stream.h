// Streaming detokenization: fed one token at a time, it emits text that never
// splits a UTF-8 character, and the concatenation of everything it emits
// (plus flush()) is exactly Tokenizer::decode of the whole sequence.
//
// Approach: O(1) state per stream instead of re-decoding a growing window.
// Each token's bytes come from the tokenizer's surface table; the only state
// SentencePiece's decoder carries between tokens is (a) whether any text has
// been produced yet (the first piece drops its leading space) and (b) an
// incomplete UTF-8 sequence from byte-fallback tokens, held back here until
// it completes or a later byte/token shows it never will (each of its bytes
// then becomes U+FFFD, as in decode). The state is a small POD, so a caller
// can copy it, try a token, and commit or discard the result.
#pragma once

#include <cstdint>
#include <string>

#include "core/tokenizer/tokenizer.h"

namespace mixcon {

class Utf8Stream {
 public:
  struct State {
    bool started = false;   // some text has been produced
    uint8_t n_pending = 0;  // bytes of an incomplete sequence held back
    uint8_t pending[4] = {0, 0, 0, 0};
  };

  explicit Utf8Stream(const Tokenizer* tok) : tok_(tok) {}

  void reset() { state_ = State(); }
  const State& state() const { return state_; }
  void set_state(const State& st) { state_ = st; }

  // Appends the text that token `id` completes to *out (possibly nothing).
  // id must be in the vocabulary. Appends at most tok->max_piece_bytes().
  void push(int32_t id, std::string* out);

  // Appends the held-back bytes as U+FFFD each (what decode shows for a
  // sequence cut short) and forgets them.
  void flush(std::string* out);

 private:
  void push_byte(uint8_t b, std::string* out);

  const Tokenizer* tok_;
  State state_;
};

}  // namespace mixcon
