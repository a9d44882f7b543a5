// The attention layers' key/value cache: float32 rows [max_context,
// n_kv_heads·head_dim] per attention layer, allocated once for the session's
// max_context (PERF.md: 2 × n_attn × n_kv_heads × head_dim × 4 bytes per token).
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/model.h"
#include "core/session/device_buffer.h"

namespace mixcon {

class KvCache {
 public:
  KvCache(const Model& model, int64_t max_context);

  // Per model layer; nullptr for a Conba layer.
  float* k(int64_t layer) const { return k_[static_cast<size_t>(layer)].f32(); }
  float* v(int64_t layer) const { return v_[static_cast<size_t>(layer)].f32(); }
  int64_t row_floats() const { return row_floats_; }  // n_kv_heads·head_dim
  int64_t bytes() const;

 private:
  int64_t row_floats_ = 0;
  std::vector<DeviceBuffer> k_, v_;
};

}  // namespace mixcon
