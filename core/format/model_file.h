// Reading a .mixc file (FORMAT.md): header, JSON, payloads, zstd, checksums, mmap.
//
// This layer knows the file, not the network: it hands over the validated
// config, named/typed/shaped payload bytes, blobs and metadata. Every reject
// rule of FORMAT.md throws mixcon::Error with a message naming the file (the
// label), the field or tensor, and the reason:
//   Status::Io          the file cannot be opened or read
//   Status::Unsupported major version != 1
//   Status::Checksum    header or payload XXH64 mismatch
//   Status::Format      everything else (magic, sizes, JSON, config, tensors, offsets, zstd)
//   Status::Cancelled   the progress callback asked to stop
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/format/config.h"
#include "core/format/dtype.h"

namespace mixcon {

struct TensorData {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const uint8_t* data;  // decoded payload, 64-byte aligned, valid while the ModelFile lives
  int64_t nbytes;
  int64_t numel() const;
};

struct TokenizerSpec {
  std::string kind = "none";  // "sentencepiece" or "none"
  std::string blob;           // blob name holding the serialized ModelProto
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1;
  bool add_bos = false;
};

struct ReadOptions {
  bool verify_checksums = true;
  bool use_mmap = true;  // map raw payloads instead of copying them (path loads only)
  // Called with the fraction done (0..1); returning false cancels the load.
  std::function<bool(double)> progress;
  // Threads that decode and hash payloads; 0 = OpenMP's default.
  int n_threads = 0;
};

class ModelFile {
 public:
  static std::unique_ptr<ModelFile> open(const std::string& path, const ReadOptions& opts);
  // The bytes are copied where needed; the caller's buffer may go after the call.
  static std::unique_ptr<ModelFile> from_memory(const void* data, int64_t size,
                                                const ReadOptions& opts,
                                                const std::string& label = "<memory>");
  ~ModelFile();
  ModelFile(const ModelFile&) = delete;
  ModelFile& operator=(const ModelFile&) = delete;

  const std::string& label() const;
  const ModelConfig& config() const;
  const TokenizerSpec& tokenizer() const;
  const std::string& metadata_json() const;      // "{}" when absent
  const std::vector<TensorData>& tensors() const;  // sorted by name
  const TensorData* find(const std::string& name) const;  // nullptr if absent
  // Decoded blob bytes, nullptr if absent.
  const std::vector<uint8_t>* blob(const std::string& name) const;
  // Names of every blob, sorted.
  std::vector<std::string> blob_names() const;
  // XXH64 of the JSON header bytes: identifies this exact model.
  uint64_t fingerprint() const;
  int64_t file_size() const;

  struct Impl;
 private:
  explicit ModelFile(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mixcon
