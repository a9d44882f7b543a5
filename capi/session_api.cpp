// Session entry points: feeding, sampling, the text stream, state, cancel.
#include <cstring>

#include "errors.h"
#include "handles.h"
#include "struct_size.h"
#include "text_out.h"

using mixcon::Status;
using mixcon::capi::guard;
using mixcon::capi::require;

namespace {

mixcon_session_options default_session_options() {
  mixcon_session_options o;
  std::memset(&o, 0, sizeof o);
  o.struct_size = sizeof o;
  o.n_threads = 0;
  o.max_context = 0;
  o.kv_dtype = MIXCON_DTYPE_F32;
  o.activation_dtype = MIXCON_DTYPE_F32;
  return o;
}

// Every entry point that takes a session starts here.
void require_session(const mixcon_session* s) { require(s != nullptr, "session is NULL"); }

void check_tokens(const mixcon_session* s, const int32_t* tokens, int64_t n) {
  require(n >= 0, "n is negative");
  require(tokens != nullptr || n == 0, "tokens is NULL but n > 0");
  const int64_t n_vocab = s->session->n_vocab();
  for (int64_t i = 0; i < n; ++i)
    if (tokens[i] < 0 || tokens[i] >= n_vocab)
      mixcon::fail(Status::InvalidArgument,
                   "tokens[" + std::to_string(i) + "] = " + std::to_string(tokens[i]) +
                       " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
}

// A cancel raised while no call ran is observed by the next cancellable call
// (see "Cancellation" in mixcon.h), before it changes anything.
void take_pending_cancel(mixcon_session* s) {
  if (s->cancel.exchange(false))
    mixcon::fail(Status::Cancelled, "cancelled by mixcon_session_cancel before the call started");
}

void require_room(const mixcon_session* s, int64_t n) {
  const int64_t pos = s->session->position(), max = s->session->max_context();
  if (pos + n > max)
    mixcon::fail(Status::ContextFull, "the context is full: position " + std::to_string(pos) +
                                          " + " + std::to_string(n) + " tokens > max_context " +
                                          std::to_string(max));
}

// Keeps the text stream in step with tokens that entered the session without
// being asked for as text (prompts, plain steps): their text is the part of
// the session's text that precedes the next piece.
void advance_stream(mixcon_session* s, const int32_t* tokens, int64_t n) {
  if (!s->tokenizer) return;
  for (int64_t i = 0; i < n; ++i) {
    s->piece.clear();
    s->stream.push(tokens[i], &s->piece);
  }
  s->piece.clear();
}

// Feeds checked tokens; the session engine makes the feed itself atomic.
// The text stream is the caller's to advance.
void feed_engine(mixcon_session* s, const int32_t* tokens, int64_t n, float* all_logits) {
  take_pending_cancel(s);
  try {
    s->session->feed(tokens, n, &s->cancel, all_logits);
  } catch (const mixcon::Error& e) {
    if (e.status() == Status::Cancelled) s->cancel.store(false);
    throw;
  }
}

void feed_tokens(mixcon_session* s, const int32_t* tokens, int64_t n, float* all_logits) {
  feed_engine(s, tokens, n, all_logits);
  advance_stream(s, tokens, n);
}

void require_logits(const mixcon_session* s) {
  require(s->session->logits() != nullptr,
          "no logits yet: feed at least one token after create or reset");
}

int32_t sample_token(mixcon_session* s, mixcon_sampler* sampler) {
  const mixcon::Session& ss = *s->session;
  return sampler->sampler.sample(ss.logits(), ss.n_vocab(), ss.tokens(), ss.position());
}

// Restores the sampler's random state unless dismissed: a failed step must
// leave the sampler as it was (mixcon.h "Atomic failure").
class RngRollback {
 public:
  explicit RngRollback(mixcon::Sampler& s) : sampler_(s), state_(s.rng_state()) {}
  ~RngRollback() {
    if (armed_) sampler_.set_rng_state(state_);
  }
  void dismiss() { armed_ = false; }

 private:
  mixcon::Sampler& sampler_;
  mixcon::Rng::State state_;
  bool armed_ = true;
};

// Text stream rebuilt from the session's history (after a state load).
void rebuild_stream(mixcon_session* s) {
  s->stream.reset();
  advance_stream(s, s->session->tokens(), s->session->position());
}

int64_t size_query(const char* fn, const mixcon_session* s, int64_t (*get)(const mixcon_session*)) {
  if (!s) {
    mixcon::capi::record_error(fn, Status::InvalidArgument, "session is NULL");
    return -1;
  }
  int64_t v = -1;
  // Only the size computations can throw; the guard keeps them inside.
  guard(fn, [&] { v = get(s); });
  return v;
}

}  // namespace

extern "C" {

MIXCON_API mixcon_status mixcon_session_options_init(mixcon_session_options* opts) {
  return guard("mixcon_session_options_init", [&] {
    require(opts != nullptr, "opts is NULL");
    *opts = default_session_options();
  });
}

MIXCON_API mixcon_status mixcon_session_create(mixcon_model* model,
                                               const mixcon_session_options* opts,
                                               mixcon_session** out_session) {
  return guard("mixcon_session_create", [&] {
    require(model != nullptr, "model is NULL");
    require(out_session != nullptr, "out_session is NULL");
    mixcon_session_options o = default_session_options();
    if (opts) {
      using T = mixcon_session_options;
      mixcon::capi::check_struct_size(opts, offsetof(T, n_threads) + sizeof(int32_t),
                                      "mixcon_session_options");
      if (MIXCON_COVERS(opts, T, n_threads)) o.n_threads = opts->n_threads;
      if (MIXCON_COVERS(opts, T, max_context)) o.max_context = opts->max_context;
      if (MIXCON_COVERS(opts, T, kv_dtype)) o.kv_dtype = opts->kv_dtype;
      if (MIXCON_COVERS(opts, T, prefill_chunk)) o.prefill_chunk = opts->prefill_chunk;
      if (MIXCON_COVERS(opts, T, activation_dtype)) o.activation_dtype = opts->activation_dtype;
    }
    // A dtype the cache cannot hold (q8_0 with heads not a multiple of 32,
    // or on CUDA) is refused by the session itself (UNSUPPORTED); here only
    // numbers that are no dtype at all.
    if (o.kv_dtype < MIXCON_DTYPE_F32 || o.kv_dtype > MIXCON_DTYPE_Q8_0)
      mixcon::fail(Status::InvalidArgument, "mixcon_session_options.kv_dtype = " +
                                                std::to_string(o.kv_dtype) +
                                                " is not a mixcon_dtype (f32 0, f16 1, bf16 2, q8_0 3)");
    if (o.activation_dtype < MIXCON_DTYPE_F32 || o.activation_dtype > MIXCON_DTYPE_Q8_0)
      mixcon::fail(Status::InvalidArgument, "mixcon_session_options.activation_dtype = " +
                                                std::to_string(o.activation_dtype) +
                                                " is not a mixcon_dtype (f32 0, f16 1, bf16 2, q8_0 3)");
    require(o.n_threads >= 0, "mixcon_session_options.n_threads must be >= 0 (0 = the model's)");
    require(o.prefill_chunk >= 0,
            "mixcon_session_options.prefill_chunk must be >= 0 (0 = the default, 512)");
    const int64_t model_max = model->model->config().max_context;
    if (o.max_context < 0 || o.max_context > model_max)
      mixcon::fail(Status::InvalidArgument,
                   "mixcon_session_options.max_context = " + std::to_string(o.max_context) +
                       " must be in [0, " + std::to_string(model_max) +
                       "] (0 = the model's max_context)");
    mixcon::SessionOptions so;
    so.max_context = o.max_context;
    so.n_threads = o.n_threads;
    so.kv_dtype = static_cast<mixcon::DType>(o.kv_dtype);
    so.prefill_chunk = o.prefill_chunk;
    so.activation_dtype = static_cast<mixcon::DType>(o.activation_dtype);
    auto session = std::make_unique<mixcon::Session>(model->model, so);
    *out_session = new mixcon_session(std::move(session), model->tokenizer);
  });
}

MIXCON_API void mixcon_session_free(mixcon_session* session) { delete session; }

MIXCON_API mixcon_status mixcon_session_reset(mixcon_session* session) {
  return guard("mixcon_session_reset", [&] {
    require_session(session);
    session->session->reset();
    session->stream.reset();
    session->cancel.store(false);
  });
}

MIXCON_API mixcon_status mixcon_session_feed(mixcon_session* session, const int32_t* tokens,
                                             int64_t n) {
  return guard("mixcon_session_feed", [&] {
    require_session(session);
    check_tokens(session, tokens, n);
    if (n == 0) return;
    require_room(session, n);
    feed_tokens(session, tokens, n, nullptr);
  });
}

MIXCON_API mixcon_status mixcon_session_feed_all_logits(mixcon_session* session,
                                                        const int32_t* tokens, int64_t n,
                                                        float* logits_out, int64_t cap) {
  return guard("mixcon_session_feed_all_logits", [&] {
    require_session(session);
    check_tokens(session, tokens, n);
    require(cap >= 0, "cap is negative");
    require(logits_out != nullptr || n == 0, "logits_out is NULL but n > 0");
    if (n == 0) return;
    const int64_t n_vocab = session->session->n_vocab();
    if (cap / n_vocab < n)
      mixcon::fail(Status::BufferTooSmall,
                   "logits_out needs n * n_vocab = " + std::to_string(n) + " * " +
                       std::to_string(n_vocab) + " = " + std::to_string(n * n_vocab) +
                       " floats but cap is " + std::to_string(cap));
    require_room(session, n);
    feed_tokens(session, tokens, n, logits_out);
  });
}

MIXCON_API mixcon_status mixcon_session_feed_text(mixcon_session* session, const char* text,
                                                  int64_t text_len) {
  return guard("mixcon_session_feed_text", [&] {
    require_session(session);
    require(text_len >= 0, "text_len is negative");
    require(text != nullptr || text_len == 0, "text is NULL but text_len > 0");
    if (!session->tokenizer)
      mixcon::fail(Status::Unsupported,
                   "the model has no tokenizer (tokenizer kind \"none\"): feed token ids instead");
    const mixcon::Tokenizer& tok = *session->tokenizer;
    std::vector<int32_t>& ids = session->text_tokens;
    ids.clear();
    const bool bos = session->session->position() == 0 && tok.spec().add_bos;
    tok.encode(std::string_view(text ? text : "", static_cast<size_t>(text_len)), bos, &ids);
    if (ids.empty()) return;
    require_room(session, static_cast<int64_t>(ids.size()));
    feed_tokens(session, ids.data(), static_cast<int64_t>(ids.size()), nullptr);
  });
}

MIXCON_API mixcon_status mixcon_session_logits(const mixcon_session* session,
                                               const float** logits, int64_t* n_vocab) {
  return guard("mixcon_session_logits", [&] {
    require_session(session);
    require(logits != nullptr, "logits is NULL");
    require_logits(session);
    *logits = session->session->logits();
    if (n_vocab) *n_vocab = session->session->n_vocab();
  });
}

MIXCON_API mixcon_status mixcon_session_sample(mixcon_session* session, mixcon_sampler* sampler,
                                               int32_t* token) {
  return guard("mixcon_session_sample", [&] {
    require_session(session);
    require(sampler != nullptr, "sampler is NULL");
    require(token != nullptr, "token is NULL");
    require_logits(session);
    *token = sample_token(session, sampler);
  });
}

MIXCON_API mixcon_status mixcon_session_step(mixcon_session* session, mixcon_sampler* sampler,
                                             int32_t* token) {
  return guard("mixcon_session_step", [&] {
    require_session(session);
    require(sampler != nullptr, "sampler is NULL");
    require(token != nullptr, "token is NULL");
    require_logits(session);
    take_pending_cancel(session);
    require_room(session, 1);
    RngRollback rollback(sampler->sampler);
    int32_t t = sample_token(session, sampler);
    feed_tokens(session, &t, 1, nullptr);
    rollback.dismiss();
    *token = t;
  });
}

MIXCON_API mixcon_status mixcon_session_next_text(mixcon_session* session,
                                                  mixcon_sampler* sampler, char* buf,
                                                  int64_t cap, int64_t* text_len,
                                                  int32_t* token) {
  return guard("mixcon_session_next_text", [&] {
    require_session(session);
    require(sampler != nullptr, "sampler is NULL");
    mixcon::capi::check_out_buffer(buf, cap, text_len);
    if (!session->tokenizer)
      mixcon::fail(Status::Unsupported,
                   "the model has no tokenizer (tokenizer kind \"none\"): use "
                   "mixcon_session_step and token ids");
    require_logits(session);
    take_pending_cancel(session);
    require_room(session, 1);
    RngRollback rollback(sampler->sampler);
    const int32_t t = sample_token(session, sampler);
    // The piece is computed on a copy of the stream state first, so a short
    // buffer is reported before anything is fed.
    const mixcon::Utf8Stream::State before = session->stream.state();
    std::string& piece = session->piece;
    piece.clear();
    session->stream.push(t, &piece);
    const mixcon::Utf8Stream::State after = session->stream.state();
    session->stream.set_state(before);
    const auto need = static_cast<int64_t>(piece.size());
    if (cap < need) {
      *text_len = need;
      mixcon::fail(Status::BufferTooSmall, "the piece needs " + std::to_string(need) +
                                               " bytes but cap is " + std::to_string(cap) +
                                               " (info.max_piece_bytes is always enough)");
    }
    int32_t fed = t;
    feed_engine(session, &fed, 1, nullptr);
    rollback.dismiss();
    session->stream.set_state(after);
    mixcon::capi::write_text(piece, buf, cap, text_len);
    if (token) *token = t;
  });
}

MIXCON_API mixcon_status mixcon_session_flush_text(mixcon_session* session, char* buf,
                                                   int64_t cap, int64_t* text_len) {
  return guard("mixcon_session_flush_text", [&] {
    require_session(session);
    mixcon::capi::check_out_buffer(buf, cap, text_len);
    if (!session->tokenizer)
      mixcon::fail(Status::Unsupported, "the model has no tokenizer (tokenizer kind \"none\")");
    const mixcon::Utf8Stream::State before = session->stream.state();
    std::string& piece = session->piece;
    piece.clear();
    session->stream.flush(&piece);
    try {
      mixcon::capi::write_text(piece, buf, cap, text_len);
    } catch (...) {
      session->stream.set_state(before);
      throw;
    }
  });
}

MIXCON_API int64_t mixcon_session_position(const mixcon_session* session) {
  return size_query("mixcon_session_position", session,
                    [](const mixcon_session* s) { return s->session->position(); });
}

MIXCON_API int64_t mixcon_session_max_context(const mixcon_session* session) {
  return size_query("mixcon_session_max_context", session,
                    [](const mixcon_session* s) { return s->session->max_context(); });
}

MIXCON_API int64_t mixcon_session_memory_bytes(const mixcon_session* session) {
  return size_query("mixcon_session_memory_bytes", session,
                    [](const mixcon_session* s) { return s->session->memory_bytes(); });
}

MIXCON_API int64_t mixcon_session_state_size(const mixcon_session* session) {
  return size_query("mixcon_session_state_size", session,
                    [](const mixcon_session* s) { return s->session->state_size(); });
}

MIXCON_API mixcon_status mixcon_session_tokens(const mixcon_session* session, int32_t* dst,
                                               int64_t cap, int64_t* n) {
  return guard("mixcon_session_tokens", [&] {
    require_session(session);
    mixcon::capi::check_out_buffer(dst, cap, n);
    const int64_t need = session->session->position();
    *n = need;
    if (cap < need)
      mixcon::fail(Status::BufferTooSmall, "the history has " + std::to_string(need) +
                                               " tokens but cap is " + std::to_string(cap));
    if (need > 0)
      std::memcpy(dst, session->session->tokens(), static_cast<size_t>(need) * sizeof(int32_t));
  });
}

MIXCON_API mixcon_status mixcon_session_state_save(const mixcon_session* session, uint8_t* buf,
                                                   int64_t cap, int64_t* n_written) {
  return guard("mixcon_session_state_save", [&] {
    require_session(session);
    mixcon::capi::check_out_buffer(buf, cap, n_written);
    const int64_t need = session->session->state_size();
    *n_written = need;
    if (cap < need)
      mixcon::fail(Status::BufferTooSmall, "the state needs " + std::to_string(need) +
                                               " bytes but cap is " + std::to_string(cap));
    session->session->save_state(buf, cap);
  });
}

MIXCON_API mixcon_status mixcon_session_state_load(mixcon_session* session, const uint8_t* buf,
                                                   int64_t n) {
  return guard("mixcon_session_state_load", [&] {
    require_session(session);
    require(n >= 0, "n is negative");
    require(buf != nullptr || n == 0, "buf is NULL but n > 0");
    session->session->load_state(buf, n);
    rebuild_stream(session);
  });
}

MIXCON_API mixcon_status mixcon_session_fork(const mixcon_session* session,
                                             mixcon_session** out_copy) {
  return guard("mixcon_session_fork", [&] {
    require_session(session);
    require(out_copy != nullptr, "out_copy is NULL");
    auto copy = std::make_unique<mixcon_session>(session->session->fork(), session->tokenizer);
    copy->stream.set_state(session->stream.state());
    *out_copy = copy.release();
  });
}

MIXCON_API mixcon_status mixcon_session_cancel(mixcon_session* session) {
  return guard("mixcon_session_cancel", [&] {
    require_session(session);
    session->cancel.store(true);
  });
}

}  // extern "C"
