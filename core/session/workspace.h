// Every scratch buffer a feed needs, planned once from the config, the
// prefill chunk size and the thread count when the session is created, and
// carved from a single allocation: a feed allocates nothing.
#pragma once

#include <cstdint>
#include <vector>

#include "core/backend.h"
#include "core/model/forward.h"
#include "core/model/model.h"
#include "core/session/device_buffer.h"

namespace mixcon {

// Tokens per prefill chunk unless the session options say otherwise: long
// feeds run the network this many tokens at a time, which bounds the
// workspace. A prefill matrix product converts each block of weights once per
// chunk and uses it for every token of the chunk, so a bigger chunk is
// faster until the conversion is negligible: bench-small q8_0 prefill ran
// 1.4x faster at 512 than at 64 (a MoE expert sees only ~1/4 of a chunk's
// tokens), for ~50 MiB more workspace (calloc'd: untouched by decode-only
// sessions). 512 is also llama.cpp's default micro-batch.
constexpr int64_t kDefaultPrefillChunk = 512;
// Rows of the logits buffer: the head runs in batches of this many tokens
// when all logits are asked for (a vocabulary row is large).
constexpr int64_t kLogitsRows = 16;

class Workspace {
 public:
  // chunk: tokens per prefill pass, 1 .. max_context; activations: what
  // products round their activations to (F32: nothing; Q8_0 or BF16: plan
  // ExecContext::act); stream: the session's (ExecContext::stream).
  Workspace(const Model& model, int64_t chunk, int n_threads, DType activations, Stream* stream);

  const ForwardScratch& scratch() const { return scratch_; }
  const ExecContext& exec() const { return exec_; }
  int64_t bytes() const {
    return buffer_.bytes() + static_cast<int64_t>(host_.size() * sizeof(HostBlock));
  }

 private:
  struct alignas(64) HostBlock {
    uint8_t b[64];
  };
  ForwardScratch scratch_;
  ExecContext exec_;
  DeviceBuffer buffer_;        // backend memory: activations, logits, op scratch
  std::vector<HostBlock> host_;  // host memory: the MoE routing table
};

}  // namespace mixcon
