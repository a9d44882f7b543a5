/* The flat API that SWIG wraps: capi/mixcon.h reshaped into signatures that
 * every target language maps cleanly.
 *
 * Why a layer between SWIG and mixcon.h:
 * - out-pointers become return values (a handle, a count, a token), so no
 *   language needs pointer-to-pointer typemaps;
 * - a failed call leaves its status in mxb_status (thread-local); the
 *   %exception block of mixcon.i turns it into the language's exception right
 *   after the call, with mixcon_last_error() as the message;
 * - buffers follow one size-query convention: a function that fills
 *   (BUF, CAP) returns the size it needs and writes nothing when that is more
 *   than CAP, so the idiomatic layers call it again with a bigger array;
 * - text always crosses as UTF-8 bytes, never as a SWIG string: Java's JNI
 *   strings are modified UTF-8 (an emoji would be mangled), so every language
 *   encodes and decodes in its own layer;
 * - option structs become plain arguments plus a mask of the ones the caller
 *   set, so the library's own defaults (the *_options_init functions) apply
 *   to the rest and the library validates every value.
 * Nothing here allocates per call except the copy of a model path.
 */
#ifndef MIXCON_BINDING_H
#define MIXCON_BINDING_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mixcon.h"

#ifndef SWIG
/* Status of the last helper call on this thread; read by %exception. */
static _Thread_local mixcon_status mxb_status = MIXCON_OK;
/* Set only when a helper rejects a call itself (the C API never saw it, so
 * mixcon_last_error() would be stale). */
static _Thread_local const char* mxb_message = NULL;

static const char* mxb_error_message(void) {
  const char* m = mxb_message ? mxb_message : mixcon_last_error();
  return m ? m : "";
}

#define MXB_FAIL(code, message, fail_value) \
  do {                                      \
    mxb_status = (code);                    \
    mxb_message = (message);                \
    return fail_value;                      \
  } while (0)

/* Records a failed C API call; the helper returns fail_value right after. */
#define MXB_CHECK(call, fail_value) \
  do {                              \
    mixcon_status mxb_s_ = (call);  \
    if (mxb_s_ != MIXCON_OK) {      \
      mxb_status = mxb_s_;          \
      return fail_value;            \
    }                               \
  } while (0)

/* A call that reports its needed size through *n with BUFFER_TOO_SMALL:
 * that outcome is the size query's answer, not an error. */
#define MXB_SIZED(call, n, cap)                                     \
  do {                                                              \
    mixcon_status mxb_s_ = (call);                                  \
    if (mxb_s_ == MIXCON_ERR_BUFFER_TOO_SMALL && (n) > (cap)) return (n); \
    MXB_CHECK(mxb_s_, 0);                                           \
    return (n);                                                     \
  } while (0)

/* Copies a library-owned NUL-terminated string; size-query convention. */
static int64_t mxb_copy_text(const char* text, uint8_t* out, int64_t cap) {
  int64_t n;
  if (!text) MXB_FAIL(MIXCON_ERR_INVALID_ARGUMENT, "the handle is NULL", 0);
  n = (int64_t)strlen(text);
  if (n <= cap) memcpy(out, text, (size_t)n);
  return n;
}
#endif /* SWIG */

/* ---- library -------------------------------------------------------------- */

static const char* mxb_version(void) { return mixcon_version(); }
static int32_t mxb_abi_version(void) { return mixcon_abi_version(); }
static const char* mxb_status_name(int32_t code) {
  return mixcon_status_string((mixcon_status)code);
}
static int32_t mxb_backend_available(int32_t device) { return mixcon_backend_available(device); }

/* ---- model ---------------------------------------------------------------- */

#ifndef SWIG
/* Bits of `set` in the load functions: which arguments override the default.
 * Pinned: the idiomatic layers spell the same numbers. */
#define MXB_MODEL_DEVICE 1
#define MXB_MODEL_DEVICE_INDEX 2
#define MXB_MODEL_THREADS 4
#define MXB_MODEL_VERIFY_CHECKSUMS 8
#define MXB_MODEL_USE_MMAP 16

static void mxb_model_options(mixcon_model_options* o, int32_t set, int32_t device,
                              int32_t device_index, int32_t n_threads, int32_t verify_checksums,
                              int32_t use_mmap) {
  mixcon_model_options_init(o);
  if (set & MXB_MODEL_DEVICE) o->device = device;
  if (set & MXB_MODEL_DEVICE_INDEX) o->device_index = device_index;
  if (set & MXB_MODEL_THREADS) o->n_threads = n_threads;
  if (set & MXB_MODEL_VERIFY_CHECKSUMS) o->verify_checksums = verify_checksums;
  if (set & MXB_MODEL_USE_MMAP) o->use_mmap = use_mmap;
}
#endif

