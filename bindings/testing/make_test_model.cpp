// Writes the small random model the binding tests and samples run on:
// MODEL.md's "tiny-random" preset (every layer kind: attention, Conba, MLP,
// MoE), f32 weights, a fixed seed, and a SentencePiece tokenizer trained at
// build time (byte fallback, so any UTF-8 text, emoji included, round-trips).
// The vocabulary size is the tokenizer's piece count. Built and run at build
// time, so no test waits for a trained model.
//
// Usage: mixcon_make_test_model OUT.mixc SEED TOKENIZER.model
#include <sentencepiece_processor.h>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/format/model_writer.h"

static std::vector<uint8_t> read_file(const char* path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(std::string(path) + ": cannot open");
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s OUT.mixc SEED TOKENIZER.model\n", argv[0]);
    return 2;
  }
  const uint64_t seed = std::strtoull(argv[2], nullptr, 10);
  try {
    const std::vector<uint8_t> spm = read_file(argv[3]);
    sentencepiece::SentencePieceProcessor sp;
    const auto st = sp.LoadFromSerializedProto(std::string(spm.begin(), spm.end()));
    if (!st.ok()) throw std::runtime_error(std::string(argv[3]) + ": " + st.ToString());

    mixcon::ModelConfig config = mixcon::preset_config("tiny-random");
    config.vocab_size = sp.GetPieceSize();
    mixcon::WriterInput model = mixcon::random_model(config, mixcon::DType::F32, seed);
    model.tokenizer.kind = "sentencepiece";
    model.tokenizer.blob = "tokenizer.model";
    model.tokenizer.bos_id = sp.bos_id();
    model.tokenizer.eos_id = sp.eos_id();
    model.tokenizer.unk_id = sp.unk_id();
    model.tokenizer.pad_id = sp.pad_id();
    model.tokenizer.add_bos = true;
    model.blobs.push_back({"tokenizer.model", spm});
    model.metadata_json = "{\"name\":\"binding tests\",\"note\":\"random weights\"}";
    const std::vector<uint8_t> bytes = mixcon::write_model(model);
    std::FILE* f = std::fopen(argv[1], "wb");
    if (!f) {
      std::perror(argv[1]);
      return 1;
    }
    const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
    if (std::fclose(f) != 0 || !ok) {
      std::fprintf(stderr, "%s: write failed\n", argv[1]);
      return 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mixcon_make_test_model: %s\n", e.what());
    return 1;
  }
  return 0;
}
