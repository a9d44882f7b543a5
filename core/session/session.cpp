#include "core/session/session.h"

#include <algorithm>
#include <string>

#include "core/common/status.h"

namespace mixcon {

int64_t Session::checked_max_context(const Model& model, const SessionOptions& opts) {
  const int64_t model_max = model.config().max_context;
  if (opts.max_context < 0 || opts.max_context > model_max)
    fail(Status::InvalidArgument, "max_context: must be in [0, " + std::to_string(model_max) +
                                      "] (0 = the model's), got " +
                                      std::to_string(opts.max_context));
  return opts.max_context == 0 ? model_max : opts.max_context;
}

static std::shared_ptr<const Model> non_null(std::shared_ptr<const Model> m) {
  if (!m) fail(Status::InvalidArgument, "Session: model is NULL");
  return m;
}

static int session_threads(const Model& model, const SessionOptions& opts) {
  if (opts.n_threads < 0)
    fail(Status::InvalidArgument, "n_threads: must be >= 0 (0 = the model's), got " +
                                      std::to_string(opts.n_threads));
  return opts.n_threads == 0 ? model.n_threads() : opts.n_threads;
}

static int64_t session_chunk(const SessionOptions& opts, int64_t max_context) {
  if (opts.prefill_chunk < 0)
    fail(Status::InvalidArgument, "prefill_chunk: must be >= 0 (0 = the default, " +
                                      std::to_string(kDefaultPrefillChunk) + "), got " +
                                      std::to_string(opts.prefill_chunk));
  const int64_t want = opts.prefill_chunk == 0 ? kDefaultPrefillChunk : opts.prefill_chunk;
  return std::max<int64_t>(1, std::min(want, max_context));
}

// What products round their activations to (SessionOptions::activation_dtype).
static DType session_activations(const Model& model, const SessionOptions& opts) {
  const DType t = opts.activation_dtype;
  if (t != DType::F32 && t != DType::Q8_0 && t != DType::BF16)
    fail(Status::Unsupported, std::string("activation_dtype: f32 (exact), q8_0 (int8 products "
                                          "with q8_0 weights) or bf16 (bf16 products with bf16 "
                                          "weights), not ") +
                                  dtype_name(t));
  if (t != DType::F32 && model.backend().activation_bytes(t, 1, 32) <= 0)
    fail(Status::Unsupported, std::string("activation_dtype: ") + dtype_name(t) +
                                  " activations are CPU-only; the " + model.backend().name() +
                                  " backend takes f32 or bf16");
  return t;
}

Session::Session(std::shared_ptr<const Model> model, const SessionOptions& opts)
    : model_(non_null(std::move(model))),
      opts_(opts),
      max_context_(checked_max_context(*model_, opts)),
      n_threads_(session_threads(*model_, opts)),
      stream_(model_->backend().create_stream()),
      kv_(*model_, max_context_, opts.kv_dtype),
      conba_(*model_, stream_.get()),
      ws_(*model_, session_chunk(opts, max_context_), n_threads_,
          session_activations(*model_, opts), stream_.get()) {
  const ModelConfig& c = model_->config();
  layers_.resize(static_cast<size_t>(c.n_layers));
  for (int64_t l = 0; l < c.n_layers; ++l) {
    LayerState& s = layers_[static_cast<size_t>(l)];
    if (c.layer_types[l] == LayerType::Attention) {
      s.k_cache = kv_.k(l);
      s.v_cache = kv_.v(l);
      s.kv_head_stride = kv_.head_stride();
      s.kv_dtype = kv_.dtype();
    } else {
      s.conv_window = conba_.window(l);
      s.h_ring = conba_.ring(l);
      s.gain = conba_.gain(l);
    }
  }
  history_.assign(static_cast<size_t>(max_context_), 0);
  logits_.assign(static_cast<size_t>(c.vocab_size), 0.0f);
  logits_next_.assign(static_cast<size_t>(c.vocab_size), 0.0f);
}

void Session::reset() {
  conba_.reset();
  position_ = 0;
  has_logits_ = false;
}

const float* Session::logits() const { return has_logits_ ? logits_.data() : nullptr; }

int64_t Session::n_vocab() const { return model_->config().vocab_size; }

void Session::feed(const int32_t* tokens, int64_t n, const std::atomic<bool>* cancel,
                   float* all_logits) {
  if (n < 1) fail(Status::InvalidArgument, "feed: n must be >= 1, got " + std::to_string(n));
  if (!tokens) fail(Status::InvalidArgument, "feed: tokens is NULL");
  const int64_t V = n_vocab();
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= V)
      fail(Status::InvalidArgument, "feed: tokens[" + std::to_string(i) + "] = " +
                                        std::to_string(tokens[i]) + " is outside [0, " +
                                        std::to_string(V) + ")");
  if (n > max_context_ - position_)
    fail(Status::ContextFull, "feed: " + std::to_string(n) + " tokens at position " +
                                  std::to_string(position_) + " exceed max_context " +
                                  std::to_string(max_context_));
  if (cancel && cancel->load(std::memory_order_relaxed))
    fail(Status::Cancelled, "feed cancelled");

