// The model's SentencePiece tokenizer (FORMAT.md: tokenizer kind
// "sentencepiece", the serialized ModelProto in a blob).
//
// Encoding goes through libsentencepiece. Decoding is done here, token by
// token, from a table of per-token surfaces built at load, so that whole-text
// detokenization and the streaming decoder (utf8_stream.h) share one rule set
// and agree byte for byte. The rules are SentencePiece's own (checked against
// SentencePieceProcessor::DecodeIds by tests/tokenizer_test.cpp):
//   - control tokens (BOS, EOS, ...) produce nothing;
//   - the unknown token produces the unknown surface (" \u2047 " by default);
//   - a text piece produces its piece with every U+2581 "▁" as a space, and
//     the first piece of a text that starts with "▁" loses that one space when
//     the model's normalizer adds a dummy prefix;
//   - byte-fallback pieces "<0xAB>" produce raw bytes; a byte that is not
//     part of a valid UTF-8 sequence becomes U+FFFD.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/format/model_file.h"

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace mixcon {

class Tokenizer {
 public:
  enum class PieceKind : uint8_t { Text, Control, Unknown, Byte };

  // Parses the serialized ModelProto. Throws Error(Format) naming `label` if it
  // does not parse, its piece count differs from vocab_size, or a special id
  // of `spec` is outside the vocabulary.
  Tokenizer(const uint8_t* proto, int64_t size, const TokenizerSpec& spec, int64_t vocab_size,
            const std::string& label);
  ~Tokenizer();
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  int64_t n_vocab() const { return static_cast<int64_t>(kinds_.size()); }
  const TokenizerSpec& spec() const { return spec_; }

  // Appends the ids of `text` to *out, after the BOS id when add_bos and the
  // model has one. Throws Error(InvalidArgument) for text that is not valid
  // UTF-8, naming the byte offset.
  void encode(std::string_view text, bool add_bos, std::vector<int32_t>* out) const;

  // The text of ids[0..n). Throws Error(InvalidArgument) for an id outside
  // the vocabulary, naming its index.
  std::string decode(const int32_t* ids, int64_t n) const;

  // Per-token decoding rules (id must be in range).
  PieceKind kind(int32_t id) const { return kinds_[id]; }
  // Text: the piece with spaces; Byte: its one byte; Unknown: the unknown
  // surface; Control: empty.
  std::string_view surface(int32_t id) const { return surfaces_[id]; }
  // Whether the surface of a Text piece begins with a space that the first
  // piece of a text drops.
  bool drops_leading_space(int32_t id) const { return drop_space_[id] != 0; }
  // The vocabulary entry as stored ("▁the", "<0x0A>", "<s>").
  const std::string& piece(int32_t id) const;

  // An upper bound on the bytes one streamed token can produce (its surface
  // plus up to four held-back bytes turned into U+FFFD).
  int64_t max_piece_bytes() const { return max_piece_bytes_; }

 private:
  TokenizerSpec spec_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> sp_;
  std::vector<PieceKind> kinds_;
  std::vector<std::string> surfaces_;
  std::vector<uint8_t> drop_space_;
  int64_t max_piece_bytes_ = 0;
};

}  // namespace mixcon
