/* mixcon.hpp — a small header-only C++17 wrapper over the C ABI (mixcon.h).
 *
 * RAII handles (move-only), exceptions instead of status codes, std::string /
 * std::vector instead of buffers and sizes. It calls only the C functions, so
 * it works with the shared library of any build (no C++ ABI crosses the
 * library boundary) and adds nothing to it.
 *
 *   mixconpp::Model model("models/mixcon-brown.mixc");
 *   mixconpp::Session session(model);
 *   mixconpp::Sampler sampler(mixconpp::Sampler::defaults());
 *   session.feed_text("The jury said");
 *   std::string piece;
 *   for (int i = 0; i < 40 && session.next_text(sampler, piece); ++i) std::cout << piece << std::flush;
 *
 * The namespace is mixconpp, not mixcon: the library's internal C++ classes
 * live in namespace mixcon, and an application may be built beside them. */
#ifndef MIXCON_HPP
#define MIXCON_HPP

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mixcon.h"

namespace mixconpp {

/* A failed call: the status and mixcon_last_error()'s message. */
class Error : public std::runtime_error {
 public:
  Error(mixcon_status status, const std::string& message)
      : std::runtime_error(std::string(mixcon_status_string(status)) + ": " + message),
        status_(status) {}
  mixcon_status status() const noexcept { return status_; }

