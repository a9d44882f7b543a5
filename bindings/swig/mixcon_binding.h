/* The flat API that SWIG wraps: capi/mixcon.h reshaped into signatures that
 * every target language maps cleanly.
 *
 * Why a layer between SWIG and mixcon.h:
 * - out-pointers become return values (a handle, a count, a token), so no
 *   language needs "pointer to pointer" typemaps;
 * - a failed call leaves its status in mxb_status (thread-local); the
 *   %exception block of mixcon.i turns it into the language's exception right
 *   after the call, together with mixcon_last_error();
 * - buffers follow one size-query convention: a function that fills
 *   (BUF, CAP) returns the size it needs, and writes nothing when that is
 *   more than CAP, so the idiomatic layers call it again with a bigger array;
 * - text always crosses as UTF-8 bytes, never as a SWIG string: Java's JNI
 *   strings are modified UTF-8 (an emoji would be mangled), so every language
 *   encodes and decodes in its own layer.
 * Nothing here allocates per call except where the C API itself does.
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
/* Set only when the helper itself rejects an argument (the C API never saw
 * the call, so mixcon_last_error() would be stale). */
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

/* Records a failure; helpers return a zero value right after. */
#define MXB_CHECK(call, fail_value)        \
  do {                                     \
    mixcon_status mxb_s_ = (call);         \
    if (mxb_s_ != MIXCON_OK) {             \
      mxb_status = mxb_s_;                 \
      return fail_value;                   \
    }                                      \
  } while (0)
#endif

/* ---- library -------------------------------------------------------------- */

static const char* mxb_version(void) { return mixcon_version(); }
static int32_t mxb_abi_version(void) { return (int32_t)mixcon_abi_version(); }
static const char* mxb_status_name(int32_t code) {
  return mixcon_status_string((mixcon_status)code);
}

/* ---- model ---------------------------------------------------------------- */

#ifndef SWIG
/* Negative values keep mixcon_model_options_init's default for that field. */
static void mxb_fill_model_options(mixcon_model_options* o, int32_t device, int32_t device_index,
                                   int32_t n_threads, int32_t verify_checksums, int32_t use_mmap) {
  mixcon_model_options_init(o);
  if (device >= 0) o->device = device;
  if (device_index >= 0) o->device_index = device_index;
  if (n_threads >= 0) o->n_threads = n_threads;
  if (verify_checksums >= 0) o->verify_checksums = verify_checksums;
  if (use_mmap >= 0) o->use_mmap = use_mmap;
}
#endif

/* path: UTF-8 bytes (not NUL-terminated); copied here to add the NUL. */
static mixcon_model* mxb_model_load(const uint8_t* BYTES_IN, int64_t N_BYTES_IN, int32_t device,
                                    int32_t device_index, int32_t n_threads,
                                    int32_t verify_checksums, int32_t use_mmap) {
  mixcon_model_options o;
  mixcon_model* m = NULL;
  mixcon_status s;
  char* path;
  if (memchr(BYTES_IN, 0, (size_t)N_BYTES_IN))
    MXB_FAIL(MIXCON_ERR_INVALID_ARGUMENT, "model path contains a NUL character", NULL);
  path = (char*)malloc((size_t)N_BYTES_IN + 1);
  if (!path) MXB_FAIL(MIXCON_ERR_OUT_OF_MEMORY, "out of memory copying the model path", NULL);
  memcpy(path, BYTES_IN, (size_t)N_BYTES_IN);
  path[N_BYTES_IN] = '\0';
  mxb_fill_model_options(&o, device, device_index, n_threads, verify_checksums, use_mmap);
  s = mixcon_model_load(path, &o, &m);
  free(path);
  MXB_CHECK(s, NULL);
  return m;
}

/* The bytes are only read during the call (see mixcon_model_load_memory). */
static mixcon_model* mxb_model_load_memory(const uint8_t* BYTES_IN, int64_t N_BYTES_IN,
                                           int32_t device, int32_t device_index,
                                           int32_t n_threads, int32_t verify_checksums) {
  mixcon_model_options o;
  mixcon_model* m = NULL;
  mxb_fill_model_options(&o, device, device_index, n_threads, verify_checksums, -1);
  MXB_CHECK(mixcon_model_load_memory(BYTES_IN, N_BYTES_IN, &o, &m), NULL);
  return m;
}

static void mxb_model_free(mixcon_model* model) { mixcon_model_free(model); }


/* Model facts, one call per field so no struct crosses the boundary. */
#ifndef SWIG
static int mxb_info(const mixcon_model* model, mixcon_model_info* info) {
  info->struct_size = sizeof *info;
  mxb_status = mixcon_model_info_get(model, info);
  return mxb_status == MIXCON_OK;
}
#endif
static int64_t mxb_model_vocab_size(const mixcon_model* model) {
  mixcon_model_info i;
  return mxb_info(model, &i) ? i.vocab_size : 0;
}
static int64_t mxb_model_max_context(const mixcon_model* model) {
  mixcon_model_info i;
  return mxb_info(model, &i) ? i.max_context : 0;
}
static int32_t mxb_model_bos_id(const mixcon_model* model) {
  mixcon_model_info i;
  return mxb_info(model, &i) ? i.bos_id : 0;
}
static int32_t mxb_model_eos_id(const mixcon_model* model) {
  mixcon_model_info i;
  return mxb_info(model, &i) ? i.eos_id : 0;
}

