// Session::save_state / load_state: the versioned binary state format.
//
//   offset  size          field
//   0       4             magic "MXST"
//   4       4             u32 version (2)
//   8       8             u64 model fingerprint (ModelFile::fingerprint)
//   16      8             i64 position P
//   24      4             u32 KV dtype (mixcon_dtype: 0 f32, 1 f16, 2 bf16, 3 q8_0)
//   28      4·P           i32 token history
//   …       per attention layer, in layer order: K, then V, each
//           [n_kv_heads][P][head_dim] in the KV dtype (the cache's own
//           head-major order, so each head saves and loads as one run; a
//           q8_0 row of head_dim values is head_dim/32 blocks of 34 bytes)
//   …       per Conba layer, in layer order: conv window [K-1, D], states
//           h_{t-1} … h_{t-τ} [τ, D, N], gain k [D] (f32; k is 0 without control)
//   …       1             u8 has_logits; then f32 logits [vocab] when 1
//   end-8   8             u64 XXH64 (seed 0) of every byte before it
// All little-endian. The size follows from P, the KV dtype and has_logits,
// so a buffer of any other size is rejected before anything is read into the
// session. Version 1 (SDK 0.1 before the KV dtype option) is version 2
// without the dtype field, with an f32 cache in token-major rows
// ([P][n_kv_heads·head_dim]); it still loads.
//
// A state is saved in its session's KV dtype and loads into a session of any
// KV dtype: the rows are converted (f32 → f16/bf16 rounds to nearest even,
// → q8_0 quantizes as the file writer does, the other way is exact), so a
// conversation saved from an f32 session can continue in a smaller one.
#include <xxhash.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/common/status.h"
#include "core/session/session.h"

namespace mixcon {
namespace {

constexpr char kMagic[4] = {'M', 'X', 'S', 'T'};
constexpr uint32_t kVersion = 2;
constexpr int64_t kHeaderBytesV1 = 4 + 4 + 8 + 8;
constexpr int64_t kHeaderBytes = kHeaderBytesV1 + 4;
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
  return kHeaderBytes + position_ * 4 + attention_layers(c) * 2 * position_ * kv_.token_bytes() +
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
  put<uint32_t>(p, static_cast<uint32_t>(kv_.dtype()));
  std::memcpy(p, history_.data(), static_cast<size_t>(position_) * 4);
  p += position_ * 4;
  const int64_t run = kv_.run_bytes(position_), head_bytes = kv_.head_bytes();
  for (int64_t l = 0; l < c.n_layers; ++l) {
    if (c.layer_types[l] != LayerType::Attention) continue;
    for (const void* cache : {kv_.k(l), kv_.v(l)})
      for (int64_t g = 0; g < kv_.n_heads(); ++g) {
        be.download(stream_.get(), p, static_cast<const uint8_t*>(cache) + g * head_bytes, run);
        p += run;
      }
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
  if (n < kHeaderBytesV1 + 1 + kChecksumBytes)
    fail(Status::Format, "load_state: " + std::to_string(n) + " bytes is too short for a state");
  if (std::memcmp(src, kMagic, 4) != 0)
    fail(Status::Format, "load_state: not a MixCon session state (bad magic)");
  const uint32_t version = get<uint32_t>(src + 4);
  if (version != 1 && version != kVersion)
    fail(Status::Format, "load_state: state version " + std::to_string(version) +
                             " is not supported (this library reads 1 and " +
                             std::to_string(kVersion) + ")");
  const int64_t header = version == 1 ? kHeaderBytesV1 : kHeaderBytes;
  if (n < header + 1 + kChecksumBytes)
    fail(Status::Format, "load_state: " + std::to_string(n) + " bytes is too short for a state");
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
  DType stored_kv = DType::F32;
  if (version >= 2) {
    const uint32_t t = get<uint32_t>(src + kHeaderBytesV1);
    if (t > static_cast<uint32_t>(DType::Q8_0) || !kv_dtype_supported(static_cast<DType>(t), kv_.head_dim()))
      fail(Status::Format, "load_state: KV dtype " + std::to_string(t) +
                               " is not a cache type of this model (f32, f16, bf16, q8_0)");
    stored_kv = static_cast<DType>(t);
  }
  const int64_t H = kv_.n_heads(), hd = kv_.head_dim();
  const int64_t kv_bytes = pos * H * dtype_row_bytes(stored_kv, hd);  // K (or V) of one layer
  const int64_t body = header + pos * 4 + attention_layers(c) * 2 * kv_bytes +
                       conba_.serialized_bytes();
  if (n != body + 1 + kChecksumBytes && n != body + 1 + c.vocab_size * fb + kChecksumBytes)
    fail(Status::Format, "load_state: size " + std::to_string(n) +
                             " does not match a state at position " + std::to_string(pos));
  const uint8_t flag = src[body];
  const bool with_logits = flag == 1;
  if (flag > 1 || (n == body + 1 + kChecksumBytes) == with_logits)
    fail(Status::Format, "load_state: logits flag does not match the state's size");
  const uint8_t* hist = src + header;
  for (int64_t i = 0; i < pos; ++i) {
    const int32_t t = get<int32_t>(hist + i * 4);
    if (t < 0 || t >= c.vocab_size)
      fail(Status::Format, "load_state: token " + std::to_string(i) + " of the history is out of range");
  }
  // A version-1 state (token-major) or one of another KV dtype is rearranged
  // and converted through host memory, taken now so that nothing after the
  // validation can fail.
  const Backend& be = model_->backend();
  const bool token_major = version == 1;
  const bool convert = token_major || stored_kv != kv_.dtype();
  const int64_t in_row = dtype_row_bytes(stored_kv, hd), out_row = dtype_row_bytes(kv_.dtype(), hd);
  std::vector<uint8_t> converted(convert ? static_cast<size_t>(pos * H * out_row) : 0);
  std::vector<float> row(convert ? static_cast<size_t>(hd) : 0);
  const int64_t run = kv_.run_bytes(pos), head_bytes = kv_.head_bytes();
  auto upload_heads = [&](void* cache, const uint8_t* src) {
    const uint8_t* from = src;
    if (convert) {
      for (int64_t g = 0; g < H; ++g)
        for (int64_t i = 0; i < pos; ++i) {
          const int64_t at = token_major ? i * H + g : g * pos + i;  // in rows of hd values
          dequantize_row(stored_kv, src + at * in_row, row.data(), hd);
          quantize_row(kv_.dtype(), row.data(), converted.data() + (g * pos + i) * out_row, hd);
        }
      from = converted.data();
    }
    for (int64_t g = 0; g < H; ++g) be.upload(stream_.get(), static_cast<uint8_t*>(cache) + g * head_bytes, from + g * run, run);
  };

  // Validated: nothing below can fail.
  std::memcpy(history_.data(), hist, static_cast<size_t>(pos) * 4);
  const uint8_t* p = hist + pos * 4;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    if (c.layer_types[l] != LayerType::Attention) continue;
    upload_heads(kv_.k(l), p);
    p += kv_bytes;
    upload_heads(kv_.v(l), p);
    p += kv_bytes;
  }
  conba_.deserialize(p);
  p += conba_.serialized_bytes() + 1;
  if (with_logits) std::memcpy(logits_.data(), p, logits_.size() * sizeof(float));
  has_logits_ = with_logits;
  position_ = pos;
}

}  // namespace mixcon
