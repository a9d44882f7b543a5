#include "core/session/conba_state.h"

#include <cstring>

namespace mixcon {

ConbaState::ConbaState(const Model& model, Stream* stream)
    : model_(model), be_(model.backend()), stream_(stream) {
  const ModelConfig& c = model.config();
  D_ = c.conba.d_inner;
  N_ = c.conba.d_state;
  K1_ = c.conba.d_conv > 0 ? c.conba.d_conv - 1 : 0;
  ring_ = c.conba_ring();
  slot_of_layer_.assign(static_cast<size_t>(c.n_layers), -1);
  for (int64_t l = 0; l < c.n_layers; ++l)
    if (c.layer_types[l] == LayerType::Conba) {
      slot_of_layer_[static_cast<size_t>(l)] = n_conba_++;
      conba_layers_.push_back(l);
    }
  small_floats_ = (K1_ + 1) * D_;
  ring_floats_ = (ring_ + 1) * D_ * N_;
  const int64_t fb = static_cast<int64_t>(sizeof(float));
  small_ = DeviceBuffer(be_, n_conba_ * small_floats_ * fb);
  rings_ = DeviceBuffer(be_, n_conba_ * ring_floats_ * fb);
  small_snap_ = DeviceBuffer(be_, n_conba_ * small_floats_ * fb);
  rings_snap_ = DeviceBuffer(be_, n_conba_ * ring_floats_ * fb);
  heads_.assign(static_cast<size_t>(n_conba_), 0);
  heads_snap_ = heads_;
  // Backend::alloc gives zeroed memory: only the gains start elsewhere.
  // (Zeroing the rings again faulted in every page of a state a fork then
  // overwrites: ~1 ms of a bench-small session's 2 ms creation.)
  init_gains();
}

float* ConbaState::window(int64_t layer) const {
  return small_.f32() + static_cast<int64_t>(idx(layer)) * small_floats_;
}
float* ConbaState::gain(int64_t layer) const { return window(layer) + K1_ * D_; }
float* ConbaState::ring(int64_t layer) const {
  return rings_.f32() + static_cast<int64_t>(idx(layer)) * ring_floats_;
}

void ConbaState::reset() {
  be_.zero(stream_, small_.data(), small_.bytes());
  be_.zero(stream_, rings_.data(), rings_.bytes());
  for (int64_t& h : heads_) h = 0;
  init_gains();
}

void ConbaState::init_gains() {
  const ModelWeights& w = model_.weights();
  for (int64_t l : conba_layers_) {
    const std::vector<float>& g = w.layers[static_cast<size_t>(l)].conba.gain_init;
    if (!g.empty())
      be_.upload(stream_, gain(l), g.data(), static_cast<int64_t>(g.size() * sizeof(float)));
  }
}

void ConbaState::snapshot(int64_t n_tokens) {
  be_.copy(stream_, small_snap_.data(), small_.data(), small_.bytes());
  heads_snap_ = heads_;  // same size: no allocation
  // One token writes only the free slot of each ring (see the header).
  ring_snapshotted_ = n_tokens > 1;
  if (ring_snapshotted_) be_.copy(stream_, rings_snap_.data(), rings_.data(), rings_.bytes());
}

void ConbaState::restore() {
  be_.copy(stream_, small_.data(), small_snap_.data(), small_.bytes());
  heads_ = heads_snap_;
  if (ring_snapshotted_) be_.copy(stream_, rings_.data(), rings_snap_.data(), rings_.bytes());
}

void ConbaState::copy_from(const ConbaState& o) {
  be_.copy(stream_, small_.data(), o.small_.data(), small_.bytes());
  be_.copy(stream_, rings_.data(), o.rings_.data(), rings_.bytes());
  heads_ = o.heads_;
}

int64_t ConbaState::serialized_bytes() const {
  return n_conba_ * (K1_ * D_ + ring_ * D_ * N_ + D_) * static_cast<int64_t>(sizeof(float));
}

void ConbaState::serialize(uint8_t* dst) const {
  const int64_t fb = sizeof(float);
  const int64_t slots = ring_ + 1, slot = D_ * N_;
  for (int64_t l : conba_layers_) {
    be_.download(stream_, dst, window(l), K1_ * D_ * fb);
    dst += K1_ * D_ * fb;
    const int64_t head = heads_[idx(l)];
    for (int64_t k = 1; k <= ring_; ++k) {  // h_{t-k} is in slot head-k+1
      const int64_t s = (head - k + 1 + slots) % slots;
      be_.download(stream_, dst, ring(l) + s * slot, slot * fb);
      dst += slot * fb;
    }
    be_.download(stream_, dst, gain(l), D_ * fb);
    dst += D_ * fb;
  }
}

void ConbaState::deserialize(const uint8_t* src) {
  const int64_t fb = sizeof(float);
  const int64_t slots = ring_ + 1, slot = D_ * N_;
  for (int64_t l : conba_layers_) {
    be_.upload(stream_, window(l), src, K1_ * D_ * fb);
    src += K1_ * D_ * fb;
    // Loaded with head 0: h_{t-k} goes to slot 1-k (mod τ+1); the free slot
    // keeps whatever it held, it is written before it is read.
    for (int64_t k = 1; k <= ring_; ++k) {
      const int64_t s = (1 - k + slots) % slots;
      be_.upload(stream_, ring(l) + s * slot, src, slot * fb);
      src += slot * fb;
    }
    heads_[idx(l)] = 0;
    be_.upload(stream_, gain(l), src, D_ * fb);
    src += D_ * fb;
  }
}

int64_t ConbaState::bytes() const {
  return small_.bytes() + rings_.bytes() + small_snap_.bytes() + rings_snap_.bytes();
}

}  // namespace mixcon