  const ModelConfig& c = model_->config();
  conba_.snapshot(n);
  for (int64_t l = 0; l < c.n_layers; ++l)
    if (c.layer_types[l] == LayerType::Conba)
      layers_[static_cast<size_t>(l)].ring_head = conba_.head(l);
  try {
    const int64_t C = ws_.scratch().chunk;
    for (int64_t done = 0; done < n; done += C) {
      const int64_t m = std::min(C, n - done);
      forward_chunk(*model_, ws_.exec(), ws_.scratch(), layers_.data(), tokens + done, m,
                    position_ + done, logits_next_.data(),
                    all_logits ? all_logits + done * V : nullptr, cancel);
    }
  } catch (...) {
    // KV rows past position_ may hold this feed's keys: harmless, they are
    // beyond the position and overwritten by the next feed.
    conba_.restore();
    throw;
  }
  // Commit.
  for (int64_t l = 0; l < c.n_layers; ++l)
    if (c.layer_types[l] == LayerType::Conba)
      conba_.set_head(l, layers_[static_cast<size_t>(l)].ring_head);
  std::copy(tokens, tokens + n, history_.begin() + position_);
  position_ += n;
  logits_.swap(logits_next_);
  has_logits_ = true;
}

std::unique_ptr<Session> Session::fork() const {
  SessionOptions o = opts_;
  o.max_context = max_context_;
  o.n_threads = n_threads_;
  std::unique_ptr<Session> s(new Session(model_, o));
  const Backend& be = model_->backend();
  const ModelConfig& c = model_->config();
  // The copies run on the new session's stream: this session's own stream
  // must have finished writing what they read, and they must have finished
  // before this session (const here, free to be fed once fork returns) can
  // overwrite it.
  be.synchronize(stream_.get());
  // Each head's first position_ keys and values: one contiguous run per head.
  const int64_t run = kv_.run_bytes(position_), head_bytes = kv_.head_bytes();
  for (int64_t l = 0; l < c.n_layers; ++l)
    if (c.layer_types[l] == LayerType::Attention)
      for (int64_t g = 0; g < kv_.n_heads(); ++g) {
        be.copy(s->stream_.get(), static_cast<uint8_t*>(s->kv_.k(l)) + g * head_bytes,
                static_cast<const uint8_t*>(kv_.k(l)) + g * head_bytes, run);
        be.copy(s->stream_.get(), static_cast<uint8_t*>(s->kv_.v(l)) + g * head_bytes,
                static_cast<const uint8_t*>(kv_.v(l)) + g * head_bytes, run);
      }
  s->conba_.copy_from(conba_);
  be.synchronize(s->stream_.get());
  std::copy(history_.begin(), history_.begin() + position_, s->history_.begin());
  s->logits_ = logits_;
  s->has_logits_ = has_logits_;
  s->position_ = position_;
  return s;
}

int64_t Session::memory_bytes() const {
  return kv_.bytes() + conba_.bytes() + ws_.bytes() + (stream_ ? stream_->bytes() : 0) +
         static_cast<int64_t>((logits_.size() + logits_next_.size()) * sizeof(float));
}

}  // namespace mixcon
