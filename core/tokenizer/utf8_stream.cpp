#include "core/tokenizer/utf8_stream.h"

#include "core/tokenizer/utf8.h"

namespace mixcon {

void Utf8Stream::flush(std::string* out) {
  for (int i = 0; i < state_.n_pending; ++i) out->append(kUtf8Replacement);
  if (state_.n_pending > 0) state_.started = true;
  state_.n_pending = 0;
}

void Utf8Stream::push_byte(uint8_t b, std::string* out) {
  State& st = state_;
  if (st.n_pending == 0) {
    const int len = utf8_sequence_length(b);
    if (len == 1) {
      out->push_back(static_cast<char>(b));
      st.started = true;
    } else if (len == 0) {
      out->append(kUtf8Replacement);
      st.started = true;
    } else {
      st.pending[st.n_pending++] = b;
    }
    return;
  }
  if (utf8_continues(st.pending, st.n_pending, b)) {
    st.pending[st.n_pending++] = b;
    if (st.n_pending == utf8_sequence_length(st.pending[0])) {
      out->append(reinterpret_cast<const char*>(st.pending), st.n_pending);
      st.n_pending = 0;
      st.started = true;
    }
    return;
  }
  // The held sequence is broken: like SentencePiece, replace its first byte
  // and decode again from the byte after it.
  uint8_t rest[4];
  int n_rest = 0;
  for (int i = 1; i < st.n_pending; ++i) rest[n_rest++] = st.pending[i];
  rest[n_rest++] = b;
  st.n_pending = 0;
  out->append(kUtf8Replacement);
  st.started = true;
  for (int i = 0; i < n_rest; ++i) push_byte(rest[i], out);
}

void Utf8Stream::push(int32_t id, std::string* out) {
  const std::string_view s = tok_->surface(id);
  switch (tok_->kind(id)) {
    case Tokenizer::PieceKind::Byte:
      push_byte(static_cast<uint8_t>(s[0]), out);
      return;
    case Tokenizer::PieceKind::Control:
      // Invisible, but it still ends a byte run in SentencePiece's decoder.
      flush(out);
      return;
    case Tokenizer::PieceKind::Unknown:
      flush(out);
      out->append(s);
      if (!s.empty()) state_.started = true;
      return;
    case Tokenizer::PieceKind::Text: {
      flush(out);
      std::string_view t = s;
      if (!state_.started && tok_->drops_leading_space(id)) t.remove_prefix(1);
      out->append(t);
      if (!t.empty()) state_.started = true;
      return;
    }
  }
}

}  // namespace mixcon
