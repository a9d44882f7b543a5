// One conversation's state over a shared Model: KV cache, Conba state,
// logits, token history and position, and the planned workspace. Used by one
// thread at a time; any number of sessions may share a model.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "core/model/forward.h"
#include "core/model/model.h"
#include "core/session/conba_state.h"
#include "core/session/kv_cache.h"
#include "core/session/workspace.h"

namespace mixcon {

struct SessionOptions {
  int64_t max_context = 0;  // 0 = model's max_context; > model's → InvalidArgument
  int n_threads = 0;        // 0 = model's
  DType kv_dtype = DType::F32;  // F32, F16 or BF16 (see kv_cache.h); else Unsupported
  // Tokens per prefill pass (workspace.h): 0 = kDefaultPrefillChunk; clipped
  // to max_context; < 0 → InvalidArgument. Results do not depend on it.
  int64_t prefill_chunk = 0;
  // F32: every product exact (the default). Q8_0: products with q8_0 weights
  // round their activations to int8 per 32-value block and multiply in
  // integers (kernels/cpu/q8_activations.h) — faster, ~1e-3 relative error;
  // products with other weights stay exact. Q8_0 needs a backend that has
  // it (the CPU); else Unsupported. Other dtypes: Unsupported.
  DType activation_dtype = DType::F32;
};

class Session {
 public:
  Session(std::shared_ptr<const Model> model, const SessionOptions& opts);  // plans ALL memory here
  void reset();
  // Appends n tokens. Afterwards logits() holds the last token's logits; if
  // all_logits != nullptr it receives [n, vocab] floats (row i = logits after
  // tokens[i]). n == 1 uses the decode path (matrix-vector), n > 1 the prefill
  // path (matrix-matrix, chunked to the planned workspace size), same results
  // (MODEL.md §5).
  // Throws InvalidArgument (n < 1, tokens null, id out of [0, vocab)),
  // ContextFull (position()+n > max_context()), Cancelled (*cancel observed
  // true; checked before every layer and chunk).
  // ATOMIC: on any throw the session (position, KV cache contents in use,
  // Conba state, logits, token history) is exactly as before.
  void feed(const int32_t* tokens, int64_t n, const std::atomic<bool>* cancel = nullptr,
            float* all_logits = nullptr);
  const float* logits() const;  // nullptr before the first feed / after reset
  int64_t n_vocab() const;
  int64_t position() const { return position_; }  // tokens since reset
  int64_t max_context() const { return max_context_; }
  int64_t prefill_chunk() const { return ws_.scratch().chunk; }
  const int32_t* tokens() const { return history_.data(); }  // position() tokens since reset
  int64_t state_size() const;  // bytes save_state writes at the current position
  void save_state(uint8_t* dst, int64_t cap) const;  // throws BufferTooSmall (message says the needed size)
  void load_state(const uint8_t* src, int64_t n);    // throws Format/Checksum/InvalidArgument/ContextFull; unchanged on failure
  std::unique_ptr<Session> fork() const;             // independent copy
  int64_t memory_bytes() const;  // KV cache + Conba state + workspace + stream scratch + logits
  const std::shared_ptr<const Model>& model() const { return model_; }
  int n_threads() const { return n_threads_; }
  DType kv_dtype() const { return kv_.dtype(); }
  DType activation_dtype() const { return opts_.activation_dtype; }

 private:
  static int64_t checked_max_context(const Model& model, const SessionOptions& opts);

  std::shared_ptr<const Model> model_;
  SessionOptions opts_;
  int64_t max_context_;
  int n_threads_;
  // Before the buffers: created first, destroyed after them (a device
  // backend frees them once the stream's work is done).
  std::unique_ptr<Stream> stream_;  // this session's lane on the backend (nullptr: CPU)
  KvCache kv_;
  ConbaState conba_;
  Workspace ws_;
  std::vector<LayerState> layers_;  // views into kv_/conba_ for the forward pass
  std::vector<int32_t> history_;    // capacity max_context
  std::vector<float> logits_, logits_next_;  // committed / being computed (swapped on success)
  bool has_logits_ = false;
  int64_t position_ = 0;
};

}  // namespace mixcon
