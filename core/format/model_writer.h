// Writing a .mixc file deterministically (FORMAT.md "Writers"): tensors in
// name order, smallest valid offsets, JSON with sorted keys and no spaces.
// Used by the tests and the benchmark to make models without Python.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/format/config.h"
#include "core/format/dtype.h"
#include "core/format/model_file.h"

namespace mixcon {

enum class Codec { Raw, Zstd };

struct WriterTensor {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;  // payload as stored for `dtype`
};

struct WriterBlob {
  std::string name;
  std::vector<uint8_t> bytes;
};

struct WriterInput {
  ModelConfig config;
  TokenizerSpec tokenizer;            // kind "none" unless a blob is given
  std::vector<WriterTensor> tensors;  // any order; written sorted by name
  std::vector<WriterBlob> blobs;
  std::string metadata_json = "{}";
  Codec codec = Codec::Raw;
  int zstd_level = 3;
};

// Throws Error(InvalidArgument) when a payload's bytes do not match its
// dtype and shape, a name repeats, or metadata_json is not a JSON object. It
// does not check the tensors against the config: the reader is the validator,
// and the tests write invalid files on purpose.
std::vector<uint8_t> write_model(const WriterInput& in);

// Everything a loaded file holds, ready to be written again (codec Raw; set
// `codec` to convert). write_model(writer_input_from(read(f))) == f for a file
// this writer produced.
WriterInput writer_input_from(const ModelFile& file);

// A random model of `config` (weights drawn from a seeded generator in the
// ranges a trained model has, so the network is stable), every large matrix
// stored as `dtype` (the rest f32). Deterministic for a given seed.
WriterInput random_model(const ModelConfig& config, DType dtype, uint64_t seed);

// MODEL.md §6 presets: "paper", "bench-small", "tiny-random". Throws
// Error(InvalidArgument) for another name.
ModelConfig preset_config(const std::string& name);

}  // namespace mixcon
