// Models for the C ABI, tokenizer, thread and CLI tests, made in-process with
// the library's own writer (tiny-random shape) and, where text is needed, a
// small SentencePiece BPE model with byte fallback trained on the spot.
#pragma once

#include <gtest/gtest.h>
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/format/model_writer.h"

namespace capi_test {

// Training text: words with accents (so é, ï, ü, ñ, ç are pieces of their
// own) but no emoji or CJK (so those go through byte fallback).
class WordIterator : public sentencepiece::SentenceIterator {
 public:
  WordIterator() {
    static const char* words[] = {"the",  "cat",   "sat",  "on",    "mat",   "café",  "naïve",
                                  "über", "déjà",  "vu",   "hello", "world", "river", "stone",
                                  "light", "señor", "garçon", "and", "of",   "a",     "to",
                                  "is",   "in",    "it",   "was",   "for",   "with",  "he"};
    const uint32_t n_words = sizeof(words) / sizeof(words[0]);
    uint32_t x = 12345;
    for (int s = 0; s < 600; ++s) {
      std::string line;
      for (int w = 0; w < 10; ++w) {
        x = x * 1664525u + 1013904223u;
        if (w) line += ' ';
        line += words[(x >> 16) % n_words];
      }
      lines_.push_back(line + ".");
    }
  }
  bool done() const override { return i_ >= lines_.size(); }
  void Next() override { ++i_; }
  const std::string& value() const override { return lines_[i_]; }
  sentencepiece::util::Status status() const override { return sentencepiece::util::Status(); }

 private:
  std::vector<std::string> lines_;
  size_t i_ = 0;
};

// A serialized SentencePiece ModelProto: BPE, byte fallback, ids 0..2 =
// <unk>, <s>, </s>. Deterministic.
inline const std::string& tokenizer_proto() {
  static const std::string proto = [] {
    WordIterator it;
    std::string out;
    const auto st = sentencepiece::SentencePieceTrainer::Train(
        "--model_type=bpe --vocab_size=400 --byte_fallback=true --character_coverage=1.0 "
        "--hard_vocab_limit=false --num_threads=1 --minloglevel=2",
        &it, &out);
    if (!st.ok()) throw std::runtime_error("SentencePiece training failed: " + st.ToString());
    return out;
  }();
  return proto;
}

inline int64_t tokenizer_pieces() {
  sentencepiece::SentencePieceProcessor sp;
  if (!sp.LoadFromSerializedProto(tokenizer_proto()).ok()) return -1;
  return sp.GetPieceSize();
}

// tiny-random weights; with a tokenizer the vocabulary is the tokenizer's.
inline mixcon::WriterInput tiny_model(uint64_t seed, bool with_tokenizer) {
  mixcon::ModelConfig c = mixcon::preset_config("tiny-random");
  if (with_tokenizer) c.vocab_size = tokenizer_pieces();
  mixcon::WriterInput in = mixcon::random_model(c, mixcon::DType::F32, seed);
  if (with_tokenizer) {
    const std::string& p = tokenizer_proto();
    in.blobs.push_back({"tokenizer.model", std::vector<uint8_t>(p.begin(), p.end())});
    in.tokenizer.kind = "sentencepiece";
    in.tokenizer.blob = "tokenizer.model";
    in.tokenizer.unk_id = 0;
    in.tokenizer.bos_id = 1;
    in.tokenizer.eos_id = 2;
    in.tokenizer.pad_id = -1;
    in.tokenizer.add_bos = true;
  }
  in.metadata_json = R"({"name":"capi-test","seed":)" + std::to_string(seed) + "}";
  return in;
}

// A model file in the temp directory, removed when the object goes.
class TempModel {
 public:
  TempModel(const mixcon::WriterInput& in, const std::string& name) {
    path_ = std::string(::testing::TempDir()) + "mixcon_" + name + "_" +
            std::to_string(::getpid()) + ".mixc";
    bytes_ = mixcon::write_model(in);
    std::ofstream f(path_, std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes_.data()), static_cast<std::streamsize>(bytes_.size()));
    if (!f) throw std::runtime_error("cannot write " + path_);
  }
  ~TempModel() { std::remove(path_.c_str()); }
  TempModel(const TempModel&) = delete;
  TempModel& operator=(const TempModel&) = delete;
  const std::string& path() const { return path_; }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::string path_;
  std::vector<uint8_t> bytes_;
};

}  // namespace capi_test
