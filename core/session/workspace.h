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

// Tokens per prefill chunk: long feeds run the network this many tokens at a
// time, which bounds the workspace and lets cancellation be seen between
// chunks. 64 rows of activations stay in L2 next to one weight row.
constexpr int64_t kPrefillChunk = 64;
// Rows of the logits buffer: the head runs in batches of this many tokens
// when all logits are asked for (a vocabulary row is large).
constexpr int64_t kLogitsRows = 16;

class Workspace {
 public:
  Workspace(const Model& model, int64_t max_context, int n_threads);

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