/* path: UTF-8 bytes without the NUL, which is added here. */
static mixcon_model* mxb_model_load(const uint8_t* BYTES_IN, int64_t N_BYTES_IN, int32_t set,
                                    int32_t device, int32_t device_index, int32_t n_threads,
                                    int32_t verify_checksums, int32_t use_mmap) {
  mixcon_model_options o;
  mixcon_model* model = NULL;
  mixcon_status s;
  char* path;
  if (memchr(BYTES_IN, 0, (size_t)N_BYTES_IN))
    MXB_FAIL(MIXCON_ERR_INVALID_ARGUMENT, "model path contains a NUL character", NULL);
  path = (char*)malloc((size_t)N_BYTES_IN + 1);
  if (!path) MXB_FAIL(MIXCON_ERR_OUT_OF_MEMORY, "out of memory copying the model path", NULL);
  memcpy(path, BYTES_IN, (size_t)N_BYTES_IN);
  path[N_BYTES_IN] = '\0';
  mxb_model_options(&o, set, device, device_index, n_threads, verify_checksums, use_mmap);
  s = mixcon_model_load(path, &o, &model);
  free(path);
  MXB_CHECK(s, NULL);
  return model;
}

/* The bytes are copied by the library where needed. */
static mixcon_model* mxb_model_load_memory(const uint8_t* BYTES_IN, int64_t N_BYTES_IN,
                                           int32_t set, int32_t device, int32_t device_index,
                                           int32_t n_threads, int32_t verify_checksums) {
  mixcon_model_options o;
  mixcon_model* model = NULL;
  mxb_model_options(&o, set, device, device_index, n_threads, verify_checksums, 0);
  MXB_CHECK(mixcon_model_load_memory(BYTES_IN, N_BYTES_IN, &o, &model), NULL);
  return model;
}

static void mxb_model_free(mixcon_model* model) { mixcon_model_free(model); }

/* mixcon_model_info_t, one getter per field, so no struct crosses. */
#ifndef SWIG
static int mxb_info(const mixcon_model* model, mixcon_model_info_t* info) {
  mixcon_model_info_init(info);
  mxb_status = mixcon_model_info(model, info);
  return mxb_status == MIXCON_OK;
}
#endif
#define MXB_INFO_FIELD(TYPE, FIELD)                              \
  static TYPE mxb_model_##FIELD(const mixcon_model* model) {     \
    mixcon_model_info_t info;                                    \
    return mxb_info(model, &info) ? (TYPE)info.FIELD : (TYPE)0;  \
  }
MXB_INFO_FIELD(int64_t, n_vocab)
MXB_INFO_FIELD(int64_t, d_model)
MXB_INFO_FIELD(int64_t, n_layers)
MXB_INFO_FIELD(int64_t, n_attention_layers)
MXB_INFO_FIELD(int64_t, n_conba_layers)
MXB_INFO_FIELD(int64_t, n_moe_layers)
MXB_INFO_FIELD(int64_t, max_context)
MXB_INFO_FIELD(int64_t, n_params)
MXB_INFO_FIELD(int64_t, weight_bytes)
MXB_INFO_FIELD(int64_t, max_piece_bytes)
MXB_INFO_FIELD(int32_t, weight_dtype)
MXB_INFO_FIELD(int32_t, device)
MXB_INFO_FIELD(int32_t, n_threads)
MXB_INFO_FIELD(int32_t, bos_id)
MXB_INFO_FIELD(int32_t, eos_id)
MXB_INFO_FIELD(int32_t, unk_id)
MXB_INFO_FIELD(int32_t, pad_id)
MXB_INFO_FIELD(int32_t, has_tokenizer)
MXB_INFO_FIELD(int32_t, add_bos)

/* The file's metadata / config objects as UTF-8 JSON; size-query convention. */
static int64_t mxb_model_metadata_json(const mixcon_model* model, uint8_t* BYTES_OUT,
                                       int64_t BYTES_CAP) {
  return mxb_copy_text(mixcon_model_metadata_json(model), BYTES_OUT, BYTES_CAP);
}
static int64_t mxb_model_config_json(const mixcon_model* model, uint8_t* BYTES_OUT,
                                     int64_t BYTES_CAP) {
  return mxb_copy_text(mixcon_model_config_json(model), BYTES_OUT, BYTES_CAP);
}

/* ---- tokenizer ------------------------------------------------------------ */