 private:
  mixcon_status status_;
};

/* Throws Error for anything but MIXCON_OK. */
inline void check(mixcon_status status) {
  if (status != MIXCON_OK) throw Error(status, mixcon_last_error());
}

namespace detail {

/* One owned handle; Free is the C free function (NULL-safe). */
template <typename T, void (*Free)(T*)>
class Handle {
 public:
  Handle() = default;
  explicit Handle(T* p) noexcept : p_(p) {}
  Handle(Handle&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      Free(p_);
      p_ = std::exchange(o.p_, nullptr);
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { Free(p_); }

  /* The handle, or Error(INVALID_ARGUMENT) after a move. */
  T* get() const {
    if (!p_) throw Error(MIXCON_ERR_INVALID_ARGUMENT, "use of a moved-from mixconpp handle");
    return p_;
  }

 private:
  T* p_ = nullptr;
};

/* Runs a size-query C call: first with `guess` bytes, again with the size it
 * reports when that was too small. */
template <typename Fill>
std::string sized_text(Fill fill, int64_t guess) {
  std::string out(static_cast<size_t>(guess), '\0');
  int64_t n = 0;
  mixcon_status s = fill(out.data(), guess, &n);
  if (s == MIXCON_ERR_BUFFER_TOO_SMALL && n > guess) {
    out.resize(static_cast<size_t>(n));
    s = fill(out.data(), n, &n);
  }
  check(s);
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace detail

class Model {
 public:
  static mixcon_model_options defaults() {
    mixcon_model_options o;
    check(mixcon_model_options_init(&o));
    return o;
  }

  explicit Model(const std::string& path, const mixcon_model_options& opts = defaults()) {
    mixcon_model* m = nullptr;
    check(mixcon_model_load(path.c_str(), &opts, &m));
    h_ = ModelHandle(m);
  }

  mixcon_model_info_t info() const {
    mixcon_model_info_t i;
    check(mixcon_model_info_init(&i));
    check(mixcon_model_info(h_.get(), &i));
    return i;
  }

  std::string metadata_json() const { return mixcon_model_metadata_json(h_.get()); }

  /* add_bos: 1, 0, or -1 for the tokenizer's default. */
  std::vector<int32_t> tokenize(std::string_view text, int32_t add_bos = -1) const {
    std::vector<int32_t> tokens(text.size() + 2);
    int64_t n = 0;
    mixcon_status s = mixcon_tokenize(h_.get(), text.data(), static_cast<int64_t>(text.size()),
                                      add_bos, tokens.data(), static_cast<int64_t>(tokens.size()), &n);
    if (s == MIXCON_ERR_BUFFER_TOO_SMALL) {
      tokens.resize(static_cast<size_t>(n));
      s = mixcon_tokenize(h_.get(), text.data(), static_cast<int64_t>(text.size()), add_bos,
                          tokens.data(), n, &n);
    }
    check(s);
    tokens.resize(static_cast<size_t>(n));
    return tokens;
  }

  std::string detokenize(const std::vector<int32_t>& tokens) const {
    return detail::sized_text(
        [&](char* buf, int64_t cap, int64_t* n) {
          return mixcon_detokenize(h_.get(), tokens.data(), static_cast<int64_t>(tokens.size()), buf,
                                   cap, n);
        },
        static_cast<int64_t>(8 * tokens.size() + 16));
  }

  mixcon_model* get() const { return h_.get(); }

 private:
  using ModelHandle = detail::Handle<mixcon_model, mixcon_model_free>;
  ModelHandle h_;
};

class Sampler {
 public:
  /* temperature 0.8, top-k 40, top-p 0.95, min-p 0.05, seed 0 (mixcon.h). */
  static mixcon_sampler_options defaults() {
    mixcon_sampler_options o;
    check(mixcon_sampler_options_init(&o));
    return o;
  }

  static Sampler greedy() {
    mixcon_sampler_options o = defaults();
    o.temperature = 0.0f;
    return Sampler(o);
  }

  explicit Sampler(const mixcon_sampler_options& opts) {
    mixcon_sampler* s = nullptr;
    check(mixcon_sampler_create(&opts, &s));
    h_ = SamplerHandle(s);
  }

  mixcon_sampler* get() const { return h_.get(); }

 private:
  using SamplerHandle = detail::Handle<mixcon_sampler, mixcon_sampler_free>;
  SamplerHandle h_;
};

/* One session; it keeps its model alive, so the Model may be destroyed first. */
class Session {
 public:
  static mixcon_session_options defaults() {
    mixcon_session_options o;
    check(mixcon_session_options_init(&o));
    return o;
  }

  explicit Session(const Model& model, const mixcon_session_options& opts = defaults()) {
    mixcon_session* s = nullptr;
    check(mixcon_session_create(model.get(), &opts, &s));
    h_ = SessionHandle(s);
    mixcon_model_info_t info = model.info();
    piece_.resize(static_cast<size_t>(info.max_piece_bytes > 0 ? info.max_piece_bytes : 16));
    eos_ = info.eos_id;
  }

  void reset() { check(mixcon_session_reset(h_.get())); }
  void feed(const std::vector<int32_t>& tokens) {
    check(mixcon_session_feed(h_.get(), tokens.data(), static_cast<int64_t>(tokens.size())));
  }
  void feed_text(std::string_view text) {
    check(mixcon_session_feed_text(h_.get(), text.data(), static_cast<int64_t>(text.size())));
  }

  /* The current logits: valid until the next call that changes the session. */
  std::pair<const float*, int64_t> logits() const {
    const float* p = nullptr;
    int64_t n = 0;
    check(mixcon_session_logits(h_.get(), &p, &n));
    return {p, n};
  }

  int32_t sample(Sampler& sampler) {
    int32_t token = 0;
    check(mixcon_session_sample(h_.get(), sampler.get(), &token));
    return token;
  }

  int32_t step(Sampler& sampler) {
    int32_t token = 0;
    check(mixcon_session_step(h_.get(), sampler.get(), &token));
    return token;
  }

  /* One decode step; `piece` receives the text it adds (may be empty).
   * Returns false after the end-of-sequence token. The piece buffer was sized
   * at construction (max_piece_bytes), so the loop allocates only when the
   * caller's string must grow. */
  bool next_text(Sampler& sampler, std::string& piece, int32_t* token_out = nullptr) {
    int64_t n = 0;
    int32_t token = 0;
    check(mixcon_session_next_text(h_.get(), sampler.get(), piece_.data(),
                                   static_cast<int64_t>(piece_.size()), &n, &token));
    piece.assign(piece_.data(), static_cast<size_t>(n));
    if (token_out) *token_out = token;
    return token != eos_;
  }

  int64_t position() const { return mixcon_session_position(h_.get()); }

  std::vector<uint8_t> save_state() const {
    std::vector<uint8_t> state(static_cast<size_t>(mixcon_session_state_size(h_.get())));
    int64_t n = 0;
    check(mixcon_session_state_save(h_.get(), state.data(), static_cast<int64_t>(state.size()), &n));
    state.resize(static_cast<size_t>(n));
    return state;
  }

  void load_state(const std::vector<uint8_t>& state) {
    check(mixcon_session_state_load(h_.get(), state.data(), static_cast<int64_t>(state.size())));
  }

  Session fork() const {
    mixcon_session* copy = nullptr;
    check(mixcon_session_fork(h_.get(), &copy));
    return Session(copy, piece_.size(), eos_);
  }

  /* Thread-safe: stops a feed or step running on another thread. */
  void cancel() { check(mixcon_session_cancel(h_.get())); }

  mixcon_session* get() const { return h_.get(); }

 private:
  using SessionHandle = detail::Handle<mixcon_session, mixcon_session_free>;
  Session(mixcon_session* s, size_t piece_bytes, int32_t eos)
      : h_(s), piece_(piece_bytes), eos_(eos) {}

  SessionHandle h_;
  std::vector<char> piece_;
  int32_t eos_ = -1;
};

}  // namespace mixconpp

#endif /* MIXCON_HPP */
