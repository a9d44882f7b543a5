// Session::save_state / load_state: the versioned binary state format.
//
//   offset  size          field
//   0       4             magic "MXST"
//   4       4             u32 version (1)
//   8       8             u64 model fingerprint (ModelFile::fingerprint)
//   16      8             i64 position P
//   24      4·P           i32 token history
//   …       per attention layer, in layer order: K rows [0, P), then V rows
//           [0, P), f32 [P, n_kv_heads·head_dim] each
//   …       per Conba layer, in layer order: conv window [K-1, D], states
//           h_{t-1} … h_{t-τ} [τ, D, N], gain k [D] (f32; k is 0 without control)
//   …       1             u8 has_logits; then f32 logits [vocab] when 1
//   end-8   8             u64 XXH64 (seed 0) of every byte before it
// All little-endian. The size follows from P and has_logits, so a buffer of
// any other size is rejected before anything is read into the session.
#include <xxhash.h>

#include <cstring>
#include <string>

#include "core/common/status.h"
#include "core/session/session.h"

namespace mixcon {
namespace {

constexpr char kMagic[4] = {'M', 'X', 'S', 'T'};
constexpr uint32_t kVersion = 1;
constexpr int64_t kHeaderBytes = 4 + 4 + 8 + 8;
constexpr int64_t kChecksumBytes = 8;

template <class T>
void put(uint8_t*& p, T v) {
  std::memcpy(p, &v, sizeof v);
  p += sizeof v;
}
template <class T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

int64_t attention_layers(const ModelConfig& c) { return c.count_layers(LayerType::Attention); }

}  // namespace

int64_t Session::state_size() const {
  const ModelConfig& c = model_->config();
  const int64_t fb = sizeof(float);
  return kHeaderBytes + position_ * 4 + attention_layers(c) * 2 * position_ * kv_.row_floats() * fb +
         conba_.serialized_bytes() + 1 + (has_logits_ ? c.vocab_size * fb : 0) + kChecksumBytes;
}

void Session::save_state(uint8_t* dst, int64_t cap) const {
  const int64_t need = state_size();
  if (!dst) fail(Status::InvalidArgument, "save_state: buffer is NULL");
  if (cap < need)
    fail(Status::BufferTooSmall, "save_state: the state needs " + std::to_string(need) +
                                     " bytes, the buffer has " + std::to_string(cap));
  const ModelConfig& c = model_->config();
  const Backend& be = model_->backend();
  uint8_t* p = dst;
  std::memcpy(p, kMagic, 4);
  p += 4;
  put<uint32_t>(p, kVersion);
  put<uint64_t>(p, model_->fingerprint());
  put<int64_t>(p, position_);
  std::memcpy(p, history_.data(), static_cast<size_t>(position_) * 4);
  p += position_ * 4;
  const int64_t kv_bytes = position_ * kv_.row_floats() * static_cast<int64_t>(sizeof(float));
  for (int64_t l = 0; l < c.n_layers; ++l) {
    if (c.layer_types[l] != LayerType::Attention) continue;
    be.download(p, kv_.k(l), kv_bytes);
    p += kv_bytes;
    be.download(p, kv_.v(l), kv_bytes);
    p += kv_bytes;
  }
  conba_.serialize(p);
  p += conba_.serialized_bytes();
  put<uint8_t>(p, has_logits_ ? 1 : 0);
  if (has_logits_) {
    std::memcpy(p, logits_.data(), logits_.size() * sizeof(float));
    p += logits_.size() * sizeof(float);
  }
  put<uint64_t>(p, XXH64(dst, static_cast<size_t>(p - dst), 0));
}

void Session::load_state(const uint8_t* src, int64_t n) {
  if (!src) fail(Status::InvalidArgument, "load_state: buffer is NULL");
  const ModelConfig& c = model_->config();
  const int64_t fb = sizeof(float);
  if (n < kHeaderBytes + 1 + kChecksumBytes)
    fail(Status::Format, "load_state: " + std::to_string(n) + " bytes is too short for a state");
  if (std::memcmp(src, kMagic, 4) != 0)
    fail(Status::Format, "load_state: not a MixCon session state (bad magic)");
  const uint32_t version = get<uint32_t>(src + 4);
  if (version != kVersion)
    fail(Status::Format, "load_state: state version " + std::to_string(version) +
                             " is not supported (expected " + std::to_string(kVersion) + ")");
  const uint64_t stored = get<uint64_t>(src + n - kChecksumBytes);
  if (XXH64(src, static_cast<size_t>(n - kChecksumBytes), 0) != stored)
    fail(Status::Checksum, "load_state: checksum mismatch (damaged or truncated state)");
  if (get<uint64_t>(src + 8) != model_->fingerprint())
    fail(Status::InvalidArgument, "load_state: state belongs to another model");
  const int64_t pos = get<int64_t>(src + 16);
  if (pos < 0 || pos > c.max_context)
    fail(Status::Format, "load_state: position " + std::to_string(pos) + " is out of range");
  if (pos > max_context_)
    fail(Status::ContextFull, "load_state: the state's position " + std::to_string(pos) +
                                  " exceeds this session's max_context " +
                                  std::to_string(max_context_));
  const int64_t kv_bytes = pos * kv_.row_floats() * fb;
  const int64_t body = kHeaderBytes + pos * 4 + attention_layers(c) * 2 * kv_bytes +
                       conba_.serialized_bytes();
  if (n != body + 1 + kChecksumBytes && n != body + 1 + c.vocab_size * fb + kChecksumBytes)
    fail(Status::Format, "load_state: size " + std::to_string(n) +
                             " does not match a state at position " + std::to_string(pos));
  const uint8_t flag = src[body];
  const bool with_logits = flag == 1;
  if (flag > 1 || (n == body + 1 + kChecksumBytes) == with_logits)
    fail(Status::Format, "load_state: logits flag does not match the state's size");
  const uint8_t* hist = src + kHeaderBytes;
  for (int64_t i = 0; i < pos; ++i) {
    const int32_t t = get<int32_t>(hist + i * 4);
    if (t < 0 || t >= c.vocab_size)
      fail(Status::Format, "load_state: token " + std::to_string(i) + " of the history is out of range");
  }

  // Validated: nothing below can fail.
  const Backend& be = model_->backend();
  std::memcpy(history_.data(), hist, static_cast<size_t>(pos) * 4);
  const uint8_t* p = hist + pos * 4;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    if (c.layer_types[l] != LayerType::Attention) continue;
    be.upload(kv_.k(l), p, kv_bytes);
    p += kv_bytes;
    be.upload(kv_.v(l), p, kv_bytes);
    p += kv_bytes;
  }
  conba_.deserialize(p);
  p += conba_.serialized_bytes() + 1;
  if (with_logits) std::memcpy(logits_.data(), p, logits_.size() * sizeof(float));
  has_logits_ = with_logits;
  position_ = pos;
}

}  // namespace mixcon
