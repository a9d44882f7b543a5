// A loaded model: the file, its config, the weights made usable by a backend.
// Immutable after create(), shared by every session (any thread).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/backend.h"
#include "core/format/config.h"
#include "core/format/dtype.h"
#include "core/format/model_file.h"
#include "core/model/weights.h"

namespace mixcon {

struct ModelOptions {
  Device device = Device::Cpu;
  int device_index = 0;
  int n_threads = 0;  // 0 = number of cores
};

class Model {
 public:
  // Takes ownership of the file (weights may point into its mapping).
  // Throws Error(Unsupported) for Device::Cuda while no CUDA backend is built.
  static std::shared_ptr<const Model> create(std::unique_ptr<ModelFile> file,
                                             const ModelOptions& opts);
  ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  const ModelConfig& config() const;
  const ModelFile& file() const { return *file_; }
  uint64_t fingerprint() const { return file_->fingerprint(); }
  int64_t n_params() const { return n_params_; }
  int64_t weight_bytes() const { return weight_bytes_; }  // as held in memory for compute
  DType weight_dtype() const { return weight_dtype_; }    // the large matrices' stored dtype
  Device device() const { return backend_->device(); }
  int n_threads() const { return n_threads_; }

  const Backend& backend() const { return *backend_; }
  const ModelWeights& weights() const { return weights_; }

 private:
  Model() = default;
  void load(const ModelOptions& opts);
  // Float32 copy of a small tensor in backend memory, through `transform`.
  const float* upload_f32(const TensorData& t, double (*transform)(double));
  const TensorData& tensor(const std::string& name) const;
  MatrixRef matrix(const std::string& name);

  std::unique_ptr<ModelFile> file_;
  std::unique_ptr<Backend> backend_;
  ModelWeights weights_;
  std::vector<void*> owned_;  // converted vectors in backend memory
  int n_threads_ = 1;
  int64_t n_params_ = 0;
  int64_t weight_bytes_ = 0;
  DType weight_dtype_ = DType::F32;
};

}  // namespace mixcon
