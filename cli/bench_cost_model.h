// What one token costs a MixCon model, counted from its config and its
// stored tensors: the bytes a decode step must read (the roofline's
// numerator) and the FLOPs of a prefill token. Pure arithmetic, so the
// benchmark's ratios are checkable by hand.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/format/config.h"

namespace mixcon {
namespace bench {

struct StoredTensor {
  std::string name;
  int64_t nbytes = 0;  // as stored (the kernels read weights in their stored dtype)
  int64_t rows = 0;    // product of every dimension but the last
};

struct DecodeBytes {
  double weights = 0;      // every weight the step reads
  double kv_cache = 0;     // K and V rows of every attention layer, 0..context
  double conba_state = 0;  // h_{t-1} (and h_{t-tau}), conv window, gain
  double total() const { return weights + kv_cache + conba_state; }
};

// Bytes a single-token decode step reads at `context` cached tokens:
// - tok_embeddings: the one row looked up;
// - MoE expert stacks: top_k of n_experts experts. A single token's routing
//   picks exactly top_k distinct experts (moe_route never repeats one), and
//   only those run, so this is the count the routing gives on every step;
// - every other tensor in full (lm_head included);
// - KV: 2 · n_kv_heads keys/values of kv_row_bytes bytes each (head_dim
//   values in the session's KV dtype: 4·head_dim for f32, 2·head_dim for
//   f16/bf16, 34·head_dim/32 for q8_0) per cached token per attention layer;
// - Conba: the states the recurrence reads (h_{t-1}, plus h_{t-tau} with the
//   delay feature), the conv window and the gain, in f32.
DecodeBytes decode_bytes_per_token(const ModelConfig& c, const std::vector<StoredTensor>& tensors,
                                   double context, int64_t kv_row_bytes);

// FLOPs per token of a `prompt`-token prefill (one multiply-add = 2 FLOPs):
// every matrix product a token goes through (MoE: top_k experts), attention
// scores and weighted sums over the causal prefix (average prompt/2 keys),
// and the lm_head, which a prefill runs for the last token only
// (vocab·d_model·2 / prompt per token). The element-wise work (norms, conv,
// scan) is a few percent and is left out, which understates FLOPs, so the
// prefill roofline fraction is conservative.
double prefill_flops_per_token(const ModelConfig& c, int64_t prompt);

// 2 · n_attention_layers · n_kv_heads · kv_row_bytes (= PERF.md's
// head_dim · dtype bytes, q8_0 counting 34/32 bytes a value): what the KV
// cache must grow by per token.
int64_t expected_kv_bytes_per_token(const ModelConfig& c, int64_t kv_row_bytes);

}  // namespace bench
}  // namespace mixcon