/* add_bos: 1, 0, or -1 for the tokenizer's default. */
static int64_t mxb_tokenize(const mixcon_model* model, const uint8_t* BYTES_IN, int64_t N_BYTES_IN,
                            int32_t add_bos, int32_t* TOKENS_OUT, int64_t TOKENS_CAP) {
  int64_t n = 0;
  MXB_SIZED(mixcon_tokenize(model, (const char*)BYTES_IN, N_BYTES_IN, add_bos, TOKENS_OUT,
                            TOKENS_CAP, &n),
            n, TOKENS_CAP);
}

static int64_t mxb_detokenize(const mixcon_model* model, const int32_t* TOKENS_IN,
                              int64_t N_TOKENS_IN, uint8_t* BYTES_OUT, int64_t BYTES_CAP) {
  int64_t n = 0;
  MXB_SIZED(mixcon_detokenize(model, TOKENS_IN, N_TOKENS_IN, (char*)BYTES_OUT, BYTES_CAP, &n),
            n, BYTES_CAP);
}

static int64_t mxb_token_to_piece(const mixcon_model* model, int32_t token, uint8_t* BYTES_OUT,
                                  int64_t BYTES_CAP) {
  int64_t n = 0;
  MXB_SIZED(mixcon_token_to_piece(model, token, (char*)BYTES_OUT, BYTES_CAP, &n), n, BYTES_CAP);
}

/* ---- sampler -------------------------------------------------------------- */

#ifndef SWIG
/* Bits of `set` in mxb_sampler_create. Pinned: the idiomatic layers spell
 * the same numbers. */
#define MXB_SAMPLER_TEMPERATURE 1
#define MXB_SAMPLER_TOP_K 2
#define MXB_SAMPLER_TOP_P 4
#define MXB_SAMPLER_MIN_P 8
#define MXB_SAMPLER_REPETITION_PENALTY 16
#define MXB_SAMPLER_REPETITION_WINDOW 32
#define MXB_SAMPLER_SEED 64
#endif

static mixcon_sampler* mxb_sampler_create(int32_t set, double temperature, int32_t top_k,
                                          double top_p, double min_p, double repetition_penalty,
                                          int64_t repetition_window, int64_t seed) {
  mixcon_sampler_options o;
  mixcon_sampler* sampler = NULL;
  mixcon_sampler_options_init(&o);
  if (set & MXB_SAMPLER_TEMPERATURE) o.temperature = (float)temperature;
  if (set & MXB_SAMPLER_TOP_K) o.top_k = top_k;
  if (set & MXB_SAMPLER_TOP_P) o.top_p = (float)top_p;
  if (set & MXB_SAMPLER_MIN_P) o.min_p = (float)min_p;
  if (set & MXB_SAMPLER_REPETITION_PENALTY) o.repetition_penalty = (float)repetition_penalty;
  if (set & MXB_SAMPLER_REPETITION_WINDOW) o.repetition_window = repetition_window;
  if (set & MXB_SAMPLER_SEED) o.seed = seed;
  MXB_CHECK(mixcon_sampler_create(&o, &sampler), NULL);
  return sampler;
}

static void mxb_sampler_free(mixcon_sampler* sampler) { mixcon_sampler_free(sampler); }

/* ---- session -------------------------------------------------------------- */

/* n_threads 0 = the model's; max_context 0 = the model's (the C defaults);
 * kv_dtype a mixcon_dtype (0 = f32, the default); prefill_chunk 0 = 512;
 * activation_dtype a mixcon_dtype (0 = f32, exact; 3 = q8_0, int8
 * activations for products with q8_0 weights). */
static mixcon_session* mxb_session_create(mixcon_model* model, int32_t n_threads,
                                          int64_t max_context, int32_t kv_dtype,
                                          int64_t prefill_chunk, int32_t activation_dtype) {
  mixcon_session_options o;
  mixcon_session* session = NULL;
  mixcon_session_options_init(&o);
  o.n_threads = n_threads;
  o.max_context = max_context;
  o.kv_dtype = kv_dtype;
  o.prefill_chunk = prefill_chunk;
  o.activation_dtype = activation_dtype;
  MXB_CHECK(mixcon_session_create(model, &o, &session), NULL);
  return session;
}

static void mxb_session_free(mixcon_session* session) { mixcon_session_free(session); }

static void mxb_session_reset(mixcon_session* session) {
  MXB_CHECK(mixcon_session_reset(session), );
}

static void mxb_session_feed(mixcon_session* session, const int32_t* TOKENS_IN,
                             int64_t N_TOKENS_IN) {
  MXB_CHECK(mixcon_session_feed(session, TOKENS_IN, N_TOKENS_IN), );
}

