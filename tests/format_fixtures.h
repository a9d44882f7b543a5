// Small models and file surgery shared by the format-layer tests.
#pragma once

#include <cstring>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include "core/format/config.h"
#include "core/format/model_writer.h"

namespace mixcon_test {

using nlohmann::json;

// Every layer and FFN kind, tiny sizes, q8_0-friendly last dimensions.
inline mixcon::ModelConfig small_config() {
  using namespace mixcon;
  ModelConfig c;
  c.vocab_size = 64;
  c.d_model = 32;
  c.n_layers = 4;
  c.norm_eps = 1e-6;
  c.max_context = 256;
  c.layer_types = {LayerType::Conba, LayerType::Attention, LayerType::Conba, LayerType::Conba};
  c.ffn_types = {FfnType::Mlp, FfnType::Moe, FfnType::Mlp, FfnType::Moe};
  c.attention = {4, 2, 8, 0.0};
  c.conba.d_inner = 64;
  c.conba.d_state = 4;
  c.conba.d_conv = 4;
  c.conba.sel_rank = 4;
  c.conba.delay = 2;
  c.mlp.d_ff = 64;
  c.moe.n_experts = 4;
  c.moe.top_k = 2;
  c.moe.d_ff = 32;
  return c;
}

inline void put_varint(std::string* o, uint64_t v) {
  while (v >= 0x80) {
    o->push_back(char(v | 0x80));
    v >>= 7;
  }
  o->push_back(char(v));
}

// A serialized SentencePiece ModelProto (unigram) with `n` pieces: <unk>, <s>,
// </s>, then "▁p3", "▁p4", ... — written field by field, no trainer needed.
inline std::vector<uint8_t> sentencepiece_model(int n) {
  std::string m;
  for (int i = 0; i < n; ++i) {
    const std::string piece = i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>" : "\xe2\x96\x81p" + std::to_string(i);
    std::string p;
    p.push_back(0x0a);  // piece
    put_varint(&p, piece.size());
    p += piece;
    const float score = -float(i);
    char b[4];
    std::memcpy(b, &score, 4);
    p.push_back(0x15);  // score
    p.append(b, 4);
    p.push_back(0x18);  // type: UNKNOWN 2, CONTROL 3, NORMAL 1
    put_varint(&p, i == 0 ? 2 : i < 3 ? 3 : 1);
    m.push_back(0x0a);  // ModelProto.pieces
    put_varint(&m, p.size());
    m += p;
  }
  return std::vector<uint8_t>(m.begin(), m.end());
}

// small_config's random model with a SentencePiece tokenizer of the right size.
inline mixcon::WriterInput small_model(mixcon::DType dtype = mixcon::DType::F32, uint64_t seed = 7,
                                       mixcon::Codec codec = mixcon::Codec::Raw) {
  mixcon::WriterInput in = mixcon::random_model(small_config(), dtype, seed);
  in.tokenizer.kind = "sentencepiece";
  in.tokenizer.blob = "tokenizer.model";
  in.tokenizer.unk_id = 0;
  in.tokenizer.bos_id = 1;
  in.tokenizer.eos_id = 2;
  in.tokenizer.add_bos = true;
  in.blobs.push_back({"tokenizer.model", sentencepiece_model(int(small_config().vocab_size))});
  in.codec = codec;
  return in;
}

inline uint64_t le64(const std::vector<uint8_t>& f, size_t at) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | f[at + size_t(i)];
  return v;
}

inline void set_le(std::vector<uint8_t>* f, size_t at, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) (*f)[at + size_t(i)] = uint8_t(v >> (8 * i));
}

inline std::string header_text(const std::vector<uint8_t>& f) {
  return std::string(f.begin() + 32, f.begin() + 32 + long(le64(f, 16)));
}

inline size_t data_start_of(size_t header_size) { return (32 + header_size + 63) / 64 * 64; }

// Replaces the JSON header by `text` (any bytes), keeps every payload at the
// same offset from data_start, and fixes header_size and the header checksum.
inline std::vector<uint8_t> with_header_text(const std::vector<uint8_t>& f, const std::string& text) {
  const size_t old_hs = size_t(le64(f, 16));
  const size_t old_start = data_start_of(old_hs);
  const size_t new_start = data_start_of(text.size());
  const size_t tail = old_start < f.size() ? f.size() - old_start : 0;
  std::vector<uint8_t> out(new_start + tail, 0);
  std::memcpy(out.data(), f.data(), 32);
  std::memcpy(out.data() + 32, text.data(), text.size());
  if (tail > 0) std::memcpy(out.data() + new_start, f.data() + old_start, tail);
  set_le(&out, 16, text.size(), 8);
  set_le(&out, 24, XXH64(text.data(), text.size(), 0), 8);
  return out;
}

template <typename Edit>
std::vector<uint8_t> with_header(const std::vector<uint8_t>& f, Edit edit) {
  json j = json::parse(header_text(f));
  edit(j);
  return with_header_text(f, j.dump());
}

}  // namespace mixcon_test