/* The file's metadata object as UTF-8 JSON; size-query convention. */
static int64_t mxb_model_metadata_json(const mixcon_model* model, uint8_t* BYTES_OUT,
                                       int64_t BYTES_CAP) {
  const char* json = mixcon_model_metadata_json(model);
  int64_t n;
  if (!json) {
    mxb_status = MIXCON_ERR_INVALID_ARGUMENT;  /* the C API set the message */
    return 0;
  }
  n = (int64_t)strlen(json);
  if (n <= BYTES_CAP) memcpy(BYTES_OUT, json, (size_t)n);
  return n;
}

/* ---- tokenizer ------------------------------------------------------------ */

static int64_t mxb_tokenize(const mixcon_model* model, const uint8_t* BYTES_IN, int64_t N_BYTES_IN,
                            int32_t add_bos, int32_t* TOKENS_OUT, int64_t TOKENS_CAP) {
  int64_t n = 0;
  mixcon_status s = mixcon_tokenize(model, (const char*)BYTES_IN, N_BYTES_IN, add_bos,
                                    TOKENS_OUT, TOKENS_CAP, &n);
  if (s == MIXCON_ERR_BUFFER_TOO_SMALL && n > TOKENS_CAP) return n;
  MXB_CHECK(s, 0);
  return n;
}

static int64_t mxb_detokenize(const mixcon_model* model, const int32_t* TOKENS_IN,
                              int64_t N_TOKENS_IN, uint8_t* BYTES_OUT, int64_t BYTES_CAP) {
  int64_t n = 0;
  mixcon_status s = mixcon_detokenize(model, TOKENS_IN, N_TOKENS_IN, (char*)BYTES_OUT, BYTES_CAP,
                                      &n);
  if (s == MIXCON_ERR_BUFFER_TOO_SMALL && n > BYTES_CAP) return n;
  MXB_CHECK(s, 0);
  return n;
}

/* ---- sampler -------------------------------------------------------------- */

/* Negative values (or NaN) mean "the library's default" for that field, so the
 * idiomatic layers never restate the defaults of mixcon_sampler_options_init. */
static mixcon_sampler* mxb_sampler_create(double temperature, int32_t top_k, double top_p,
                                          double min_p, double repetition_penalty,
                                          int32_t repetition_window, int64_t seed) {
  mixcon_sampler_options o;
  mixcon_sampler* sampler = NULL;
  mixcon_sampler_options_init(&o);
  if (temperature >= 0) o.temperature = (float)temperature;
  if (top_k >= 0) o.top_k = top_k;
  if (top_p >= 0) o.top_p = (float)top_p;
  if (min_p >= 0) o.min_p = (float)min_p;
  if (repetition_penalty >= 0) o.repetition_penalty = (float)repetition_penalty;
  if (repetition_window >= 0) o.repetition_window = repetition_window;
  if (seed >= 0) o.seed = (uint64_t)seed;
  MXB_CHECK(mixcon_sampler_create(&o, &sampler), NULL);
  return sampler;
}

static void mxb_sampler_free(mixcon_sampler* sampler) { mixcon_sampler_free(sampler); }

/* ---- session -------------------------------------------------------------- */

static mixcon_session* mxb_session_create(mixcon_model* model, int64_t max_context) {
  mixcon_session_options o;
  mixcon_session* session = NULL;
  mixcon_session_options_init(&o);
  if (max_context > 0) o.max_context = max_context;
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

/* Copies the current logits; size-query convention (returns the vocab size). */
static int64_t mxb_session_logits(mixcon_session* session, float* FLOATS_OUT, int64_t FLOATS_CAP) {
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
 * more than BYTES_CAP the step did not happen (the C API fails atomically), and
 * the caller retries with a buffer of the returned size. */
static int64_t mxb_session_next_text(mixcon_session* session, mixcon_sampler* sampler,
                                     uint8_t* BYTES_OUT, int64_t BYTES_CAP, int32_t* TOKENS_OUT,
                                     int64_t TOKENS_CAP) {
  int64_t n = 0;
  int32_t token = 0;
  mixcon_status s;
  if (TOKENS_CAP < 1)
    MXB_FAIL(MIXCON_ERR_INVALID_ARGUMENT, "next_text: the token array must hold one token", 0);
  s = mixcon_session_next_text(session, sampler, (char*)BYTES_OUT, BYTES_CAP, &n, &token);
  if (s == MIXCON_ERR_BUFFER_TOO_SMALL && n > BYTES_CAP) return n;
  MXB_CHECK(s, 0);
  TOKENS_OUT[0] = token;
  return n;
}

static int64_t mxb_session_position(const mixcon_session* session) {
  return mixcon_session_position(session);
}

static int64_t mxb_session_state_size(const mixcon_session* session) {
  int64_t n = 0;
  MXB_CHECK(mixcon_session_state_size(session, &n), 0);
  return n;
}

static int64_t mxb_session_state_save(const mixcon_session* session, uint8_t* BYTES_OUT,
                                      int64_t BYTES_CAP) {
  int64_t n = 0;
  mixcon_status s = mixcon_session_state_save(session, BYTES_OUT, BYTES_CAP, &n);
  if (s == MIXCON_ERR_BUFFER_TOO_SMALL && n > BYTES_CAP) return n;
  MXB_CHECK(s, 0);
  return n;
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
static void mxb_session_cancel(mixcon_session* session) { mixcon_session_cancel(session); }

#endif /* MIXCON_BINDING_H */
