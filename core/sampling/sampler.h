// Choosing the next token from a row of logits.
//
// The order of the transformations, and what "off" means for each, is the
// contract documented in capi/mixcon.h (mixcon_sampler_options):
//   repetition penalty -> greedy (temperature 0) or
//   temperature -> top-k -> top-p -> min-p -> one seeded draw.
// Determinism: a portable generator (rng.h), a total order on candidates
// (higher logit first, lower id on ties) and sums in that fixed order on one
// thread, so the same seed and inputs give the same token everywhere.
#pragma once

#include <cstdint>
#include <vector>

#include "core/sampling/rng.h"

namespace mixcon {

struct SamplerOptions {
  float temperature = 0.8f;        // >= 0; 0 = greedy
  int32_t top_k = 40;              // >= 0; 0 = off
  float top_p = 0.95f;             // (0, 1]; 1 = off
  float min_p = 0.05f;             // [0, 1]; 0 = off
  float repetition_penalty = 1.0f; // > 0; 1 = off
  int64_t repetition_window = 64;  // > 0 tokens, 0 = off, -1 = whole history
  uint64_t seed = 0;
};

// A sampler is used by one thread at a time. Its working buffers grow to the
// vocabulary size on the first sample with that size and are reused after
// that, so steady-state sampling allocates nothing.
class Sampler {
 public:
  // Throws Error(InvalidArgument) naming the first option out of range.
  explicit Sampler(const SamplerOptions& opts);

  const SamplerOptions& options() const { return opts_; }

  // Picks a token from logits[0..n_vocab). `history` holds the tokens seen so
  // far (oldest first) for the repetition penalty; entries outside the
  // vocabulary are ignored. Throws Error(InvalidArgument) for n_vocab < 1 and
  // Error(Internal) for a NaN logit. Advances the random state by one draw
  // unless greedy.
  int32_t sample(const float* logits, int64_t n_vocab, const int32_t* history,
                 int64_t n_history);

  // The random state, so a caller can undo a draw whose step failed.
  Rng::State rng_state() const { return rng_.state(); }
  void set_rng_state(const Rng::State& st) { rng_.set_state(st); }

  // Reserves the buffers for n_vocab now (the only allocating call).
  void reserve(int64_t n_vocab);

 private:
  void apply_penalty(int64_t n_vocab, const int32_t* history, int64_t n_history);
  int32_t draw(int64_t n_vocab);

  SamplerOptions opts_;
  Rng rng_;
  std::vector<float> work_;       // n_vocab: the transformed logits
  std::vector<int32_t> cand_;     // n_vocab: candidate ids
  std::vector<double> prob_;      // n_vocab: candidate weights
  std::vector<uint8_t> seen_;     // n_vocab: marks for the penalty, all 0 between calls
};

}  // namespace mixcon
