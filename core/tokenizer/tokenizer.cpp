#include "core/tokenizer/tokenizer.h"

#include <algorithm>
#include <sentencepiece_processor.h>

#include "core/common/status.h"
#include "core/tokenizer/utf8.h"
#include "core/tokenizer/utf8_stream.h"

namespace mixcon {
namespace {

constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";  // U+2581 "▁"

std::string replace_space_symbols(std::string_view piece) {
  std::string out;
  out.reserve(piece.size());
  size_t i = 0;
  while (i < piece.size()) {
    if (piece.compare(i, kSpaceSymbol.size(), kSpaceSymbol) == 0) {
      out.push_back(' ');
      i += kSpaceSymbol.size();
    } else {
      out.push_back(piece[i++]);
    }
  }
  return out;
}

// "<0xAB>" -> 0xAB; -1 if the piece is not in that form.
int parse_byte_piece(const std::string& piece) {
  if (piece.size() != 6 || piece.compare(0, 3, "<0x") != 0 || piece[5] != '>') return -1;
  int v = 0;
  for (int i = 3; i < 5; ++i) {
    const char c = piece[i];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= c - '0';
    else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
    else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
    else return -1;
  }
  return v;
}

}  // namespace

Tokenizer::Tokenizer(const uint8_t* proto, int64_t size, const TokenizerSpec& spec,
                     int64_t vocab_size, const std::string& label)
    : spec_(spec), sp_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const std::string where = label + ": tokenizer blob '" + spec.blob + "': ";
  const auto st = sp_->LoadFromSerializedProto(
      std::string_view(reinterpret_cast<const char*>(proto), static_cast<size_t>(size)));
  if (!st.ok()) fail(Status::Format, where + "not a SentencePiece model (" + st.ToString() + ")");
  const int64_t n = sp_->GetPieceSize();
  if (n != vocab_size)
    fail(Status::Format, where + "has " + std::to_string(n) + " pieces but config.vocab_size is " +
                             std::to_string(vocab_size));
  const auto check_id = [&](const char* name, int32_t id) {
    if (id < -1 || id >= n)
      fail(Status::Format, label + ": tokenizer." + name + " = " + std::to_string(id) +
                               " is outside the vocabulary [0, " + std::to_string(n) + ")");
  };
  check_id("bos_id", spec.bos_id);
  check_id("eos_id", spec.eos_id);
  check_id("unk_id", spec.unk_id);
  check_id("pad_id", spec.pad_id);

  kinds_.resize(n);
  surfaces_.resize(n);
  drop_space_.assign(n, 0);
  int32_t probe = -1;  // a text piece "▁x", to learn whether a text's first space is dropped
  for (int32_t id = 0; id < n; ++id) {
    const std::string& p = sp_->IdToPiece(id);
    if (sp_->IsControl(id)) {
      kinds_[id] = PieceKind::Control;
    } else if (sp_->IsUnknown(id)) {
      kinds_[id] = PieceKind::Unknown;
      surfaces_[id] = sp_->DecodeIds({id});  // the model's unknown surface
    } else if (sp_->IsByte(id)) {
      const int b = parse_byte_piece(p);
      if (b < 0) fail(Status::Format, where + "byte piece " + std::to_string(id) + " '" + p +
                                          "' is not of the form <0xAB>");
      kinds_[id] = PieceKind::Byte;
      surfaces_[id] = std::string(1, static_cast<char>(b));
    } else {
      kinds_[id] = PieceKind::Text;
      surfaces_[id] = replace_space_symbols(p);
      const bool leading = p.compare(0, kSpaceSymbol.size(), kSpaceSymbol) == 0;
      drop_space_[id] = leading ? 1 : 0;
      if (leading && probe < 0 && p.size() > kSpaceSymbol.size()) probe = id;
    }
  }
  // SentencePiece drops the first space only when the normalizer adds a dummy
  // prefix or removes extra whitespace; ask the library instead of parsing
  // the normalizer spec.
  if (probe >= 0 && sp_->DecodeIds({probe}) == surfaces_[probe])
    std::fill(drop_space_.begin(), drop_space_.end(), 0);

  size_t longest = 0;
  for (const auto& s : surfaces_) longest = std::max(longest, s.size());
  max_piece_bytes_ = static_cast<int64_t>(longest + 4 * kUtf8Replacement.size());
}

Tokenizer::~Tokenizer() = default;

const std::string& Tokenizer::piece(int32_t id) const { return sp_->IdToPiece(id); }

void Tokenizer::encode(std::string_view text, bool add_bos, std::vector<int32_t>* out) const {
  int64_t bad = 0;
  if (!utf8_validate(text, &bad))
    fail(Status::InvalidArgument,
         "text is not valid UTF-8 at byte offset " + std::to_string(bad));
  std::vector<int> ids;
  const auto st = sp_->Encode(text, &ids);
  if (!st.ok()) fail(Status::Internal, "SentencePiece encode failed: " + st.ToString());
  if (add_bos && spec_.bos_id >= 0) out->push_back(spec_.bos_id);
  out->insert(out->end(), ids.begin(), ids.end());
}

std::string Tokenizer::decode(const int32_t* ids, int64_t n) const {
  std::string out;
  Utf8Stream stream(this);
  for (int64_t i = 0; i < n; ++i) {
    if (ids[i] < 0 || ids[i] >= n_vocab())
      fail(Status::InvalidArgument, "tokens[" + std::to_string(i) + "] = " +
                                        std::to_string(ids[i]) + " is outside the vocabulary [0, " +
                                        std::to_string(n_vocab()) + ")");
    stream.push(ids[i], &out);
  }
  stream.flush(&out);
  return out;
}

}  // namespace mixcon