static void mxb_session_feed_text(mixcon_session* session, const uint8_t* BYTES_IN,
                                  int64_t N_BYTES_IN) {
  MXB_CHECK(mixcon_session_feed_text(session, (const char*)BYTES_IN, N_BYTES_IN), );
}

/* Copies the current logits; size-query convention (returns n_vocab). */
static int64_t mxb_session_logits(const mixcon_session* session, float* FLOATS_OUT,
                                  int64_t FLOATS_CAP) {
  const float* logits = NULL;
  int64_t n = 0;
  MXB_CHECK(mixcon_session_logits(session, &logits, &n), 0);
  if (n <= FLOATS_CAP) memcpy(FLOATS_OUT, logits, (size_t)n * sizeof(float));
  return n;
}

static int32_t mxb_session_sample(mixcon_session* session, mixcon_sampler* sampler) {
  int32_t token = 0;
  MXB_CHECK(mixcon_session_sample(session, sampler, &token), 0);
  return token;
}

static int32_t mxb_session_step(mixcon_session* session, mixcon_sampler* sampler) {
  int32_t token = 0;
  MXB_CHECK(mixcon_session_step(session, sampler, &token), 0);
  return token;
}

/* One decode step that also yields the token's text. The token goes to
 * TOKENS_OUT[0] (TOKENS_CAP >= 1). Returns the text's byte length; when that is
 * more than BYTES_CAP the step did not happen (the C API fails atomically) and
 * the caller retries with a buffer of the returned size. */
static int64_t mxb_session_next_text(mixcon_session* session, mixcon_sampler* sampler,
                                     uint8_t* BYTES_OUT, int64_t BYTES_CAP, int32_t* TOKENS_OUT,
                                     int64_t TOKENS_CAP) {
  int64_t n = 0;
  if (TOKENS_CAP < 1)
    MXB_FAIL(MIXCON_ERR_INVALID_ARGUMENT, "next_text: the token array must hold one token", 0);
  MXB_SIZED(mixcon_session_next_text(session, sampler, (char*)BYTES_OUT, BYTES_CAP, &n,
                                     TOKENS_OUT),
            n, BYTES_CAP);
}

/* The bytes the text stream still holds back (see mixcon_session_flush_text). */
static int64_t mxb_session_flush_text(mixcon_session* session, uint8_t* BYTES_OUT,
                                      int64_t BYTES_CAP) {
  int64_t n = 0;
  MXB_SIZED(mixcon_session_flush_text(session, (char*)BYTES_OUT, BYTES_CAP, &n), n, BYTES_CAP);
}

/* The getters below return -1 only for a NULL session, which the idiomatic
 * layers never pass (a closed handle raises before the call). */
static int64_t mxb_session_position(const mixcon_session* session) {
  return mixcon_session_position(session);
}
static int64_t mxb_session_max_context(const mixcon_session* session) {
  return mixcon_session_max_context(session);
}
static int64_t mxb_session_memory_bytes(const mixcon_session* session) {
  return mixcon_session_memory_bytes(session);
}

/* The token history since reset; size-query convention. */
static int64_t mxb_session_tokens(const mixcon_session* session, int32_t* TOKENS_OUT,
                                  int64_t TOKENS_CAP) {
  int64_t n = 0;
  MXB_SIZED(mixcon_session_tokens(session, TOKENS_OUT, TOKENS_CAP, &n), n, TOKENS_CAP);
}

static int64_t mxb_session_state_size(const mixcon_session* session) {
  int64_t n = mixcon_session_state_size(session);
  if (n < 0) MXB_FAIL(MIXCON_ERR_INVALID_ARGUMENT, "state_size: the session is NULL", 0);
  return n;
}

static int64_t mxb_session_state_save(const mixcon_session* session, uint8_t* BYTES_OUT,
                                      int64_t BYTES_CAP) {
  int64_t n = 0;
  MXB_SIZED(mixcon_session_state_save(session, BYTES_OUT, BYTES_CAP, &n), n, BYTES_CAP);
}

static void mxb_session_state_load(mixcon_session* session, const uint8_t* BYTES_IN,
                                   int64_t N_BYTES_IN) {
  MXB_CHECK(mixcon_session_state_load(session, BYTES_IN, N_BYTES_IN), );
}

static mixcon_session* mxb_session_fork(const mixcon_session* session) {
  mixcon_session* copy = NULL;
  MXB_CHECK(mixcon_session_fork(session, &copy), NULL);
  return copy;
}

/* Thread-safe: stops a feed or step running on another thread. */
static void mxb_session_cancel(mixcon_session* session) {
  MXB_CHECK(mixcon_session_cancel(session), );
}

#endif /* MIXCON_BINDING_H */
