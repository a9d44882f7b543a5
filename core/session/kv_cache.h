// The attention layers' key/value cache, allocated once for the session's
// max_context in the session's KV dtype (PERF.md: 2 × n_attn × n_kv_heads ×
// head_dim × dtype bytes per token).
//
// Head-major: per layer, K and V are [n_kv_heads][max_context][head_dim].
// Attention reads one KV head's keys in order, so each head is one
// contiguous stream the hardware prefetchers follow; token-major rows made
// every head a stride of n_kv_heads·head_dim values, which they lose at each
// page, and a 32K-token decode step waited on memory latency.
//
// f32 (the default) keeps attention exact to the reference; f16 and bf16
// halve the cache and what a long-context decode step reads, q8_0 (blocks of
// 32 values with an f16 scale, as the weights) takes 8.5 bits per value
// (llama.cpp's cache types), at the cost of rounding each key and value once.
// A q8_0 row is whole blocks, so its heads need head_dim % 32 == 0.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/model.h"
#include "core/session/device_buffer.h"

namespace mixcon {

class KvCache {
 public:
  // Throws Unsupported for a dtype other than F32, F16, BF16, Q8_0, and for
  // Q8_0 when head_dim is not a multiple of its 32-value blocks.
  KvCache(const Model& model, int64_t max_context, DType dtype);

  // Per model layer; nullptr for a Conba layer.
  void* k(int64_t layer) const { return k_[static_cast<size_t>(layer)].data(); }
  void* v(int64_t layer) const { return v_[static_cast<size_t>(layer)].data(); }
  DType dtype() const { return dtype_; }
  int64_t n_heads() const { return n_heads_; }
  int64_t head_dim() const { return head_dim_; }
  int64_t head_stride() const { return max_context_ * head_dim_; }  // elements
  // Bytes of one key (or value): head_dim values in the cache's dtype.
  int64_t row_bytes() const { return row_bytes_; }
  // Bytes of one token's keys (or values) over all heads.
  int64_t token_bytes() const { return n_heads_ * row_bytes_; }
  // Bytes from one head's keys to the next head's; bytes of the first
  // `tokens` keys of one head (what fork and state save/load copy per head).
  int64_t head_bytes() const { return max_context_ * row_bytes_; }
  int64_t run_bytes(int64_t tokens) const { return tokens * row_bytes_; }
  int64_t bytes() const;

 private:
  DType dtype_ = DType::F32;
  int64_t n_heads_ = 0, head_dim_ = 0, max_context_ = 0, row_bytes_ = 0;
  std::vector<DeviceBuffer> k_, v_;
};

// Whether `t` can be the KV cache dtype of a model with heads of head_dim
// (F32, F16, BF16; Q8_0 when head_dim % 32 == 0).
bool kv_dtype_supported(DType t, int64_t head_dim);

}  // namespace mixcon
