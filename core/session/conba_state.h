// The Conba layers' session state (MODEL.md §4): per layer the conv window
// [K-1, D] (the last K-1 values of u, oldest first), the states h_{t-1} …
// h_{t-τ} and the control gain k_{t-1} [D]. None of it grows with the context.
//
// The states live in a ring of τ+1 slots [τ+1, D, N] with a head index (slot
// of h_{t-1}); the extra slot receives h_t, so a one-token feed overwrites no
// live state and is undone by restoring the head (see ConbaScanArgs). The
// small parts (windows, gains) are snapshotted before every feed, the rings
// only before a multi-token feed; the snapshot buffers are allocated here,
// once.
#pragma once

#include <cstdint>
#include <vector>

#include "core/model/model.h"
#include "core/session/device_buffer.h"

namespace mixcon {

class ConbaState {
 public:
  // Transfers run on `stream`, the session's (nullptr: the backend's own).
  ConbaState(const Model& model, Stream* stream);

  // Zero windows and states; k = gain_init.
  void reset();

  // Per model layer (must be a Conba layer).
  float* window(int64_t layer) const;
  float* ring(int64_t layer) const;
  float* gain(int64_t layer) const;
  int64_t head(int64_t layer) const { return heads_[idx(layer)]; }
  void set_head(int64_t layer, int64_t head) { heads_[idx(layer)] = head; }

  // Saves what a feed of `n_tokens` may change; restore() puts it back.
  void snapshot(int64_t n_tokens);
  void restore();

  // Same model: becomes a copy of `o`.
  void copy_from(const ConbaState& o);

  // The state in logical order, per Conba layer: window [K-1, D],
  // h_{t-1} … h_{t-τ} [τ, D, N], gain [D] (float32 LE).
  int64_t serialized_bytes() const;
  void serialize(uint8_t* dst) const;
  void deserialize(const uint8_t* src);

  int64_t bytes() const;  // live state and snapshot buffers

 private:
  // k = gain_init (windows and states untouched).
  void init_gains();
  size_t idx(int64_t layer) const { return static_cast<size_t>(slot_of_layer_[static_cast<size_t>(layer)]); }

  const Model& model_;
  const Backend& be_;
  Stream* stream_;
  int64_t n_conba_ = 0;
  int64_t D_ = 0, N_ = 0, K1_ = 0, ring_ = 1;
  int64_t small_floats_ = 0;  // per layer: window + gain
  int64_t ring_floats_ = 0;   // per layer: (ring+1)·D·N
  std::vector<int64_t> slot_of_layer_;  // model layer -> Conba index (-1: attention)
  std::vector<int64_t> conba_layers_;   // Conba index -> model layer
  DeviceBuffer small_, rings_, small_snap_, rings_snap_;
  std::vector<int64_t> heads_, heads_snap_;
  bool ring_snapshotted_ = false;
};

}  // namespace mixcon
